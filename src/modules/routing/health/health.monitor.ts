// The live side of routing health on a worker node: four times a second it reads each channel's recent
// final outcomes (health.sql), steps the channel's circuit breaker (health.models), records each
// switch once as an event with its reason and logs it, watches this node's binds come and go, and
// tells operators when every bound channel of a group is degraded. The dispatcher sees the result
// through `healthOf` and `wrapRoute` (the probe trickle).
//
// Every node runs the same breaker on the same rows, so nodes agree without talking; a node that
// starts takes up each channel's state from its last breaker event.
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../../../db/schema.ts';
import type { Channel } from '../../channels/channels.repository.ts';
import type { RouteMessage } from '../../dispatch/dispatcher.ts';
import type { ChannelHealth } from '../routing.models.ts';
import { createRoutingRepository } from '../routing.repository.ts';
import {
  type BreakerSettings,
  type BreakerState,
  DEFAULT_BREAKER,
  type FinalOutcome,
  fullyDegradedGroups,
  healthOf,
  INITIAL_BREAKER,
  looksFallen,
  type ProbeCredit,
  probeFor,
  probeHealth,
  stepBreaker,
} from './health.models.ts';
import { createReroutes } from './reroutes.models.ts';
import {
  recordBreakerSwitch,
  recordChannelEvent,
  selectLastBreakerEvents,
  selectRecentOutcomes,
} from './health.sql.ts';

/**
 * How often the breakers are stepped: a fall is seen within this plus the receipt latency. 100 ms
 * was tried: it saved little against receipt latencies of seconds, and test/routing.test.ts's
 * hongyan.stop() then hung past 60 s in two runs of two (not seen at 250 ms).
 */
export const HEALTH_INTERVAL_MS = 250;
/**
 * The shortest gap between two steps when this node's own receipts ask for an early one
 * (HealthMonitor.noteStored): bounds the extra reads while its receipts and the stored rows disagree.
 */
export const HEALTH_EARLY_GAP_MS = 50;
/** The newest ids read each step (bounded primary-key range; see selectRecentOutcomes). */
export const HEALTH_SCAN_IDS = 20_000;
/** The rolling window: each channel's newest final outcomes. */
export const HEALTH_WINDOW = 200;

export function breakerSettingsOf(c: Channel): BreakerSettings {
  return {
    ...DEFAULT_BREAKER,
    degradeBelow: Number(c.degrade_below),
    recoverAbove: Number(c.recover_above),
    probeShare: Number(c.probe_share),
  };
}

export interface HealthMonitor {
  /** The channels' settings and the route groups, at each channel sync. */
  refresh(channels: Channel[]): Promise<void>;
  /** One step: outcomes read, breakers stepped, switches and bind changes recorded. */
  tick(binds: readonly { channelId: number; isReady: boolean }[]): Promise<void>;
  healthOf(channelId: number, bound: boolean): ChannelHealth;
  /** Routes with the probe trickle: a share of the messages see a degraded channel as healthy. */
  wrapRoute(route: RouteMessage): RouteMessage;
  state(channelId: number): BreakerState | undefined;
  /**
   * Receipts this node has just stored (after their commit): true when a healthy channel's
   * newest ones here would already degrade it, so that the caller steps the breakers now rather
   * than at the next tick.
   */
  noteStored(receipts: readonly { channelId: number; delivered: boolean }[]): boolean;
  /**
   * A submit refused with one of the channel's channel-specific codes (channels.channel_specific_codes):
   * true to retry the message once on another channel (routing then avoids this one for it).
   */
  shouldReroute(messageId: number, channelId: number, errorCode: string): boolean;
}

