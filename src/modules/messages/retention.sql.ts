// SQL of the content retention sweep (src/modules/messages/retention.ts), one statement a function.
import type { Queryable } from '../accounts/audit.ts';
import { FINAL_STATUSES_SQL } from './messages.models.ts';

export interface RetentionCursor {
  tenantId: number;
  days: number;
  throughId: number;
}

export async function listRetentionCursors(db: Queryable, defaultDays: number): Promise<RetentionCursor[]> {
  const { rows } = await db.query<{ id: string; days: number; through: string }>(
    `select id, coalesce(content_retention_days, $1) as days, content_purged_through_id as through
       from tenants order by id`,
    [defaultDays],
  );
  return rows.map((r) => ({ tenantId: Number(r.id), days: Number(r.days), throughId: Number(r.through) }));
}

/**
 * Blanks the content of the next `limit` messages of a tenant after `afterId` that are final since
 * before `cutoff`, stopping at the first one that is not (still in flight, or final too recently):
 * the ids below it are done, and the sweep resumes there next time. Answers how many rows were
 * blanked and the id the tenant's cursor moves to (null: nothing to move).
 */
export async function purgeContentAfter(
  db: Queryable,
  { tenantId, afterId, cutoff, limit }: { tenantId: number; afterId: number; cutoff: Date; limit: number },
): Promise<{ purged: number; throughId: number | null }> {
  const { rows } = await db.query<{ purged: string; through: string | null }>(
    `with scanned as (
       select id, status in ${FINAL_STATUSES_SQL}
                  and coalesce(done_at, canceled_at) < $3 as old_final
         from messages where tenant_id = $1 and id > $2 order by id limit $4
     ), stop as (
       select min(id) as id from scanned where not coalesce(old_final, false)
     ), done as (
       select s.id from scanned s, stop where stop.id is null or s.id < stop.id
     ), purged as (
       update messages m set content = '' from done d where m.id = d.id and m.content <> '' returning m.id
     )
     select (select count(*) from purged) as purged, (select max(id) from done) as through`,
    [tenantId, afterId, cutoff, limit],
  );
  const row = rows[0]!;
  return { purged: Number(row.purged), throughId: row.through === null ? null : Number(row.through) };
}

export async function moveRetentionCursor(db: Queryable, tenantId: number, throughId: number) {
  await db.query(
    'update tenants set content_purged_through_id = greatest(content_purged_through_id, $2) where id = $1',
    [tenantId, throughId],
  );
}
