// The daily statistics table (migration 0027), kept by a periodic job from cursors instead of
// scanning `messages`. Each pass, in one transaction holding the cursor row:
//   - walks messages by id past `message_cursor` (up to `batch` rows): a final one is counted on
//     the day it was created; one not final yet is remembered in daily_stats_open;
//   - takes remembered messages that became final since, counts them and forgets them;
//   - adds clicks and opt-outs past their own cursors.
// A message is counted exactly once: its count and the cursor (or its open row's removal) commit
// together. Rows younger than `lagMs` are left for a later pass: an id is drawn before its insert
// commits, so a slow transaction can commit a smaller id after a larger one was seen.
import type pg from 'pg';
import { withTransaction } from '../../db/pool.ts';
import { FINAL_STATUSES } from '../messages/messages.models.ts';
import { DEFAULT_TIME_ZONE } from './campaigns.models.ts';

const FINAL = [...FINAL_STATUSES];

export interface StatsPassResult {
  counted: number;
  opened: number;
  clicks: number;
  optOuts: number;
}

export async function runDailyStatsPass({
  pool,
  now,
  batch = 5000,
  lagMs = 60_000,
  timeZone = DEFAULT_TIME_ZONE,
}: {
  pool: pg.Pool;
  now: Date;
  batch?: number;
  lagMs?: number;
  timeZone?: string;
}): Promise<StatsPassResult | null> {
  return withTransaction(pool, async (client) => {
    const cursor = await client.query<{
      message_cursor: string;
      click_cursor: string;
      opt_out_cursor: string;
    }>('select message_cursor, click_cursor, opt_out_cursor from daily_stats_cursor for update skip locked');
    const at = cursor.rows[0];
    if (at === undefined) return null; // another node is on it
    const settled = new Date(now.getTime() - lagMs);
    const walked = await client.query<{ id: string; final: boolean }>(
      `select id, status = any($4::text[]) as final from messages
        where id > $1 and created_at < $2 order by id limit $3`,
      [at.message_cursor, settled, batch, FINAL],
    );
    const finals = walked.rows.filter((r) => r.final).map((r) => r.id);
    const open = walked.rows.filter((r) => !r.final).map((r) => r.id);
    if (open.length > 0)
      await client.query('insert into daily_stats_open select unnest($1::bigint[]) on conflict do nothing', [
        open,
      ]);
    const closed = await client.query<{ message_id: string }>(
      `delete from daily_stats_open o using messages m
        where m.id = o.message_id and m.status = any($1::text[])
          and o.message_id in (select message_id from daily_stats_open order by message_id limit $2)
        returning o.message_id`,
      [FINAL, batch],
    );
    const counted = [...finals, ...closed.rows.map((r) => r.message_id)];
    if (counted.length > 0) {
      await client.query(
        `insert into daily_stats as d (tenant_id, day, type, messages, parts, sent, delivered, failed, unknown, canceled)
         select tenant_id, (created_at at time zone $2)::date, type, count(*), sum(parts),
                count(*) filter (where sent_at is not null),
                count(*) filter (where status = 'delivered'),
                count(*) filter (where status in ('undelivered', 'expired', 'rejected', 'failed')),
                count(*) filter (where status = 'unknown'),
                count(*) filter (where status = 'canceled')
           from messages where id = any($1::bigint[]) group by 1, 2, 3
         on conflict (tenant_id, day, type) do update set
           messages = d.messages + excluded.messages, parts = d.parts + excluded.parts, sent = d.sent + excluded.sent,
           delivered = d.delivered + excluded.delivered, failed = d.failed + excluded.failed,
           unknown = d.unknown + excluded.unknown, canceled = d.canceled + excluded.canceled`,
        [counted, timeZone],
      );
    }
    const clicks = await addEvents(client, {
      table: 'short_link_clicks',
      column: 'clicks',
      cursor: at.click_cursor,
      where: 'true',
      settled,
      batch,
      timeZone,
    });
    const optOuts = await addEvents(client, {
      table: 'opt_out_events',
      column: 'opt_outs',
      cursor: at.opt_out_cursor,
      where: `action = 'out'`,
      settled,
      batch,
      timeZone,
    });
    const lastWalked = walked.rows.at(-1)?.id ?? at.message_cursor;
    await client.query(
      `update daily_stats_cursor set message_cursor = $1, click_cursor = $2, opt_out_cursor = $3, updated_at = $4`,
      [lastWalked, clicks.cursor, optOuts.cursor, now],
    );
    return { counted: counted.length, opened: open.length, clicks: clicks.count, optOuts: optOuts.count };
  });
}

