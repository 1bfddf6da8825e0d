// Campaign reports: per run, the funnel (audience → accepted → sent → delivered → clicked →
// opted out), replies and cost; per campaign, the same by carrier and by hour. Each figure is one
// aggregate over the run's own rows (its recipients, its batches' messages through
// messages_batch, its short links), never a scan of the tenant's messages.
import type pg from 'pg';
import { carrierOfSegment } from '../routing/routing.models.ts';
import { DEFAULT_TIME_ZONE, type VariantResult } from './campaigns.models.ts';
import type { RunRow } from './campaigns.sql.ts';

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface Funnel {
  audience: number;
  duplicates: number;
  accepted: number;
  rejected: number;
  sent: number;
  delivered: number;
  failed: number;
  clicked: number;
  clicks: number;
  opted_out: number;
  replies: number;
  cost_parts: number;
}

const FAILED = `('undelivered', 'expired', 'rejected', 'failed')`;

/** The funnel of one run. `opted_out`: its admitted recipients who opted out after the run began. */
export async function runFunnel(db: Queryable, run: RunRow): Promise<Funnel> {
  const { rows } = await db.query<Omit<Funnel, 'audience' | 'duplicates' | 'accepted' | 'rejected'>>(
    `with m as (
       select m.id, m.recipient, m.status, m.sent_at from messages m
        where m.batch_id in (select batch_id from campaign_run_batches where run_id = $1)),
     l as (select id, message_id from short_links where run_id = $1)
     select
       (select count(*)::int from m where sent_at is not null) as sent,
       (select count(*)::int from m where status = 'delivered') as delivered,
       (select count(*)::int from m where status in ${FAILED}) as failed,
       (select count(distinct l.message_id)::int from l where exists (select 1 from short_link_clicks c where c.link_id = l.id)) as clicked,
       (select count(*)::int from short_link_clicks c where c.link_id in (select id from l)) as clicks,
       (select count(*)::int from m where exists (select 1 from opt_outs o
          where o.tenant_id = $2 and o.phone = m.recipient and o.created_at >= $3)) as opted_out,
       (select count(*)::int from inbound_messages i where i.tenant_id = $2 and i.received_at >= $3
          and i.sender in (select recipient from m)) as replies,
       (select coalesce(sum(case when b.kind = 'reserve' then b.units else -b.units end), 0)::int
          from billing_ledger b where b.message_id in (select id from m) and b.kind in ('reserve', 'refund', 'release')) as cost_parts`,
    [run.id, run.tenant_id, run.created_at],
  );
  return {
    audience: run.audience,
    duplicates: run.duplicates,
    accepted: run.accepted,
    rejected: run.rejected,
    ...rows[0]!,
  };
}

/** Per variant of an A/B test: its admitted recipients, delivered, clicked and opted out. */
export async function variantResults(
  db: Queryable,
  run: RunRow,
  names: readonly string[],
): Promise<VariantResult[]> {
  const { rows } = await db.query<VariantResult>(
    `select r.variant as name,
            count(*)::int as recipients,
            count(*) filter (where m.status = 'delivered')::int as delivered,
            count(*) filter (where exists (select 1 from short_links l join short_link_clicks c on c.link_id = l.id
                                          where l.message_id = r.message_id))::int as clicked,
            count(*) filter (where exists (select 1 from opt_outs o where o.tenant_id = $2 and o.phone = r.phone
                                          and o.created_at >= $3))::int as opted_out
       from campaign_run_recipients r join messages m on m.id = r.message_id
      where r.run_id = $1 and r.variant is not null and r.message_id is not null
      group by r.variant`,
    [run.id, run.tenant_id, run.created_at],
  );
  const byName = new Map(rows.map((r) => [r.name, r]));
  return names.map(
    (name) => byName.get(name) ?? { name, recipients: 0, delivered: 0, clicked: 0, opted_out: 0 },
  );
}

export interface Breakdown {
  key: string;
  messages: number;
  sent: number;
  delivered: number;
  failed: number;
}

/** A campaign's messages by carrier (from the number's segment) and by hour sent (time zone given). */
export async function campaignBreakdowns(db: Queryable, campaignId: number, timeZone = DEFAULT_TIME_ZONE) {
  const source = `messages m where m.batch_id in (select b.batch_id from campaign_run_batches b
                   join campaign_runs r on r.id = b.run_id where r.campaign_id = $1)`;
  const counts = `count(*)::int as messages, count(*) filter (where m.sent_at is not null)::int as sent,
                  count(*) filter (where m.status = 'delivered')::int as delivered,
                  count(*) filter (where m.status in ${FAILED})::int as failed`;
  // Grouped by the number's first digits in SQL (a few hundred groups), named in the process.
  const bySegment = await db.query<Breakdown>(
    `select case when m.recipient like '+86%' then substr(m.recipient, 4, 5) else 'intl' end as key, ${counts}
       from ${source} group by 1`,
    [campaignId],
  );
  const carriers = new Map<string, Breakdown>();
  for (const row of bySegment.rows) {
    const carrier = row.key === 'intl' ? 'intl' : (carrierOfSegment(row.key)?.carrier ?? 'unknown');
    const into = carriers.get(carrier) ?? { key: carrier, messages: 0, sent: 0, delivered: 0, failed: 0 };
    for (const f of ['messages', 'sent', 'delivered', 'failed'] as const) into[f] += row[f];
    carriers.set(carrier, into);
  }
  const byHour = await db.query<Breakdown>(
    `select to_char(date_trunc('hour', m.sent_at at time zone $2), 'YYYY-MM-DD"T"HH24:00') as key, ${counts}
       from ${source} and m.sent_at is not null group by 1 order by 1`,
    [campaignId, timeZone],
  );
  return {
    by_carrier: [...carriers.values()].sort((a, b) => b.messages - a.messages),
    by_hour: byHour.rows,
  };
}

export const FUNNEL_COLUMNS = [
  'audience',
  'duplicates',
  'accepted',
  'rejected',
  'sent',
  'delivered',
  'failed',
  'clicked',
  'clicks',
  'opted_out',
  'replies',
  'cost_parts',
] as const;

/** Sums funnels (a campaign's total over its runs). */
export function sumFunnels(funnels: readonly Funnel[]): Funnel {
  const total = Object.fromEntries(FUNNEL_COLUMNS.map((k) => [k, 0])) as unknown as Funnel;
  for (const f of funnels) for (const k of FUNNEL_COLUMNS) total[k] += f[k];
  return total;
}