export function createHealthMonitor({
  pool,
  db,
  nodeId,
  logger,
  now = () => Date.now(),
  scanIds = HEALTH_SCAN_IDS,
  window = HEALTH_WINDOW,
  onDegraded = () => {},
}: {
  pool: pg.Pool;
  db: Kysely<Database>;
  nodeId: string;
  logger: Logger;
  now?: () => number;
  scanIds?: number;
  window?: number;
  /**
   * A channel's breaker opened on this node: the messages already routed to it and not yet
   * submitted should be routed again (the worker hands its connectors' queues back).
   */
  onDegraded?: (channelId: number) => void;
}): HealthMonitor {
  const log = logger.child({ component: 'routing-health' });
  const routes = createRoutingRepository(db);
  const states = new Map<number, BreakerState>();
  const settings = new Map<number, BreakerSettings>();
  const specificCodes = new Map<number, string[]>();
  const reroutes = createReroutes();
  const names = new Map<number, string>();
  let groups = new Map<string, number[]>();
  const credit: ProbeCredit = new Map();
  const ready = new Map<number, boolean>();
  const lostAt = new Map<number, number>();
  let told = new Set<string>();
  let loaded = false;
  // Per healthy channel, the outcomes of the receipts this node stored last (oldest first).
  const stored = new Map<number, boolean[]>();

  const name = (id: number) => names.get(id) ?? `#${id}`;

  return {
    async refresh(channels) {
      const enabled = channels.filter((c) => c.enabled);
      settings.clear();
      for (const c of enabled) {
        settings.set(c.id, breakerSettingsOf(c));
        specificCodes.set(c.id, c.channel_specific_codes);
        names.set(c.id, c.name);
      }
      const rules = await routes.loadRules();
      groups =
        rules.length === 0
          ? new Map([['the default group', enabled.map((c) => c.id)]])
          : new Map(rules.map((r) => [`route ${r.id}`, r.channels.map((m) => m.channelId)]));
    },

    async tick(binds) {
      if (!loaded) {
        for (const e of await selectLastBreakerEvents(pool))
          if (e.kind === 'degraded')
            states.set(e.channelId, { degraded: true, sinceMs: e.atMs, rate: null, samples: 0 });
        loaded = true;
      }
      const byChannel = new Map<number, FinalOutcome[]>();
      for (const o of await selectRecentOutcomes(pool, { scanIds, perChannel: window })) {
        const list = byChannel.get(o.channelId);
        if (list) list.push(o);
        else byChannel.set(o.channelId, [o]);
      }
      const t = now();
      for (const [channelId, s] of settings) {
        const step = stepBreaker(
          states.get(channelId) ?? INITIAL_BREAKER,
          byChannel.get(channelId) ?? [],
          s,
          t,
        );
        states.set(channelId, step.state);
        if (!step.switched) continue;
        stored.delete(channelId);
        const { kind, reason, rate, samples } = step.switched;
        if (kind === 'degraded') onDegraded(channelId);
        const wrote = await recordBreakerSwitch(pool, {
          channelId,
          kind,
          reason,
          nodeId,
          rate,
          samples,
          atMs: t,
        });
        const line = `channel ${name(channelId)} ${kind}: ${reason}`;
        if (kind === 'degraded') log.warn({ channel: channelId, rate, samples, recorded: wrote }, line);
        else log.info({ channel: channelId, rate, samples, recorded: wrote }, line);
      }

      // This node's binds: lost and back, each an event of this node.
      for (const b of binds) {
        const before = ready.get(b.channelId);
        ready.set(b.channelId, b.isReady);
        if (before === true && !b.isReady) {
          lostAt.set(b.channelId, t);
          log.warn({ channel: b.channelId }, `channel ${name(b.channelId)}: bind lost`);
          await recordChannelEvent(pool, {
            channelId: b.channelId,
            kind: 'bind_lost',
            reason: 'the bind went down; the group’s other channels take its traffic',
            nodeId,
          });
        } else if (before === false && b.isReady && lostAt.has(b.channelId)) {
          const downMs = t - lostAt.get(b.channelId)!;
          lostAt.delete(b.channelId);
          log.info({ channel: b.channelId, downMs }, `channel ${name(b.channelId)}: bind back`);
          await recordChannelEvent(pool, {
            channelId: b.channelId,
            kind: 'bind_back',
            reason: `the bind is up again after about ${Math.round(downMs / 1000)} s`,
            nodeId,
          });
        }
      }

      // Every bound channel of a group degraded: traffic keeps flowing to the best, and operators
      // are told once per spell (an error in the log and an event on the group's best channel).
      const health = new Map<number, ChannelHealth>();
      for (const id of settings.keys()) health.set(id, this.healthOf(id, ready.get(id) ?? false));
      const now_ = new Set(fullyDegradedGroups(groups, health));
      for (const key of now_) {
        if (told.has(key)) continue;
        const ids = groups.get(key)!.filter((id) => health.get(id)?.bound === true);
        const best = ids.reduce((a, b) =>
          (health.get(b)?.score ?? 0) > (health.get(a)?.score ?? 0) ? b : a,
        );
        const reason = `every bound channel of ${key} is degraded; traffic keeps flowing to the best, ${name(best)}`;
        log.error({ group: key, channels: ids }, reason);
        await recordChannelEvent(pool, {
          channelId: best,
          kind: 'all_degraded',
          reason,
          nodeId,
          rate: health.get(best)?.score ?? null,
        });
      }
      told = now_;
    },

    healthOf: (channelId, bound) => healthOf(bound, states.get(channelId)),

    wrapRoute(route) {
      return (message, given) => {
        let health = given;
        const avoid = reroutes.avoid(message.id);
        const refused = avoid === undefined ? undefined : health.get(avoid);
        if (refused) {
          // Refused there with a channel-specific code: any other channel first, this one last.
          health = new Map(health).set(avoid!, { ...refused, degraded: true, score: -1 });
          return route(message, health);
        }
        const degraded = new Map<number, number>();
        for (const [id, h] of health)
          if (h.bound && h.degraded === true) degraded.set(id, settings.get(id)?.probeShare ?? 0);
        const probed = degraded.size === 0 ? null : probeFor(credit, degraded);
        return route(message, probed === null ? health : probeHealth(health, probed));
      };
    },

    state: (channelId) => states.get(channelId),

    noteStored(receipts) {
      const touched = new Set<number>();
      for (const r of receipts) {
        if (states.get(r.channelId)?.degraded === true) continue;
        let list = stored.get(r.channelId);
        if (!list) stored.set(r.channelId, (list = []));
        list.push(r.delivered);
        touched.add(r.channelId);
      }
      let fallen = false;
      for (const id of touched) {
        const list = stored.get(id)!;
        if (list.length > window) list.splice(0, list.length - window);
        const s = settings.get(id);
        if (s && looksFallen(list, s)) fallen = true;
      }
      return fallen;
    },

    shouldReroute(messageId, channelId, errorCode) {
      const codes = specificCodes.get(channelId) ?? [];
      const yes = reroutes.shouldReroute(messageId, channelId, errorCode, codes);
      if (yes)
        log.info(
          { message: messageId, channel: channelId, errorCode },
          `channel ${name(channelId)} refused a message with channel-specific ${errorCode}: trying another channel once`,
        );
      return yes;
    },
  };
}
