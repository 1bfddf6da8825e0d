// The one statement behind usage statements: messages of a date range counted at the finest grain
// (day, type, signature, channel, destination), which the use case folds into the grouping asked.
// Quota figures come from the ledger (part A's billing_ledger, by message), not from re-rating:
// a statement says what was charged, even if prices changed since.
// One pass over the tenant's messages of the range through messages_tenant_created's tenant_id
// prefix (operators without a tenant scan the range of all tenants).
import type { Queryable } from '../../accounts/audit.ts';

/** Days of statements are calendar days in China's time (the platform's users; no DST). */
export const STATEMENT_TIME_ZONE = 'Asia/Shanghai';

/** An international destination with no price row of its own country. */
export const OTHER_COUNTRY = 'other';

export interface UsageRow {
  day: string;
  type: 'verification' | 'notification' | 'marketing';
  signature_id: number | null;
  signature: string | null;
  channel_id: number | null;
  channel: string | null;
  /** Cost per part of the channel, decimal text; null when the message had no channel. */
  channel_cost: string | null;
  /** null for domestic; the price table's calling code, or OTHER_COUNTRY. */
  country_code: string | null;
  messages: number;
  parts: number;
  parts_sent: number;
  parts_delivered: number;
  parts_failed: number;
  /** Quota parts reserved at acceptance (the ledger's reserve rows). */
  charged: number;
  /** Quota parts given back: refunded on a final failure or released (canceled, refused by review). */
  refunded: number;
}

export const FAILED_STATUSES = ['undelivered', 'rejected', 'failed', 'expired'] as const;

export async function readUsage(
  db: Queryable,
  {
    tenantId,
    from,
    to,
    domesticCountryCode,
  }: { tenantId: number | null; from: string; to: string; domesticCountryCode: string },
): Promise<UsageRow[]> {
  const { rows } = await db.query<UsageRow>(
    `with m as (
       select m.created_at, m.type, m.signature_id, m.channel_id, m.parts, m.status, m.sent_at,
              l.charged, l.refunded,
              case when m.recipient like '+' || $4 || '%' then null
                   else coalesce((select p.country_code from billing_prices p
                                   where p.destination = 'international' and p.country_code is not null
                                     and m.recipient like '+' || p.country_code || '%'
                                   order by length(p.country_code) desc limit 1), '${OTHER_COUNTRY}')
              end as country_code
         from messages m
         -- The message's ledger rows (at most one reserve, capture, refund or release each).
         cross join lateral (
           select coalesce(sum(b.units) filter (where b.kind = 'reserve'), 0) as charged,
                  coalesce(sum(b.units) filter (where b.kind in ('refund', 'release')), 0) as refunded
             from billing_ledger b where b.message_id = m.id) l
        where ($1::bigint is null or m.tenant_id = $1)
          and m.created_at >= ($2::date)::timestamp at time zone '${STATEMENT_TIME_ZONE}'
          and m.created_at < ($3::date + 1)::timestamp at time zone '${STATEMENT_TIME_ZONE}'
     )
     select to_char((m.created_at at time zone '${STATEMENT_TIME_ZONE}')::date, 'YYYY-MM-DD') as day,
            m.type, m.signature_id, s.name as signature, m.channel_id, c.name as channel,
            c.cost_per_part::text as channel_cost, m.country_code,
            count(*)::int as messages,
            sum(m.parts)::int as parts,
            coalesce(sum(m.parts) filter (where m.sent_at is not null), 0)::int as parts_sent,
            coalesce(sum(m.parts) filter (where m.status = 'delivered'), 0)::int as parts_delivered,
            coalesce(sum(m.parts) filter (where m.status = any($5::text[])), 0)::int as parts_failed,
            sum(m.charged)::int as charged,
            sum(m.refunded)::int as refunded
       from m
       left join signatures s on s.id = m.signature_id
       left join channels c on c.id = m.channel_id
      group by 1, 2, 3, 4, 5, 6, 7, 8
      order by 1, 2, 3, 5, 8`,
    [tenantId, from, to, domesticCountryCode, FAILED_STATUSES],
  );
  return rows;
}
