// The reads of the vendor-compatible APIs: messages by recipient and day, by batch, counts per
// day, and Tencent's pull of final statuses (compat_status_pulls, migration 0024).
import type pg from 'pg';
import { FINAL_STATUSES_SQL } from '../messages/messages.models.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export interface CompatMessageRow {
  /** bigint: a number or a string, by the pool's type parsers; String() it before answering. */
  id: string | number;
  batch_id: string | null;
  recipient: string;
  type: string;
  content: string;
  status: string;
  parts: number;
  template_id: string | null;
  client_ref: string | null;
  error_code: string | null;
  error_detail: string | null;
  created_at: Date;
  sent_at: Date | null;
  done_at: Date | null;
  updated_at: Date;
}

const COLUMNS = `id, batch_id, recipient, type, content, status, parts, template_id, client_ref, error_code,
  error_detail, created_at, sent_at, done_at, updated_at`;

/** A tenant's messages to one number created in [from, to), newest first, optionally of one batch. */
export async function findMessagesToRecipient(
  db: Queryable,
  q: {
    tenantId: number;
    recipient: string;
    from: Date;
    to: Date;
    batchId: number | null;
    limit: number;
    offset: number;
  },
): Promise<{ rows: CompatMessageRow[]; total: number }> {
  const { rows } = await db.query<CompatMessageRow & { total: string }>(
    `select ${COLUMNS}, count(*) over () as total
       from messages
      where tenant_id = $1 and recipient = $2 and created_at >= $3 and created_at < $4
        and ($5::bigint is null or batch_id = $5)
      order by id desc limit $6 offset $7`,
    [q.tenantId, q.recipient, q.from, q.to, q.batchId, q.limit, q.offset],
  );
  return { rows, total: rows.length > 0 ? Number(rows[0]!.total) : 0 };
}

export async function findMessage(
  db: Queryable,
  tenantId: number,
  id: number,
): Promise<CompatMessageRow | null> {
  const { rows } = await db.query<CompatMessageRow>(
    `select ${COLUMNS} from messages where tenant_id = $1 and id = $2`,
    [tenantId, id],
  );
  return rows[0] ?? null;
}

/** A page of a tenant's messages, newest first, optionally to one number, before an id. */
export async function listTenantMessages(
  db: Queryable,
  q: { tenantId: number; recipient: string | null; beforeId: number | null; limit: number },
): Promise<CompatMessageRow[]> {
  const { rows } = await db.query<CompatMessageRow>(
    `select ${COLUMNS} from messages
      where tenant_id = $1 and ($2::text is null or recipient = $2) and ($3::bigint is null or id < $3)
      order by id desc limit $4`,
    [q.tenantId, q.recipient, q.beforeId, q.limit],
  );
  return rows;
}

/** Per day (in `timeZone`) of [from, to): messages, delivered, failed, and not final yet. */
export async function countMessagesPerDay(
  db: Queryable,
  q: { tenantId: number; from: Date; to: Date; timeZone: string },
): Promise<{ day: string; total: number; delivered: number; failed: number; pending: number }[]> {
  const { rows } = await db.query<{ day: string; total: string; delivered: string; failed: string }>(
    `select to_char(created_at at time zone $4, 'YYYYMMDD') as day, count(*) as total,
            count(*) filter (where status = 'delivered') as delivered,
            count(*) filter (where status in ('undelivered', 'expired', 'rejected', 'failed', 'unknown', 'canceled')) as failed
       from messages
      where tenant_id = $1 and created_at >= $2 and created_at < $3
      group by 1 order by 1`,
    [q.tenantId, q.from, q.to, q.timeZone],
  );
  return rows.map((r) => {
    const total = Number(r.total);
    const delivered = Number(r.delivered);
    const failed = Number(r.failed);
    return { day: r.day, total, delivered, failed, pending: total - delivered - failed };
  });
}

/**
 * Up to `limit` final statuses not handed out before, among the tenant's latest `window`
 * messages, marked as handed out in the same statement (two pulls at once never get the same).
 */
export async function pullFinalStatuses(
  db: Queryable,
  q: { tenantId: number; limit: number; window: number },
): Promise<CompatMessageRow[]> {
  const { rows } = await db.query<CompatMessageRow>(
    `with recent as (
       select ${COLUMNS} from messages where tenant_id = $1 order by id desc limit $3
     ), due as (
       select r.* from recent r
        where r.status in ${FINAL_STATUSES_SQL}
          and not exists (select from compat_status_pulls p where p.message_id = r.id)
        order by r.id limit $2
     ), marked as (
       insert into compat_status_pulls (message_id, tenant_id)
       select id, $1 from due on conflict do nothing returning message_id
     )
     select d.* from due d join marked m on m.message_id = d.id order by d.id`,
    [q.tenantId, q.limit, q.window],
  );
  return rows;
}
