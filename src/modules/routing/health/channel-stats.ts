// What an operator sees of each channel (issue 10, visibility): the state of each bind and the
// node holding it, what it submitted and at what rate, how it ended (delivered, undelivered,
// unknown), its rolling delivery rate overall and per carrier, its breaker state, receipt latency
// p50/p95 and cost. Read from PostgreSQL, so any node (an `api` node too) answers the same.
import type pg from 'pg';
import { carrierOfSegment } from '../routing.models.ts';
import { ratesOf } from './health.models.ts';
import { type ChannelOutcome, selectLastBreakerEvents, selectRecentOutcomes } from './health.sql.ts';
import { HEALTH_SCAN_IDS, HEALTH_WINDOW } from './health.monitor.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export interface ChannelStats {
  channelId: number;
  name: string;
  enabled: boolean;
  binds: { slot: number; nodeId: string; expiresAt: string }[];
  bindLimit: number;
  breaker: 'healthy' | 'degraded';
  breakerSince: string | null;
  /** Over the last `scannedMessages` messages of the platform. */
  submitted: number;
  submittedLastMinute: number;
  delivered: number;
  undelivered: number;
  unknown: number;
  /** Delivered ÷ final receipts over the channel's newest HEALTH_WINDOW final messages. */
  deliveryRate: number | null;
  submitErrorRate: number | null;
  byCarrier: { carrier: string; deliveryRate: number | null; receipts: number }[];
  receiptLatencyP50Ms: number | null;
  receiptLatencyP95Ms: number | null;
  partsSent: number;
  /** parts sent × cost per part, as a decimal string in the channel's currency. */
  cost: string;
  currency: string;
  scannedMessages: number;
}

function carrierOfPrefix(prefix: string): string {
  if (!prefix.startsWith('+86')) return 'intl';
  return carrierOfSegment(prefix.slice(3))?.carrier ?? 'unknown';
}

/** Per-carrier rates of a channel's recent outcomes (the carrier from the number segment). */
export function ratesByCarrier(outcomes: readonly ChannelOutcome[]) {
  const groups = new Map<string, ChannelOutcome[]>();
  for (const o of outcomes) {
    const c = carrierOfPrefix(o.prefix);
    const list = groups.get(c);
    if (list) list.push(o);
    else groups.set(c, [o]);
  }
  return [...groups]
    .map(([carrier, list]) => {
      const r = ratesOf(list);
      return { carrier, deliveryRate: r.deliveryRate, receipts: r.receipts };
    })
    .sort((a, b) => a.carrier.localeCompare(b.carrier));
}

/** Exact decimal product of a part count and a numeric(12,5) cost, without floating point. */
export function costOf(parts: number, costPerPart: string): string {
  const [whole = '0', frac = ''] = costPerPart.split('.');
  const scaled = BigInt(whole + frac.padEnd(5, '0').slice(0, 5)) * BigInt(parts);
  const s = scaled.toString().padStart(6, '0');
  return `${s.slice(0, -5)}.${s.slice(-5)}`;
}

export async function channelStats(
  db: Queryable,
  { scanIds = HEALTH_SCAN_IDS } = {},
): Promise<ChannelStats[]> {
  const [channels, leases, counts, outcomes, breakers] = await Promise.all([
    db.query<{
      id: string;
      name: string;
      enabled: boolean;
      binds: number;
      cost_per_part: string;
      cost_currency: string;
    }>('select id, name, enabled, binds, cost_per_part, cost_currency from channels order by id'),
    db.query<{ channel_id: string; slot: number; node_id: string; expires_at: Date }>(
      'select channel_id, slot, node_id, expires_at from channel_bind_leases where expires_at > now() order by channel_id, slot',
    ),
    db.query<{
      channel_id: string;
      submitted: string;
      last_minute: string;
      delivered: string;
      undelivered: string;
      unknown: string;
      parts: string | null;
      p50: number | null;
      p95: number | null;
    }>(
      `select channel_id,
              count(*) filter (where sent_at is not null) as submitted,
              count(*) filter (where sent_at > now() - interval '60 seconds') as last_minute,
              count(*) filter (where status = 'delivered') as delivered,
              count(*) filter (where status in ('undelivered', 'expired')
                                  or (status = 'rejected' and carrier_message_id is not null)) as undelivered,
              count(*) filter (where status = 'unknown') as unknown,
              sum(parts) filter (where sent_at is not null) as parts,
              percentile_cont(0.5) within group (order by extract(epoch from done_at - sent_at) * 1000)
                filter (where status in ('delivered', 'undelivered', 'expired') and sent_at is not null) as p50,
              percentile_cont(0.95) within group (order by extract(epoch from done_at - sent_at) * 1000)
                filter (where status in ('delivered', 'undelivered', 'expired') and sent_at is not null) as p95
         from messages
        where id > (select coalesce(max(id), 0) from messages) - $1 and channel_id is not null
        group by channel_id`,
      [scanIds],
    ),
    selectRecentOutcomes(db, { scanIds, perChannel: HEALTH_WINDOW }),
    selectLastBreakerEvents(db),
  ]);
  const countsOf = new Map(counts.rows.map((r) => [Number(r.channel_id), r]));
  const breakerOf = new Map(breakers.map((b) => [b.channelId, b]));
  return channels.rows.map((c) => {
    const id = Number(c.id);
    const n = countsOf.get(id);
    const mine = outcomes.filter((o) => o.channelId === id);
    const r = ratesOf(mine);
    const b = breakerOf.get(id);
    const parts = Number(n?.parts ?? 0);
    return {
      channelId: id,
      name: c.name,
      enabled: c.enabled,
      binds: leases.rows
        .filter((l) => Number(l.channel_id) === id)
        .map((l) => ({ slot: l.slot, nodeId: l.node_id, expiresAt: l.expires_at.toISOString() })),
      bindLimit: c.binds,
      breaker: b?.kind === 'degraded' ? 'degraded' : 'healthy',
      breakerSince: b ? new Date(b.atMs).toISOString() : null,
      submitted: Number(n?.submitted ?? 0),
      submittedLastMinute: Number(n?.last_minute ?? 0),
      delivered: Number(n?.delivered ?? 0),
      undelivered: Number(n?.undelivered ?? 0),
      unknown: Number(n?.unknown ?? 0),
      deliveryRate: r.deliveryRate,
      submitErrorRate: r.submitErrorRate,
      byCarrier: ratesByCarrier(mine),
      receiptLatencyP50Ms: n?.p50 == null ? null : Math.round(n.p50),
      receiptLatencyP95Ms: n?.p95 == null ? null : Math.round(n.p95),
      partsSent: parts,
      cost: costOf(parts, c.cost_per_part),
      currency: c.cost_currency,
      scannedMessages: scanIds,
    };
  });
}