/** Clicks or opt-outs past a cursor, added to their day (type '*': not per message type). */
async function addEvents(
  client: pg.PoolClient,
  e: {
    table: string;
    column: string;
    cursor: string;
    where: string;
    settled: Date;
    batch: number;
    timeZone: string;
  },
): Promise<{ cursor: string; count: number }> {
  const { rows } = await client.query<{ last: string | null; n: number }>(
    `with e as (select id, tenant_id, at from ${e.table} where id > $1 and at < $2 and ${e.where} order by id limit $3),
          added as (
            insert into daily_stats as d (tenant_id, day, type, ${e.column})
            select tenant_id, (at at time zone $4)::date, '*', count(*) from e group by 1, 2
            on conflict (tenant_id, day, type) do update set ${e.column} = d.${e.column} + excluded.${e.column})
     select max(id)::text as last, count(*)::int as n from e`,
    [e.cursor, e.settled, e.batch, e.timeZone],
  );
  return { cursor: rows[0]!.last ?? e.cursor, count: rows[0]!.n };
}

/** The tenant's days between `from` and `to` (inclusive), all types summed, with each type's part. */
export async function readDailyStats(
  pool: Pick<pg.Pool, 'query'>,
  { tenantId, from, to }: { tenantId: number; from: string; to: string },
) {
  const { rows } = await pool.query<{
    day: string;
    type: string;
    messages: number;
    parts: number;
    sent: number;
    delivered: number;
    failed: number;
    unknown: number;
    canceled: number;
    clicks: number;
    opt_outs: number;
  }>(
    `select to_char(day, 'YYYY-MM-DD') as day, type, messages, parts, sent, delivered, failed, unknown, canceled, clicks, opt_outs
       from daily_stats where tenant_id = $1 and day between $2::date and $3::date order by day, type`,
    [tenantId, from, to],
  );
  const days = new Map<string, Record<string, unknown> & { by_type: Record<string, unknown> }>();
  const fields = [
    'messages',
    'parts',
    'sent',
    'delivered',
    'failed',
    'unknown',
    'canceled',
    'clicks',
    'opt_outs',
  ] as const;
  for (const r of rows) {
    const day =
      days.get(r.day) ??
      days
        .set(r.day, { day: r.day, ...Object.fromEntries(fields.map((f) => [f, 0])), by_type: {} })
        .get(r.day)!;
    for (const f of fields)
      (day as Record<string, number>)[f] = ((day as Record<string, number>)[f] ?? 0) + r[f];
    if (r.type !== '*')
      day.by_type[r.type] = {
        messages: r.messages,
        parts: r.parts,
        delivered: r.delivered,
        failed: r.failed,
      };
  }
  return [...days.values()];
}

const PLATFORM_FIELDS = ['messages', 'parts', 'delivered', 'failed', 'unknown', 'canceled'] as const;
type PlatformCounts = Record<(typeof PLATFORM_FIELDS)[number], number> & { delivery_rate: number | null };

/** Delivered of the messages that have an outcome (delivered, failed or unknown); null for none. */
function withRate(r: Record<(typeof PLATFORM_FIELDS)[number], number>): PlatformCounts {
  const judged = r.delivered + r.failed + r.unknown;
  return { ...r, delivery_rate: judged === 0 ? null : r.delivered / judged };
}

/**
 * The whole platform's daily statistics for the operator, from the same table: each day's totals
 * and each tenant's totals over the range, busiest first, each with its delivery rate.
 */
export async function readPlatformStats(
  pool: Pick<pg.Pool, 'query'>,
  { from, to }: { from: string; to: string },
) {
  const sums = PLATFORM_FIELDS.map((f) => `sum(${f})::int as ${f}`).join(', ');
  const days = await pool.query<{ day: string } & Record<(typeof PLATFORM_FIELDS)[number], number>>(
    `select to_char(day, 'YYYY-MM-DD') as day, ${sums}
       from daily_stats where day between $1::date and $2::date group by day order by day`,
    [from, to],
  );
  const tenants = await pool.query<
    { tenant_id: string; tenant_name: string | null } & Record<(typeof PLATFORM_FIELDS)[number], number>
  >(
    `select s.tenant_id, t.name as tenant_name, ${PLATFORM_FIELDS.map((f) => `sum(s.${f})::int as ${f}`).join(', ')}
       from daily_stats s left join tenants t on t.id = s.tenant_id
      where s.day between $1::date and $2::date
      group by s.tenant_id, t.name order by messages desc, s.tenant_id`,
    [from, to],
  );
  return {
    days: days.rows.map(({ day, ...r }) => ({ day, ...withRate(r) })),
    tenants: tenants.rows.map(({ tenant_id, tenant_name, ...r }) => ({
      tenant_id: Number(tenant_id),
      tenant_name: tenant_name ?? '',
      ...withRate(r),
    })),
  };
}
