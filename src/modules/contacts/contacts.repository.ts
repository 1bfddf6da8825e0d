// Contacts, groups and segments as the API and the campaigns module read and change them. Every
// statement names the tenant: a row of another tenant is never found. Protection marks
// (opted out, blacklisted) are read from the compliance lists (migration 0018) at query time, so
// a contact stays visible and marked, and is never copied out of those lists.
import type pg from 'pg';
import { groupNotFound, segmentNotFound } from './contacts.errors.ts';
import type { SegmentFilter } from './contacts.models.ts';
import { segmentFilterSql } from './contacts.models.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export interface ContactRow {
  id: number;
  tenant_id: number;
  phone: string;
  name: string;
  fields: Record<string, string>;
  tags: string[];
  created_at: Date;
  updated_at: Date;
  last_engaged_at: Date | null;
  opted_out: boolean;
  blacklisted: boolean;
}

export interface AudienceMember {
  contactId: number;
  phone: string;
  name: string;
  fields: Record<string, string>;
}

export interface AudienceSpec {
  groupIds?: readonly number[];
  segmentIds?: readonly number[];
  /** Leave out opted-out and blacklisted contacts (marketing). Default true. */
  excludeProtected?: boolean;
  /** Contacts per yielded chunk. Default 1,000. */
  chunkSize?: number;
  now?: Date;
}

/** The protection marks of contacts row `c`, as two boolean columns. */
export const PROTECTION_MARKS = `
  exists (select 1 from opt_outs o where o.tenant_id = c.tenant_id and o.phone = c.phone) as opted_out,
  (exists (select 1 from tenant_blacklist b where b.tenant_id = c.tenant_id and b.phone = c.phone)
   or exists (select 1 from platform_blacklist p where p.phone = c.phone)) as blacklisted`;

/** A predicate true when contacts row `c` may receive marketing. */
export const NOT_PROTECTED = `
  not exists (select 1 from opt_outs o where o.tenant_id = c.tenant_id and o.phone = c.phone)
  and not exists (select 1 from tenant_blacklist b where b.tenant_id = c.tenant_id and b.phone = c.phone)
  and not exists (select 1 from platform_blacklist p where p.phone = c.phone)`;

export const CONTACT_COLUMNS = `c.id, c.tenant_id, c.phone, c.name, c.fields, c.tags, c.created_at, c.updated_at,
  c.last_engaged_at, ${PROTECTION_MARKS}`;

/** The saved filters of `segmentIds`, all of this tenant's, or throws contacts.segment_not_found. */
export async function loadSegmentFilters(
  db: Queryable,
  tenantId: number,
  segmentIds: readonly number[],
): Promise<SegmentFilter[]> {
  if (segmentIds.length === 0) return [];
  const { rows } = await db.query<{ id: number; filter: SegmentFilter }>(
    'select id, filter from contact_segments where tenant_id = $1 and id = any($2::bigint[])',
    [tenantId, [...new Set(segmentIds)]],
  );
  const found = new Set(rows.map((r) => r.id));
  const missing = segmentIds.find((id) => !found.has(id));
  if (missing !== undefined) throw segmentNotFound({ details: { segment_id: String(missing) } });
  return rows.map((r) => r.filter);
}

/** Throws contacts.group_not_found unless every group is this tenant's. */
export async function assertGroupsOwned(
  db: Queryable,
  tenantId: number,
  groupIds: readonly number[],
): Promise<void> {
  if (groupIds.length === 0) return;
  const { rows } = await db.query<{ id: number }>(
    'select id from contact_groups where tenant_id = $1 and id = any($2::bigint[])',
    [tenantId, [...new Set(groupIds)]],
  );
  const found = new Set(rows.map((r) => r.id));
  const missing = groupIds.find((id) => !found.has(id));
  if (missing !== undefined) throw groupNotFound({ details: { group_id: String(missing) } });
}

/**
 * The audience predicate on contacts row `c` (members of any group, or matching any segment),
 * parameters appended to `params`. `$1` must already be the tenant id.
 */
