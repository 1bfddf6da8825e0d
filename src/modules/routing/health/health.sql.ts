// Statements of routing health: the recent final outcomes of each channel, and switch events
// written once whatever the number of nodes.
import type pg from 'pg';
import type { FinalOutcome } from './health.models.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export interface ChannelOutcome extends FinalOutcome {
  channelId: number;
  /** The first 8 characters of the E.164 recipient (+86 and up to 5 digits of segment), for per-carrier rates. */
  prefix: string;
  /** Receipt latency (done - sent), ms; null without a receipt. */
  latencyMs: number | null;
}

/**
 * The newest `perChannel` final outcomes of each channel among the last `scanIds` messages.
 * Read backwards through the primary key, per enabled channel, stopping at `perChannel` rows, so
 * its cost is bounded by `scanIds` whatever the size of the table and no index is added to the
 * hot `messages` table for it. Measured on 500,000 messages over 2 channels (busy machine):
 * 1.2 ms, against 45-90 ms for one window-function pass over the 20,000 newest ids.
 * A submit the carrier refused (rejected with an smpp.* code, no carrier id) is an outcome
 * without a receipt; other endings without a carrier id (no route, deadlines, record failures)
 * say nothing of the channel and are left out, and so is `unknown` (no receipt came).
 */
export async function selectRecentOutcomes(
  db: Queryable,
  { scanIds, perChannel }: { scanIds: number; perChannel: number },
): Promise<ChannelOutcome[]> {
  const result = await db.query<{
    channel_id: string;
    status: string;
    receipted: boolean;
    sent_ms: string;
    done_ms: string;
    prefix: string;
  }>(
    `select c.id as channel_id, m.status, m.receipted, m.prefix, m.sent_ms, m.done_ms
       from channels c
       cross join lateral (
         select status, carrier_message_id is not null as receipted, left(recipient, 8) as prefix,
                (extract(epoch from coalesce(sent_at, done_at)) * 1000)::bigint as sent_ms,
                (extract(epoch from done_at) * 1000)::bigint as done_ms
           from messages
          where channel_id = c.id and id > (select coalesce(max(id), 0) from messages) - $1
            and done_at is not null
            and (status in ('delivered', 'undelivered', 'expired')
                 or (status = 'rejected' and (carrier_message_id is not null or error_code like 'smpp.%')))
          order by id desc
          limit $2
       ) m
      where c.enabled`,
    [scanIds, perChannel],
  );
  return result.rows.map((r) => {
    const sentAtMs = Number(r.sent_ms);
    const delivered = !r.receipted ? null : r.status === 'delivered';
    return {
      channelId: Number(r.channel_id),
      sentAtMs,
      delivered,
      prefix: r.prefix,
      latencyMs: delivered === null ? null : Number(r.done_ms) - sentAtMs,
    };
  });
}

export type ChannelEventKind =
  'degraded' | 'recovered' | 'all_degraded' | 'bind_lost' | 'bind_back' | 'lease_taken' | 'lease_released';

/** Advisory lock class of event writes ("He"), second key the channel id. */
const EVENT_LOCK_CLASS = 0x4865;

/**
 * Records a breaker switch unless the channel's last breaker event already says so: every node
 * runs the same breaker on the same rows, and the first to see the switch writes it.
 * The row's time is the instant the breaker switched on that node (`atMs`), not when the row was
 * written: routing follows the new state at once, and the write may wait behind a busy pool.
 * Returns whether this call wrote it.
 */
export async function recordBreakerSwitch(
  pool: pg.Pool,
  e: {
    channelId: number;
    kind: 'degraded' | 'recovered';
    reason: string;
    nodeId: string;
    rate: number | null;
    samples: number;
    atMs: number;
  },
): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1, $2::int)', [EVENT_LOCK_CLASS, e.channelId]);
    const result = await client.query(
      `insert into channel_events (channel_id, kind, reason, node_id, delivery_rate, samples, created_at)
       select $1, $2, $3, $4, $5, $6, to_timestamp($7::double precision / 1000)
        where coalesce((select kind from channel_events
                         where channel_id = $1 and kind in ('degraded', 'recovered')
                         order by id desc limit 1), 'recovered') <> $2`,
      [e.channelId, e.kind, e.reason, e.nodeId, e.rate, e.samples, e.atMs],
    );
    await client.query('commit');
    return (result.rowCount ?? 0) > 0;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Records an event of this node (bind lost or back, lease taken or released, all degraded). */
export async function recordChannelEvent(
  db: Queryable,
  e: {
    channelId: number;
    kind: ChannelEventKind;
    reason: string;
    nodeId: string | null;
    rate?: number | null;
  },
): Promise<void> {
  await db.query(
    `insert into channel_events (channel_id, kind, reason, node_id, delivery_rate) values ($1, $2, $3, $4, $5)`,
    [e.channelId, e.kind, e.reason, e.nodeId, e.rate ?? null],
  );
}

/** Each channel's last breaker event: a node that starts takes up the state the others judged. */
export async function selectLastBreakerEvents(
  db: Queryable,
): Promise<{ channelId: number; kind: 'degraded' | 'recovered'; atMs: number }[]> {
  const result = await db.query<{ channel_id: string; kind: 'degraded' | 'recovered'; at_ms: string }>(
    `select distinct on (channel_id) channel_id, kind, (extract(epoch from created_at) * 1000)::bigint as at_ms
       from channel_events where kind in ('degraded', 'recovered')
      order by channel_id, id desc`,
  );
  return result.rows.map((r) => ({ channelId: Number(r.channel_id), kind: r.kind, atMs: Number(r.at_ms) }));
}

export interface ChannelEventRow {
  id: number;
  channelId: number;
  kind: ChannelEventKind;
  reason: string;
  nodeId: string | null;
  deliveryRate: number | null;
  samples: number | null;
  createdAt: string;
}

export async function listChannelEvents(
  db: Queryable,
  {
    channelId,
    afterId,
    limit,
    newestFirst = false,
  }: { channelId: number | null; afterId: number; limit: number; newestFirst?: boolean },
): Promise<ChannelEventRow[]> {
  const result = await db.query<{
    id: string;
    channel_id: string;
    kind: ChannelEventKind;
    reason: string;
    node_id: string | null;
    delivery_rate: string | null;
    samples: number | null;
    created_at: Date;
  }>(
    `select id, channel_id, kind, reason, node_id, delivery_rate, samples, created_at from channel_events
      where ($1::bigint is null or channel_id = $1) and id > $2
      order by id ${newestFirst ? 'desc' : 'asc'} limit $3`,
    [channelId, afterId, limit],
  );
  return result.rows.map((r) => ({
    id: Number(r.id),
    channelId: Number(r.channel_id),
    kind: r.kind,
    reason: r.reason,
    nodeId: r.node_id,
    deliveryRate: r.delivery_rate === null ? null : Number(r.delivery_rate),
    samples: r.samples,
    createdAt: r.created_at.toISOString(),
  }));
}
