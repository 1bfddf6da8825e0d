// The dispatch loop: claims as many due messages as the bound channels can take right now, and
// hands them to the channels. It claims on demand (never more than a couple of windows ahead), so
// a verification code queued behind a 200,000-message marketing batch waits at most for the
// messages already in the channel's hands, and the claim query itself puts it first.

import type pg from 'pg';
import type { Logger } from 'pino';
import { NO_CHANNEL_BOUND, NO_ROUTE } from '../routing/routing.errors.ts';
import type { ChannelHealth, RouteDecision } from '../routing/routing.models.ts';
import type { ChannelConnector } from './connector.ts';
import { MAX_ATTEMPTS } from './dispatch.models.ts';
import type { DirectClaimer, DirectGrant } from '../messages/intake.ts';
import {
  type ClaimedMessage,
  claimNextMessages,
  type Deadlines,
  recoverOwnClaims,
  requeueUnsentClaims,
} from './dispatch.sql.ts';
import type { NodeFence } from './nodes.ts';
import type { Recorder } from './recorder.ts';

/** Chooses the channel of one claimed message from the live health of the channels (routing.models). */
export type RouteMessage = (
  message: ClaimedMessage,
  health: ReadonlyMap<number, ChannelHealth>,
) => RouteDecision;

/**
 * How long a message whose route has no bound channel waits before it is claimed again. Not an
 * attempt: it goes back with `routing.no_channel_bound` and no duplicate risk.
 */
export const NO_CHANNEL_RETRY_MS = 2000;

export interface Dispatcher {
  /** Work was queued (or a channel bound): claim now. */
  wake(): void;
  /**
   * A channel has room again: claim now only if the last claim was cut short by the channels'
   * room. After one that found the queue drained there is nothing to claim; new work wakes.
   */
  room(): void;
  stop(): Promise<void>;
  /** Takes single sends as the intake writes them (intake.ts DirectClaimer). */
  direct: DirectClaimer;
}

/**
 * The `sending_at` of each claim this node makes, by the dispatcher's loop or by an intake write
 * (DirectClaimer): strictly increasing, in microseconds, so no two claims share one. A claim whose
 * answer was lost (the connection dropped after the commit, a timeout) may have claimed rows that
 * nothing here holds; they are found by this instant and nothing else. Milliseconds alone were
 * not enough: two intake groups, or a group and a claim, written in the same millisecond, and the
 * failure of one would have sent the other's rows back to the queue while they were being sent.
 */
export function createClaimInstants() {
  let last = 0;
  return {
    next(now: Date): string {
      const micros = Math.max(now.getTime() * 1000, last + 1);
      last = micros;
      const iso = new Date(Math.floor(micros / 1000)).toISOString();
      return `${iso.slice(0, 23)}${String(micros % 1000).padStart(3, '0')}Z`;
    },
  };
}

/** How long after a claim's unknown outcome its rows are looked for (settleUnknownClaims). */
export const SETTLE_AFTER_MS = 1000;

const deadlineSecondsOf = (d: Deadlines, type: string) =>
  type === 'verification'
    ? d.verificationSeconds
    : type === 'notification'
      ? d.notificationSeconds
      : d.marketingSeconds;

