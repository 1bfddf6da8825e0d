// The worker role: channel connectors, the dispatcher, receipt and reply ingestion, the scheduler
// for held messages, and the sweepers (receipt window, parked receipts, crash recovery), plus
// this node's heartbeat. Every loop catches inside each iteration, logs, and goes on.
import os from 'node:os';
import type { AppContext } from '../../app/context.ts';
import { createChannelsRepository } from '../channels/channels.repository.ts';
import { createReceiptIngest } from '../receipts/receipt-ingest.ts';
import { flushExpiredReplyParts, REPLY_PARTS_SWEEP_MS } from '../replies/inbound-store.ts';
import { ChannelConnector } from './connector.ts';
import { expireAwaitingReceipts, recoverAbandonedMessages, releaseHeldMessages } from './dispatch.sql.ts';
import { startDispatcher } from './dispatcher.ts';
import { createRecorder } from './recorder.ts';

const HEARTBEAT_MS = 2000;
/** A node that has not beaten for this long is dead; its `sending` messages are recovered. */
const NODE_DEAD_AFTER_MS = 15_000;

export interface Worker {
  stop(): Promise<void>;
  connectors(): ChannelConnector[];
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

  // Register this node, and forget nodes of this host whose process is gone: their claimed
  // messages are recovered at once instead of after the heartbeat timeout.
  await pool.query(
    `insert into nodes (id, roles, hostname, pid) values ($1, $2, $3, $4)
     on conflict (id) do update set seen_at = now()`,
    [nodeId, roles, os.hostname(), process.pid],
  );
  const sameHost = await pool.query<{ id: string; pid: number }>(
    'select id, pid from nodes where hostname = $1 and id <> $2',
    [os.hostname(), nodeId],
  );
  const gone = sameHost.rows.filter((n) => {
    try {
      process.kill(n.pid, 0);
      return false;
    } catch {
      return true;
    }
  });
  if (gone.length > 0)
    await pool.query('delete from nodes where id = any($1::text[])', [gone.map((n) => n.id)]);

  const recoverAbandoned = async () => {
    const live = await pool.query<{ id: string }>(
      `select id from nodes where seen_at > now() - make_interval(secs => $1::double precision / 1000)`,
      [NODE_DEAD_AFTER_MS],
    );
    const n = await recoverAbandonedMessages(pool, {
      liveNodeIds: live.rows.map((r) => r.id),
      now: clock.now(),
    });
    if (n > 0)
      log.warn({ messages: n }, 'recovered messages claimed by a node that is gone (marked duplicate_risk)');
    await pool.query(`delete from nodes where seen_at < now() - interval '1 day'`);
  };
  await recoverAbandoned();

  const ingest = createReceiptIngest({
    pool,
    logger: log,
    now: () => clock.now(),
    receiptWindowHours: config.receiptWindowHours,
  });
  let dispatcher: ReturnType<typeof startDispatcher> | null = null;
  const recorder = createRecorder({
    pool,
    nodeId,
    logger: log,
    now: () => clock.now(),
    onRecorded: (sent) => ingest.sentRecorded(sent),
  });
  const channelsRepo = createChannelsRepository(db.kysely);
  const connectors = new Map<
    number,
    { connector: ChannelConnector; updatedAt: number; isDefault: boolean }
  >();

  const syncChannels = async () => {
    const channels = await channelsRepo.listEnabledChannels();
    const seen = new Set<number>();
    for (const channel of channels) {
      seen.add(channel.id);
      const existing = connectors.get(channel.id);
      if (existing && existing.updatedAt === channel.updated_at.getTime()) {
        existing.isDefault = channel.is_default;
        continue;
      }
      if (existing) await existing.connector.stop();
      const connector = new ChannelConnector({
        channel,
        recorder,
        logger: log,
        onDeliver: (channelId, pdu) => ingest.deliver(channelId, pdu),
        onReady: () => dispatcher?.wake(),
      });
      connectors.set(channel.id, {
        connector,
        updatedAt: channel.updated_at.getTime(),
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
  };
  await syncChannels();

  const ordered = () =>
    [...connectors.values()]
      .sort((a, b) => Number(b.isDefault) - Number(a.isDefault))
      .map((e) => e.connector);
  dispatcher = startDispatcher({ pool, nodeId, logger: log, connectors: ordered, now: () => clock.now() });
  const unsubscribe = ctx.onQueued(() => dispatcher?.wake());

  const onError = (what: string) => (error: unknown) =>
    log.error({ err: error }, `${what} failed; will retry`);
  const stops = [
    every(
      HEARTBEAT_MS,
      () => pool.query('update nodes set seen_at = now() where id = $1', [nodeId]),
      onError('heartbeat'),
    ),
    every(5000, syncChannels, onError('channel sync')),
    every(5000, recoverAbandoned, onError('crash recovery')),
    every(
      250,
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
    every(1000, () => ingest.sweepParked(), onError('parked receipts')),
    every(60_000, () => ingest.logCounts(), onError('receipt counters')),
  ];

  return {
    connectors: ordered,
    async stop() {
      unsubscribe();
      await dispatcher?.stop();
      await Promise.all([...connectors.values()].map((e) => e.connector.stop()));
      await recorder.drain();
      await ingest.drain();
      for (const stop of stops) await stop();
      await pool.query('delete from nodes where id = $1', [nodeId]).catch(() => {});
    },
  };
}
