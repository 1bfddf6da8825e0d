// The worker role: channel connectors, the dispatcher, receipt and reply ingestion, the scheduler
// for held messages, and the sweepers (receipt window, parked receipts, crash recovery), plus
// this node's heartbeat. Every loop catches inside each iteration, logs, and goes on.
import { completeFinishedBatches } from '../messages/batch-completion.ts';
import { purgeExpiredContent } from '../messages/retention.ts';
import { runLowBalanceCheck } from '../billing/commerce/alerts.worker.ts';
import { expireLots } from '../billing/ledger.usecases.ts';
import os from 'node:os';
import type { AppContext } from '../../app/context.ts';
import { type Channel, createChannelsRepository } from '../channels/channels.repository.ts';
import { createReceiptIngest } from '../receipts/receipt-ingest.ts';
import { createLiveRouting } from '../routing/live-routing.ts';
import {
  createHealthMonitor,
  HEALTH_EARLY_GAP_MS,
  HEALTH_INTERVAL_MS,
} from '../routing/health/health.monitor.ts';
import { createBindLeases } from '../routing/leases/bind-leases.ts';
import { flushExpiredReplyParts, REPLY_PARTS_SWEEP_MS } from '../replies/inbound-store.ts';
import { ChannelConnector } from './connector.ts';
import {
  type Deadlines,
  expireAwaitingReceipts,
  expireOverdueMessages,
  recoverAbandonedMessages,
  recoverOwnClaims,
  releaseHeldMessages,
} from './dispatch.sql.ts';
import { startDispatcher } from './dispatcher.ts';
import { createNodeLiveness, deleteLongGoneNodes, listLiveNodes, recoverAfterLapse } from './nodes.ts';
import { createRecorder } from './recorder.ts';
import { startWebhookSender } from '../webhooks/webhooks.start.ts';
import { startContactJobs } from '../contacts/contacts.start.ts';
import { startCampaignJobs } from '../campaigns/campaigns.start.ts';
import { analyzeGrownTables, STATISTICS_INTERVAL_MS } from '../../db/statistics.ts';

/** What a connector is built from: a change to any of it rebinds the channel. */
function bindKeyOf(c: Channel): string {
  return JSON.stringify([
    c.host,
    c.port,
    c.system_id,
    c.password,
    c.system_type,
    c.bind_mode,
    c.window_size,
    c.max_tps,
    c.binds,
    c.source_addr,
    c.accepts_extension,
    c.id_convention,
  ]);
}

export interface Worker {
  stop(): Promise<void>;
  connectors(): ChannelConnector[];
}

/** Waits for `promise`, but not past `deadline` (epoch ms). */
async function settledBy(promise: Promise<unknown>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise,
    new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now())))),
  ]);
  clearTimeout(timer);
}

function every(ms: number, fn: () => Promise<unknown>, onError: (e: unknown) => void) {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = fn()
      .then(
        () => {},
        (e: unknown) => onError(e),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, ms);
      });
  };
  timer = setTimeout(tick, 0);
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await running;
  };
}

/**
 * `every`, and sooner on request: `soon()` brings the next run forward to now, or to
 * `minGapMs` after the last one began (one runs at a time; a request during a run is one more).
 */