export function startDispatcher({
  pool,
  nodeId,
  logger,
  connectors,
  now = () => new Date(),
  deadlines,
  idlePollMs = 100,
  maxClaim = 2000,
  smallClaim = 100,
  gatherMs = 5,
  route: routeMessage,
  recorder,
  healthOf = (c) => ({ bound: c.isReady }),
  fence,
}: {
  pool: pg.Pool;
  nodeId: string;
  logger: Logger;
  /** The live connectors, the default channel first. */
  connectors: () => ChannelConnector[];
  /**
   * Routes each claimed message (the route table); with `recorder`, which ends no-route messages
   * and hands back those whose channels are all unbound. Without it, the default channel is
   * filled first, then the others by their free demand.
   */
  route?: RouteMessage;
  recorder?: Pick<Recorder, 'fail' | 'retry'>;
  /** Live health of a connector's channel; part B adds the delivery rate (degraded, score). */
  healthOf?: (c: ChannelConnector) => ChannelHealth;
  now?: () => Date;
  /** Deadlines by message type: a claim expires what is past them instead of sending it. */
  deadlines: Deadlines;
  idlePollMs?: number;
  maxClaim?: number;
  smallClaim?: number;
  gatherMs?: number;
  /** This node's liveness (nodes.ts): nothing is claimed while it is not alive. */
  fence?: NodeFence;
}): Dispatcher {
  let stopped = false;
  let wakeUp: (() => void) | null = null;
  let woken = false;
  // Tenants seen with due work at the last claim: each gets a fair share of the next one.
  let activeKeys = 1;
  let lastClaimSize = 0;
  // The last claim found fewer due messages than it asked for, and nothing was queued since: a
  // message written now would be the next one claimed, so it may be claimed as it is written.
  let queueDrained = false;
  // Room granted to intake writes still in flight (DirectClaimer.reserve), taken off the claims.
  let reserved = 0;
  const instants = createClaimInstants();
  // Claims whose outcome is unknown, by instant, with when their requeue may run (see settle).
  const unsettled = new Map<string, number>();
  const unknownOutcome = (sendingAt: string) => {
    unsettled.set(sendingAt, Date.now() + SETTLE_AFTER_MS);
    setTimeout(wake, SETTLE_AFTER_MS).unref();
  };

  const wake = () => {
    woken = true;
    wakeUp?.();
  };

  function route(messages: ClaimedMessage[], ready: ChannelConnector[]): void {
    // Fill the default channel first, then the others by their free demand.
    let i = 0;
    for (const c of ready) {
      const take = messages.slice(i, i + c.demand);
      i += take.length;
      if (take.length > 0) c.enqueue(take);
    }
    const rest = messages.slice(i);
    if (rest.length > 0) ready[0]!.enqueue(rest);
  }

  /**
   * Each message to the channel its route chooses among those bound now. A message no route can
   * carry ends `rejected` (routing.no_route), never stuck; one whose route has no bound channel
   * goes back to the queue for a moment. Returns how many went to a channel.
   */
  function routeByRules(messages: ClaimedMessage[], all: ChannelConnector[]): number {
    // A channel may have several binds here (one connector each): it is bound while any is, and
    // its messages go to the bind with the most room.
    const byChannel = new Map<number, ChannelConnector[]>();
    for (const c of all) byChannel.set(c.channelId, [...(byChannel.get(c.channelId) ?? []), c]);
    const health = new Map(
      [...byChannel].map(([id, binds]) => [id, healthOf(binds.find((c) => c.isReady) ?? binds[0]!)]),
    );
    const planned = new Map<ChannelConnector, number>();
    const bindFor = (channelId: number): ChannelConnector | undefined => {
      const binds = byChannel.get(channelId);
      if (!binds) return undefined;
      let best = binds[0]!;
      let room = -Infinity;
      for (const c of binds) {
        const r = (c.isReady ? c.demand : -1e9) - (planned.get(c) ?? 0);
        if (r > room) {
          room = r;
          best = c;
        }
      }
      planned.set(best, (planned.get(best) ?? 0) + 1);
      return best;
    };
    const batches = new Map<ChannelConnector, ClaimedMessage[]>();
    let routed = 0;
    const handBack = (m: ClaimedMessage, why: string) =>
      recorder!.retry({
        id: m.id,
        delayMs: NO_CHANNEL_RETRY_MS,
        errorCode: NO_CHANNEL_BOUND,
        errorDetail: why,
        duplicateRisk: false,
        notAttempted: true,
      });
    for (const m of messages) {
      let decision: RouteDecision;
      try {
        decision = routeMessage!(m, health);
      } catch (error) {
        logger.error({ err: error, message: m.id }, 'dispatch: routing failed; the message waits');
        handBack(m, 'routing failed');
        continue;
      }
      const connector = decision.kind === 'channel' ? bindFor(decision.channel.id) : undefined;
      if (connector) {
        const batch = batches.get(connector);
        if (batch) batch.push(m);
        else batches.set(connector, [m]);
        routed++;
      } else if (decision.kind === 'no_route') {
        recorder!.fail({ id: m.id, status: 'rejected', errorCode: NO_ROUTE, errorDetail: decision.why });
      } else {
        handBack(m, decision.kind === 'wait' ? decision.why : 'the chosen channel has no connector');
      }
    }
    // A connector that lost its bind meanwhile hands its batch back to the queue (enqueue), and
    // the next claim routes those messages to the group's other channels.
    for (const [connector, batch] of batches) connector.enqueue(batch);
    return routed;
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      let claimedAny = false;
      try {
        if (unsettled.size > 0) await settleUnknownClaims();
        const all = connectors();
        const ready = all.filter((c) => c.isReady);
        // Routing may send a claim's messages to one channel beyond its own demand: what a
        // channel holds past its two windows is taken off the next claims, so no local queue
        // grows without bound.
        const demand = Math.min(maxClaim, roomOf(all, ready));
        if (demand > 0 && (fence === undefined || fence.alive)) {
          const perTenant = Math.max(10, Math.ceil(demand / activeKeys));
          const epoch = fence?.epoch;
          const at = now();
          const sendingAt = instants.next(at);
          let claimed: ClaimedMessage[];
          try {
            claimed = await claimNextMessages(pool, {
              nodeId,
              limit: demand,
              perTenant,
              now: at,
              sendingAt,
              deadlines,
              maxAttempts: MAX_ATTEMPTS,
            });
          } catch (error) {
            // It may have committed with its answer lost: what it claimed goes back, unsent.
            unknownOutcome(sendingAt);
            throw error;
          }
          lastClaimSize = claimed.length;
          queueDrained = claimed.length < demand;
          if (fence !== undefined && fence.epoch !== epoch && claimed.length > 0) {
            // The node lapsed while it claimed, and may have recovered its claims before this one
            // was written: these are recovered too, before anything else is claimed.
            await recoverOwnClaims(pool, { nodeId, now: now(), ids: claimed.map((m) => m.id) });
            continue;
          }
          for (const m of claimed) m.epoch = epoch;
          if (claimed.length > 0) {
            claimedAny = true;
            activeKeys = Math.max(1, new Set(claimed.map((m) => `${m.priority}:${m.tenantId}`)).size);
            // A channel may have stopped during the claim: prefer those still bound. If none is,
            // the first hands the messages straight back to the queue (ChannelConnector.enqueue).
            const still = ready.filter((c) => c.isReady);
            // Nothing routable (every route's channels unbound): do not spin claiming them.
            if (!hand(claimed, still.length > 0 ? still : ready))
              await new Promise((r) => setTimeout(r, idlePollMs));
          }
        }
      } catch (error) {
        logger.error({ err: error }, 'dispatch: claim failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      // A small claim means messages trickle in (single sends): gather a few milliseconds' worth
      // before the next claim, so that claiming costs one statement per dozens of messages rather
      // than per message. Measured with 50 concurrent single-send clients, see the closing notes.
      if (claimedAny && lastClaimSize < smallClaim) await new Promise((r) => setTimeout(r, gatherMs));
      if (claimedAny) continue;
      if (woken) {
        woken = false;
        // Work was signalled while we claimed: look again right away, but yield first.
        await new Promise((r) => setImmediate(r));
        continue;
      }
      if (stopped) break; // asked to stop while it claimed: no idle wait
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, idlePollMs);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = null;
      woken = false;
    }
  }

  /** What the bound channels can take now, less what they hold past two windows and what is granted. */
  function roomOf(all: ChannelConnector[], ready: ChannelConnector[]): number {
    const overfill = all.reduce((sum, c) => sum + (c.overfill ?? 0), 0);
    return ready.reduce((sum, c) => sum + c.demand, 0) - overfill - reserved;
  }

  /** Claims made at write that were never sent, back to the queue; the loop is woken for them. */
  function requeueUnsent(which: { ids: number[] }): void {
    requeueUnsentClaims(pool, { nodeId, now: now(), ...which })
      .then((n) => {
        if (n > 0) wake();
      })
      .catch((error: unknown) => logger.error({ err: error }, 'dispatch: requeueing unsent claims failed'));
  }

  /**
   * Claims whose outcome is unknown, each undone by its instant once SETTLE_AFTER_MS has passed:
   * what they claimed was never sent and goes back to the queue. The wait lets a statement whose
   * connection dropped finish its commit on the server first, or its rows would be claimed after
   * the requeue looked. One whose requeue fails stays for the loop's next turn (the database may
   * be back by then).
   */
  async function settleUnknownClaims(): Promise<void> {
    for (const [sendingAt, due] of [...unsettled]) {
      if (due > Date.now()) continue;
      const n = await requeueUnsentClaims(pool, { nodeId, now: now(), sendingAt });
      unsettled.delete(sendingAt);
      if (n > 0) {
        logger.warn({ requeued: n }, 'dispatch: a claim whose answer was lost is undone');
        wake();
      }
    }
  }

  /** Routes messages claimed for this node, as a claim's are (the one place both go through). */
  function hand(messages: ClaimedMessage[], ready: ChannelConnector[]): boolean {
    if (routeMessage && recorder) return routeByRules(messages, connectors()) > 0;
    route(messages, ready);
    return true;
  }

  const direct: DirectClaimer = {
    reserve(wanted, at = now()) {
      if (stopped || !queueDrained || woken || (fence !== undefined && !fence.alive)) return null;
      const all = connectors();
      const ready = all.filter((c) => c.isReady);
      if (ready.length === 0) return null;
      const room = Math.min(wanted, roomOf(all, ready));
      if (room <= 0) return null;
      reserved += room;
      return { nodeId, room, epoch: fence?.epoch, sendingAt: instants.next(at) };
    },
    adopt(grant: DirectGrant, rows, failed) {
      reserved -= grant.room;
      if (failed) {
        // Whether the write committed is unknown: rows it may have claimed were never sent.
        unknownOutcome(grant.sendingAt);
        return;
      }
      if (rows.length === 0) return;
      const messages: ClaimedMessage[] = rows.map(({ row, message }) => ({
        id: message.id,
        tenantId: row.tenantId,
        priority: row.priority,
        recipient: row.recipient,
        content: row.content,
        parts: row.parts,
        attempts: 1,
        duplicateRisk: false,
        senderCode: message.claimed?.senderCode ?? null,
        signatureExtension: message.claimed?.signatureExtension ?? null,
        deadlineAt: message.createdAt.getTime() + deadlineSecondsOf(deadlines, row.type) * 1000,
        epoch: grant.epoch,
      }));
      if (fence !== undefined && fence.epoch !== grant.epoch) {
        // As for a claim: the node lapsed meanwhile, and these are recovered with its claims.
        recoverOwnClaims(pool, { nodeId, now: now(), ids: messages.map((m) => m.id) })
          .then(() => wake())
          .catch((error: unknown) => logger.error({ err: error }, 'dispatch: recovering claims failed'));
        return;
      }
      const all = connectors();
      const ready = all.filter((c) => c.isReady);
      if (stopped || all.length === 0) {
        // The dispatcher stopped, or every channel went away, meanwhile: back to the queue, unsent.
        requeueUnsent({ ids: messages.map((m) => m.id) });
        return;
      }
      hand(messages, ready.length > 0 ? ready : all);
    },
  };

  const running = loop();
  return {
    direct,
    wake,
    room() {
      if (!queueDrained) wake();
    },
    async stop() {
      stopped = true;
      wakeUp?.();
      await running;
      // Undone now rather than left to a restart's recovery, which would mark them duplicate_risk.
      for (const [sendingAt] of unsettled) unsettled.set(sendingAt, 0);
      await settleUnknownClaims().catch((error: unknown) =>
        logger.error({ err: error }, 'dispatch: requeueing claims whose answer was lost failed'),
      );
    },
  };
}
