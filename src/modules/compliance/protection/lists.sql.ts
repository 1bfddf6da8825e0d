// Statements of the recipient lists' routes. Table names come from the fixed ListKind constants
// (lists.models.ts), never from a request.
import type pg from 'pg';
import type { ImportEntry, ListKind, ListReason } from './lists.models.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface ListEntryRow {
  phone: string;
  reason: ListReason | null;
  note: string | null;
  source: string | null;
  signature_id: string | null;
  created_at: Date;
}

function columns(kind: ListKind): string {
  const reason = kind.reason ? 'reason' : 'null::text as reason';
  const note = kind.table === 'opt_outs' ? 'null::text as note' : 'note';
  const source = kind.table === 'opt_outs' ? 'source' : 'null::text as source';
  const signature = kind.table === 'opt_outs' ? 'signature_id' : 'null::bigint as signature_id';
  return `phone, ${reason}, ${note}, ${source}, ${signature}, created_at`;
}

/** $1 is the tenant for a tenant list; other parameters follow. */
const scope = (kind: ListKind) => (kind.tenant ? 'tenant_id = $1' : '$1::bigint is null');

export async function listEntries(
  db: Queryable,
  kind: ListKind,
  {
    tenantId,
    after,
    phone,
    limit,
  }: { tenantId: number | null; after?: string; phone?: string; limit: number },
): Promise<ListEntryRow[]> {
  const result = await db.query<ListEntryRow>(
    `select ${columns(kind)} from ${kind.table}
      where ${scope(kind)} and ($2::text is null or phone > $2) and ($3::text is null or phone = $3)
      order by phone limit $4`,
    [tenantId, after ?? null, phone ?? null, limit],
  );
  return result.rows;
}

export async function addEntry(
  db: Queryable,
  kind: ListKind,
  {
    tenantId,
    entry,
    source,
    now,
  }: { tenantId: number | null; entry: ImportEntry; source: 'api' | 'import'; now: Date },
): Promise<ListEntryRow> {
  await bulkAddEntries(db, kind, { tenantId, entries: [entry], source, now, replace: true });
  return (await listEntries(db, kind, { tenantId, phone: entry.phone, limit: 1 }))[0]!;
}

/**
 * Adds entries in chunks of one statement each (one transaction is the caller's). `replace`
 * overwrites an existing entry's reason and note; an import leaves existing entries as they are.
 * Answers how many were new.
 */
export async function bulkAddEntries(
  db: Queryable,
  kind: ListKind,
  {
    tenantId,
    entries,
    source,
    now,
    replace = false,
  }: {
    tenantId: number | null;
    entries: readonly ImportEntry[];
    source: 'api' | 'import';
    now: Date;
    replace?: boolean;
  },
): Promise<number> {
  let added = 0;
  const CHUNK = 50_000;
  for (let i = 0; i < entries.length; i += CHUNK) {
    const chunk = entries.slice(i, i + CHUNK);
    const phones = chunk.map((e) => e.phone);
    let sql: string;
    let params: unknown[];
    if (kind.table === 'opt_outs') {
      sql = `insert into opt_outs (tenant_id, phone, source, created_at)
             select $1, p, $3, $4 from unnest($2::text[]) as p
             on conflict (tenant_id, phone) do nothing`;
      params = [tenantId, phones, source, now];
    } else if (kind.table === 'tenant_allowlist') {
      sql = `insert into tenant_allowlist (tenant_id, phone, note, created_at)
             select $1, p, n, $4 from unnest($2::text[], $3::text[]) as u(p, n)
             on conflict (tenant_id, phone) do ${replace ? 'update set note = excluded.note' : 'nothing'}`;
      params = [tenantId, phones, chunk.map((e) => e.note), now];
    } else {
      const tenantColumn = kind.tenant ? 'tenant_id, ' : '';
      const tenantValue = kind.tenant ? '$1, ' : '';
      const conflict = kind.tenant ? '(tenant_id, phone)' : '(phone)';
      sql = `insert into ${kind.table} (${tenantColumn}phone, reason, note, created_at)
             select ${tenantValue}p, r, n, $5 from unnest($2::text[], $3::text[], $4::text[]) as u(p, r, n)
              where $1::bigint is not distinct from $1::bigint
             on conflict ${conflict} do ${replace ? 'update set reason = excluded.reason, note = excluded.note' : 'nothing'}`;
      params = [tenantId, phones, chunk.map((e) => e.reason), chunk.map((e) => e.note), now];
    }
    const result = await db.query(sql, params);
    added += result.rowCount ?? 0;
  }
  return added;
}

export async function removeEntry(
  db: Queryable,
  kind: ListKind,
  { tenantId, phone }: { tenantId: number | null; phone: string },
): Promise<boolean> {
  const result = await db.query(`delete from ${kind.table} where ${scope(kind)} and phone = $2`, [
    tenantId,
    phone,
  ]);
  return (result.rowCount ?? 0) > 0;
}

/** A removal of an opt-out is an opt-in: recorded with the events that count repeated opt-outs. */
export async function recordOptIn(
  db: Queryable,
  { tenantId, phone, now }: { tenantId: number; phone: string; now: Date },
) {
  await db.query(`insert into opt_out_events (tenant_id, phone, action, at) values ($1, $2, 'in', $3)`, [
    tenantId,
    phone,
    now,
  ]);
}