function everyOrSooner(
  ms: number,
  minGapMs: number,
  fn: () => Promise<unknown>,
  onError: (e: unknown) => void,
) {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let dueAt = 0;
  let running: Promise<void> | null = null;
  let startedAt = 0;
  let again = false;
  const arm = (delay: number) => {
    if (timer) clearTimeout(timer);
    dueAt = Date.now() + delay;
    timer = setTimeout(run, delay);
  };
  const run = () => {
    timer = null;
    startedAt = Date.now();
    running = fn()
      .then(
        () => {},
        (e: unknown) => onError(e),
      )
      .finally(() => {
        running = null;
        if (stopped) return;
        const soon = again;
        again = false;
        arm(soon ? Math.max(0, startedAt + minGapMs - Date.now()) : ms);
      });
  };
  arm(0);
  return {
    soon() {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      const at = Math.max(Date.now(), startedAt + minGapMs);
      if (at < dueAt) arm(at - Date.now());
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

export async function startWorker({
  ctx,
  nodeId,
  roles,
}: {
  ctx: AppContext;
  nodeId: string;
  roles: string[];
}): Promise<Worker> {
  const { db, logger, clock, config } = ctx;
  const log = logger.child({ component: 'worker' });
  const pool = db.pool;

  const deadlines: Deadlines = {
    verificationSeconds: config.verificationDeadlineSeconds,
    notificationSeconds: config.notificationDeadlineSeconds,
    marketingSeconds: config.marketingDeadlineSeconds,
  };

  // Register this node and take its liveness lock before claiming anything (nodes.ts). Nothing
  // here judges other nodes by hostname or pid: two nodes may share both.
  // Set once the recorder exists: the results it holds are written before a lapse's recovery.
  let writeHeldResults: () => Promise<unknown> = async () => {};
  const liveness = createNodeLiveness({
    pool,
    node: { nodeId, roles, hostname: os.hostname(), pid: process.pid },
    logger: log,
    deadAfterMs: config.nodeDeadAfterMs,
    // Peers may have taken this node for dead: it recovers its own claims as they would have.
    onLapse: async () => {
      const n = await recoverAfterLapse({
        writeHeldResults: () => writeHeldResults(),
        recoverOwnClaims: () => recoverOwnClaims(pool, { nodeId, now: clock.now() }),
        waitMs: config.nodeDeadAfterMs,
      });
      if (n > 0) log.warn({ messages: n }, 'recovered this node’s own claims (marked duplicate_risk)');
    },
  });
  await liveness.beat();

  const recoverAbandoned = async () => {
    const liveNodeIds = await listLiveNodes(pool, { deadAfterMs: config.nodeDeadAfterMs });
    // This node is alive whatever the query saw (its lock connection may be reconnecting).
    if (!liveNodeIds.includes(nodeId)) liveNodeIds.push(nodeId);
    const n = await recoverAbandonedMessages(pool, { liveNodeIds, now: clock.now() });
    if (n > 0)
      log.warn({ messages: n }, 'recovered messages claimed by a node that is gone (marked duplicate_risk)');
    await deleteLongGoneNodes(pool);
  };
  await recoverAbandoned();

  let healthLoop: ReturnType<typeof everyOrSooner> | null = null;
  const ingest = createReceiptIngest({
    pool,
    logger: log,
    now: () => clock.now(),
    receiptWindowHours: config.receiptWindowHours,
    // A fall seen in the receipts this node just stored: the breakers are stepped now, on the
    // stored rows as at every tick, instead of at the next tick.
    onStored: (receipts) => {
      if (
        health.noteStored(
          receipts.map((r) => ({ channelId: r.channelId, delivered: r.state === 'delivered' })),
        )
      )
        healthLoop?.soon();
    },
  });
  let dispatcher: ReturnType<typeof startDispatcher> | null = null;
  const recorder = createRecorder({
    pool,
    nodeId,
    logger: log,
    now: () => clock.now(),
    onRecorded: (sent) => ingest.sentRecorded(sent),
    onSubmitted: (sent) => ingest.submitted(sent),
    // A receipt that overtook its submit result is written with it (one update, not two).
    lendReceipts: (sent) => ingest.lendWaitingReceipts(sent),
  });
  writeHeldResults = () => recorder.drain();
  const channelsRepo = createChannelsRepository(db.kysely, ctx.keyRing);
  // One connector per bind this node holds: keyed by channel id and slot.
  const connectors = new Map<
    string,
    { connector: ChannelConnector; updatedAt: number; bindKey: string; isDefault: boolean }
  >();

  // The route table, the channels and the ported numbers as the dispatcher routes with them,
  // re-read with the channels: an edit takes effect at the next sync, without a restart.
  const routing = createLiveRouting({ db: db.kysely });
  // Delivery-rate circuit breakers (part B): degraded channels get only a probe trickle.
  const health = createHealthMonitor({
    pool,
    db: db.kysely,
    nodeId,
    logger: log,
    // Messages routed to a channel whose delivery rate just fell, still in its queue, are routed
    // again: up to two windows of them would otherwise go to the degraded channel after the switch.
    onDegraded: (channelId) => {
      let returned = 0;
      for (const { connector } of connectors.values())
        if (connector.channelId === channelId)
          returned += connector.returnUnsubmitted('the channel was degraded; routed again');
      if (returned > 0)
        log.info({ channel: channelId, messages: returned }, 'unsubmitted messages routed again');
    },
  });
  const leases = createBindLeases({
    pool,
    nodeId,
    ttlMs: config.nodeDeadAfterMs,
    deadAfterMs: config.nodeDeadAfterMs,
    logger: log,
  });
  const syncChannels = async () => {
    const everyChannel = await channelsRepo.listChannels();
    await routing.refresh(everyChannel);
    await health.refresh(everyChannel);
    // Only the channels this node holds a bind lease of: the nodes together never open more
    // binds than a channel's `binds` (routing/leases/bind-leases.ts).
    const held = await leases.hold(everyChannel.filter((c) => c.enabled));
    const seen = new Set<string>();
    for (const { channel, slot } of held.flatMap((h) =>
      h.slots.map((s) => ({ channel: h.channel, slot: s })),
    )) {
      const key = `${channel.id}:${slot}`;
      seen.add(key);
      const existing = connectors.get(key);
      if (existing && existing.updatedAt === channel.updated_at.getTime()) {
        existing.isDefault = channel.is_default;
        continue;
      }
      // A change of routing alone (carriers, types, cost, weight) keeps the bind: routing reads
      // it from the snapshot above, and rebinding would hand back every message the channel holds.
      const bindKey = bindKeyOf(channel);
      if (existing && existing.bindKey === bindKey) {
        existing.updatedAt = channel.updated_at.getTime();
        existing.isDefault = channel.is_default;
        continue;
      }
      if (existing) await existing.connector.stop();
      const connector = new ChannelConnector({
        // The account's TPS is shared by its binds, wherever they are open.
        channel: { ...channel, max_tps: channel.max_tps / Math.max(1, channel.binds) },
        recorder,
        logger: log,
        onDeliver: (channelId, pdu) => ingest.deliver(channelId, pdu),
        onReady: () => dispatcher?.wake(),
        onRoom: () => dispatcher?.room(),
        reroute: (messageId, channelId, errorCode) => health.shouldReroute(messageId, channelId, errorCode),
        fence: liveness,
      });
      connectors.set(key, {
        connector,
        updatedAt: channel.updated_at.getTime(),
        bindKey,
        isDefault: channel.is_default,
      });
      connector.start();
    }
    for (const [id, entry] of connectors) {
      if (!seen.has(id)) {
        connectors.delete(id);
        await entry.connector.stop();
      }
    }
    await leases.releaseGivenUp();
  };
  await syncChannels();

  const ordered = () =>
    [...connectors.values()]
      .sort((a, b) => Number(b.isDefault) - Number(a.isDefault))
      .map((e) => e.connector);
  // Each channel once, bound while any of its binds here is (what the health monitor watches).
  const boundChannels = () => {
    const bound = new Map<number, boolean>();
    for (const c of ordered()) bound.set(c.channelId, (bound.get(c.channelId) ?? false) || c.isReady);
    return [...bound].map(([channelId, isReady]) => ({ channelId, isReady }));
  };
  dispatcher = startDispatcher({
    pool,
    nodeId,
    logger: log,
    connectors: ordered,
    now: () => clock.now(),
    deadlines,
    route: health.wrapRoute(routing.route),
    healthOf: (c) => health.healthOf(c.channelId, c.isReady),
    recorder,
    fence: liveness,
  });
  const unsubscribe = ctx.onQueued(() => dispatcher?.wake());
  ctx.setDirectClaimer(dispatcher.direct);

  const onError = (what: string) => (error: unknown) =>
    log.error({ err: error }, `${what} failed; will retry`);
  const stops = [
    every(config.heartbeatIntervalMs, () => liveness.beat(), onError('heartbeat')),
    every(config.channelSyncIntervalMs, syncChannels, onError('channel sync')),
    (healthLoop = everyOrSooner(
      HEALTH_INTERVAL_MS,
      HEALTH_EARLY_GAP_MS,
      () => health.tick(boundChannels()),
      onError('routing health'),
    )).stop,
    every(config.recoveryIntervalMs, recoverAbandoned, onError('crash recovery')),
    every(
      config.deadlineSweepIntervalMs,
      async () => {
        const n = await expireOverdueMessages(pool, { now: clock.now(), deadlines });
        if (n > 0) log.warn({ messages: n }, 'queued messages expired: their deadline passed before a claim');
      },
      onError('deadline sweep'),
    ),
    every(
      config.schedulerIntervalMs,
      async () => {
        if ((await releaseHeldMessages(pool, { now: clock.now() })) > 0) dispatcher?.wake();
      },
      onError('scheduler'),
    ),
    every(
      60_000,
      () => expireAwaitingReceipts(pool, { now: clock.now(), windowHours: config.receiptWindowHours }),
      onError('receipt window'),
    ),
    every(
      REPLY_PARTS_SWEEP_MS,
      () =>
        flushExpiredReplyParts(pool, {
          now: clock.now(),
          timeoutMs: config.replyPartsTimeoutSeconds * 1000,
          windowHours: config.receiptWindowHours,
        }),
      onError('reply parts timeout'),
    ),
    every(config.parkedReceiptsIntervalMs, () => ingest.sweepParked(), onError('parked receipts')),
    every(
      config.contentPurgeIntervalMs,
      async () => {
        const n = await purgeExpiredContent({
          db: pool,
          now: clock.now(),
          defaultDays: config.contentRetentionDays,
          batchSize: config.contentPurgeBatch,
        });
        if (n > 0) log.info({ messages: n }, 'message content purged after its retention period');
      },
      onError('content retention'),
    ),
    every(
      config.billingExpiryIntervalMs,
      async () => {
        const n = await expireLots({ db: pool, now: clock.now() });
        if (n > 0) log.info({ lots: n }, 'credit lots expired: their remainders left through the ledger');
      },
      onError('credit expiry'),
    ),
    every(config.lowBalanceCheckIntervalMs, () => runLowBalanceCheck(ctx), onError('low-balance alerts')),
    every(
      config.batchCompletionIntervalMs,
      () => completeFinishedBatches(pool, clock.now()),
      onError('batch completion'),
    ),
    every(60_000, () => ingest.logCounts(), onError('receipt counters')),
    every(
      STATISTICS_INTERVAL_MS,
      async () => {
        const tables = await analyzeGrownTables(pool);
        if (tables.length > 0) log.debug({ tables }, 'planner statistics refreshed: the tables grew');
      },
      onError('planner statistics'),
    ),
    startWebhookSender({ ctx, logger: log, every, onError: onError('webhook delivery') }),
    startContactJobs({ ctx, nodeId, logger: log, every, onError }),
    startCampaignJobs({ ctx, logger: log, every, onError }),
  ];

  return {
    connectors: ordered,
    async stop() {
      unsubscribe();
      // Bounded: submissions in flight get half the drain time, their results the rest; what is
      // left stays `sending` and, once this node's row and lock are gone, a peer or the next
      // start queues it again (duplicate_risk).
      const deadline = Date.now() + config.shutdownDrainMs;
      ctx.setDirectClaimer(null);
      await dispatcher?.stop();
      await Promise.all([...connectors.values()].map((e) => e.connector.stop(config.shutdownDrainMs / 2)));
      await recorder.drain(Math.max(0, deadline - Date.now()));
      // Receipts not stored by then were not acknowledged either: the carrier sends them again.
      await settledBy(ingest.drain(), deadline);
      for (const stop of stops) await stop();
      await leases
        .release()
        .catch((error: unknown) => log.error({ err: error }, 'releasing bind leases failed'));
      await liveness.close();
    },
  };
}