export function audiencePredicate(
  { groupIds, filters }: { groupIds: readonly number[]; filters: readonly SegmentFilter[] },
  params: unknown[],
  now: Date,
): string {
  const alternatives: string[] = [];
  if (groupIds.length > 0) {
    params.push([...new Set(groupIds)]);
    alternatives.push(
      `exists (select 1 from contact_group_members m where m.contact_id = c.id and m.group_id = any($${params.length}::bigint[]))`,
    );
  }
  for (const filter of filters) alternatives.push(segmentFilterSql(filter, params, now, 'c'));
  return alternatives.length === 0 ? 'false' : `(${alternatives.join(' or ')})`;
}

/**
 * Every contact of the tenant in any of the groups or segments, each once, in contact id order,
 * yielded in chunks (a keyset walk: one short statement per chunk, no transaction held between
 * chunks, so a million-contact audience never holds a snapshot or a cursor open). Ids of another
 * tenant's groups or segments throw their not_found error before anything is yielded.
 */
export async function* expandAudience(
  db: Queryable,
  tenantId: number,
  spec: AudienceSpec,
): AsyncGenerator<AudienceMember[], void, undefined> {
  const groupIds = spec.groupIds ?? [];
  await assertGroupsOwned(db, tenantId, groupIds);
  const filters = await loadSegmentFilters(db, tenantId, spec.segmentIds ?? []);
  const now = spec.now ?? new Date();
  const chunkSize = spec.chunkSize ?? 1_000;
  const params: unknown[] = [tenantId];
  const predicate = audiencePredicate({ groupIds, filters }, params, now);
  const protection = spec.excludeProtected === false ? '' : `and ${NOT_PROTECTED}`;
  const after = params.length + 1;
  const sql = `select c.id, c.phone, c.name, c.fields from contacts c
    where c.tenant_id = $1 and c.id > $${after} and ${predicate} ${protection}
    order by c.id limit ${chunkSize}`;
  let last = 0;
  for (;;) {
    const { rows } = await db.query<{
      id: number;
      phone: string;
      name: string;
      fields: Record<string, string>;
    }>(sql, [...params, last]);
    if (rows.length === 0) return;
    last = rows[rows.length - 1]!.id;
    yield rows.map((r) => ({ contactId: r.id, phone: r.phone, name: r.name, fields: r.fields }));
    if (rows.length < chunkSize) return;
  }
}

/** How many contacts expandAudience would yield (for previews). */
export async function countAudience(db: Queryable, tenantId: number, spec: AudienceSpec): Promise<number> {
  const groupIds = spec.groupIds ?? [];
  await assertGroupsOwned(db, tenantId, groupIds);
  const filters = await loadSegmentFilters(db, tenantId, spec.segmentIds ?? []);
  const params: unknown[] = [tenantId];
  const predicate = audiencePredicate({ groupIds, filters }, params, spec.now ?? new Date());
  const protection = spec.excludeProtected === false ? '' : `and ${NOT_PROTECTED}`;
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from contacts c where c.tenant_id = $1 and ${predicate} ${protection}`,
    params,
  );
  return rows[0]!.n;
}

/**
 * Marks phones of a tenant as engaged at `at` (a click, say, recorded by another module); a later
 * engagement already recorded is kept. Phones that are not contacts are ignored.
 */
export async function recordEngagement(
  db: Queryable,
  events: readonly { tenantId: number; phone: string; at: Date }[],
): Promise<number> {
  if (events.length === 0) return 0;
  const result = await db.query(
    `update contacts c set last_engaged_at = greatest(c.last_engaged_at, e.at)
       from (select tenant_id, phone, max(at) as at
               from unnest($1::bigint[], $2::text[], $3::timestamptz[]) as u(tenant_id, phone, at)
              group by tenant_id, phone) e
      where c.tenant_id = e.tenant_id and c.phone = e.phone
        and (c.last_engaged_at is null or c.last_engaged_at < e.at)`,
    [events.map((e) => e.tenantId), events.map((e) => e.phone), events.map((e) => e.at)],
  );
  return result.rowCount ?? 0;
}
