// Scrape-time gauges, read from PostgreSQL with bounded queries only: never a count over all
// messages. Recent messages by state and type are counted over the newest N ids (a primary-key
// range); open states and queue lanes are counted on their partial indexes, each up to a cap;
// channels come from the routing health statistics (their own bounded scan); the webhook backlog
// from the due index of pending deliveries.
import { STATUSES } from '../messages/messages.models.ts';
import type pg from 'pg';
import { channelStats } from '../routing/health/channel-stats.ts';
import { gauges } from './metrics.registry.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export interface CollectSettings {
  scanMessages: number;
  countCap: number;
}

const LANES = ['verification', 'notification', 'marketing'] as const;
const OPEN_STATES = ['held', 'queued', 'sending', 'sent'] as const;
const STATES = STATUSES;

async function recentMessages(db: Queryable, scan: number) {
  const r = await db.query<{ status: string; type: string; n: string }>(
    `select status, type, count(*) as n from messages
      where id > (select coalesce(max(id), 0) from messages) - $1
      group by status, type`,
    [scan],
  );
  gauges.messagesRecent.reset();
  for (const state of STATES) for (const type of LANES) gauges.messagesRecent.set({ state, type }, 0);
  for (const row of r.rows) gauges.messagesRecent.set({ state: row.status, type: row.type }, Number(row.n));
}

/** Each count stops at the cap: a backlog of millions costs no more than the cap to count. */
async function openMessages(db: Queryable, cap: number) {
  const r = await db.query<{
    held: string;
    sending: string;
    sent: string;
    q0: string;
    q1: string;
    q2: string;
  }>(
    `select (select count(*) from (select 1 from messages where status = 'held' limit $1) x) as held,
            (select count(*) from (select 1 from messages where status = 'sending' limit $1) x) as sending,
            (select count(*) from (select 1 from messages where status = 'sent' limit $1) x) as sent,
            (select count(*) from (select 1 from messages where status = 'queued' and priority = 0 limit $1) x) as q0,
            (select count(*) from (select 1 from messages where status = 'queued' and priority = 1 limit $1) x) as q1,
            (select count(*) from (select 1 from messages where status = 'queued' and priority = 2 limit $1) x) as q2`,
    [cap],
  );
  const row = r.rows[0]!;
  const lanes = [Number(row.q0), Number(row.q1), Number(row.q2)];
  LANES.forEach((lane, i) => gauges.queueDepth.set({ lane }, lanes[i]!));
  const open: Record<(typeof OPEN_STATES)[number], number> = {
    held: Number(row.held),
    queued: Math.min(cap, lanes[0]! + lanes[1]! + lanes[2]!),
    sending: Number(row.sending),
    sent: Number(row.sent),
  };
  for (const state of OPEN_STATES) gauges.messagesOpen.set({ state }, open[state]);
}

async function channels(db: Queryable) {
  const stats = await channelStats(db);
  for (const g of [
    gauges.channelSubmittedPerMinute,
    gauges.channelSubmitted,
    gauges.channelOutcomes,
    gauges.channelDeliveryRate,
    gauges.channelReceiptP95,
    gauges.channelDegraded,
  ]) {
    g.reset();
  }
  for (const c of stats) {
    const channel = c.name;
    gauges.channelSubmittedPerMinute.set({ channel }, c.submittedLastMinute);
    gauges.channelSubmitted.set({ channel }, c.submitted);
    gauges.channelOutcomes.set({ channel, outcome: 'delivered' }, c.delivered);
    gauges.channelOutcomes.set({ channel, outcome: 'undelivered' }, c.undelivered);
    gauges.channelOutcomes.set({ channel, outcome: 'unknown' }, c.unknown);
    if (c.deliveryRate !== null) gauges.channelDeliveryRate.set({ channel }, c.deliveryRate);
    if (c.receiptLatencyP95Ms !== null)
      gauges.channelReceiptP95.set({ channel }, c.receiptLatencyP95Ms / 1000);
    gauges.channelDegraded.set({ channel }, c.breaker === 'degraded' ? 1 : 0);
  }
}

async function webhooks(db: Queryable, cap: number) {
  const r = await db.query<{ backlog: string; oldest: number | null }>(
    `select (select count(*) from (select 1 from webhook_deliveries where state = 'pending' limit $1) x) as backlog,
            (select extract(epoch from now() - min(created_at))::float8 from
               (select created_at from webhook_deliveries where state = 'pending' order by next_attempt_at, id limit 1000) o) as oldest`,
    [cap],
  );
  gauges.webhookBacklog.set(Number(r.rows[0]!.backlog));
  gauges.webhookOldestPending.set(Math.max(0, r.rows[0]!.oldest ?? 0));
}

/** Refreshes every database gauge; the four reads run at once. */
export async function collectDatabaseGauges(db: Queryable, settings: CollectSettings): Promise<void> {
  await Promise.all([
    recentMessages(db, settings.scanMessages),
    openMessages(db, settings.countCap),
    channels(db),
    webhooks(db, settings.countCap),
  ]);
}
