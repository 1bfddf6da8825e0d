// Groups (static lists) and segments (saved filters) of a tenant. Every statement names the
// tenant; another tenant's id is not found.
import type pg from 'pg';
import { withTransaction } from '../../db/pool.ts';
import {
  groupNotFound,
  invalidContact,
  invalidSegment,
  nameTaken,
  segmentNotFound,
} from './contacts.errors.ts';
import { checkSegmentFilter, type SegmentFilter } from './contacts.models.ts';
import { addGroupMembers } from './contacts.sql.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export interface GroupView {
  id: string;
  name: string;
  description: string;
  members: number;
  created_at: string;
  updated_at: string;
}

export interface SegmentView {
  id: string;
  name: string;
  filter: SegmentFilter;
  created_at: string;
  updated_at: string;
}

interface GroupRow {
  id: number;
  name: string;
  description: string;
  members: number;
  created_at: Date;
  updated_at: Date;
}

const toGroupView = (r: GroupRow): GroupView => ({
  id: String(r.id),
  name: r.name,
  description: r.description,
  members: r.members,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

const toSegmentView = (r: {
  id: number;
  name: string;
  filter: SegmentFilter;
  created_at: Date;
  updated_at: Date;
}) => ({
  id: String(r.id),
  name: r.name,
  filter: r.filter,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

const GROUP = `g.id, g.name, g.description, g.created_at, g.updated_at,
  (select count(*)::int from contact_group_members m where m.group_id = g.id) as members`;

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

export async function listGroups(db: Queryable, tenantId: number): Promise<GroupView[]> {
  const { rows } = await db.query<GroupRow>(
    `select ${GROUP} from contact_groups g where g.tenant_id = $1 order by g.id`,
    [tenantId],
  );
  return rows.map(toGroupView);
}

export async function getGroup(db: Queryable, tenantId: number, id: number): Promise<GroupView> {
  const { rows } = await db.query<GroupRow>(
    `select ${GROUP} from contact_groups g where g.tenant_id = $1 and g.id = $2`,
    [tenantId, id],
  );
  if (!rows[0]) throw groupNotFound();
  return toGroupView(rows[0]);
}

export async function createGroup(
  db: Queryable,
  tenantId: number,
  input: { name: string; description?: string },
  now: Date,
): Promise<GroupView> {
  try {
    const { rows } = await db.query<{ id: number }>(
      `insert into contact_groups (tenant_id, name, description, created_at, updated_at)
       values ($1, $2, $3, $4, $4) returning id`,
      [tenantId, input.name.trim(), input.description ?? '', now],
    );
    return getGroup(db, tenantId, rows[0]!.id);
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken({ cause: error });
    throw error;
  }
}

export async function updateGroup(
  db: Queryable,
  tenantId: number,
  id: number,
  input: { name?: string; description?: string },
  now: Date,
): Promise<GroupView> {
  try {
    const result = await db.query(
      `update contact_groups set name = coalesce($3, name), description = coalesce($4, description), updated_at = $5
        where tenant_id = $1 and id = $2`,
      [tenantId, id, input.name?.trim() ?? null, input.description ?? null, now],
    );
    if (result.rowCount === 0) throw groupNotFound();
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken({ cause: error });
    throw error;
  }
  return getGroup(db, tenantId, id);
}

export async function deleteGroup(db: Queryable, tenantId: number, id: number): Promise<void> {
  const result = await db.query('delete from contact_groups where tenant_id = $1 and id = $2', [
    tenantId,
    id,
  ]);
  if (result.rowCount === 0) throw groupNotFound();
}

/**
 * Adds or removes contacts of the tenant (by id) to or from one of its groups. Every id must be
 * the tenant's contact, or nothing changes (contacts.not_found names the first that is not).
 */
export async function changeGroupMembers({
  pool,
  tenantId,
  groupId,
  contactIds,
  action,
  now,
}: {
  pool: pg.Pool;
  tenantId: number;
  groupId: number;
  contactIds: number[];
  action: 'add' | 'remove';
  now: Date;
}): Promise<{ changed: number; group: GroupView }> {
  const ids = [...new Set(contactIds)];
  const changed = await withTransaction(pool, async (tx) => {
    const group = await tx.query('select 1 from contact_groups where tenant_id = $1 and id = $2 for update', [
      tenantId,
      groupId,
    ]);
    if (group.rowCount === 0) throw groupNotFound();
    const { rows } = await tx.query<{ id: number }>(
      'select id from contacts where tenant_id = $1 and id = any($2::bigint[])',
      [tenantId, ids],
    );
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.find((id) => !found.has(id));
    if (missing !== undefined) {
      throw invalidContact({
        message: `contact ${missing} is not this tenant's`,
        details: { contact_id: String(missing) },
      });
    }
    if (action === 'add') return addGroupMembers(tx, groupId, ids, now);
    const removed = await tx.query(
      'delete from contact_group_members where group_id = $1 and contact_id = any($2::bigint[])',
      [groupId, ids],
    );
    return removed.rowCount ?? 0;
  });
  return { changed, group: await getGroup(pool, tenantId, groupId) };
}

const SEGMENT = 'id, name, filter, created_at, updated_at';

function checkedFilter(filter: unknown): SegmentFilter {
  const checked = checkSegmentFilter(filter);
  if (!checked.ok) throw invalidSegment({ message: checked.reason });
  return checked.value;
}

export async function listSegments(db: Queryable, tenantId: number): Promise<SegmentView[]> {
  const { rows } = await db.query(
    `select ${SEGMENT} from contact_segments where tenant_id = $1 order by id`,
    [tenantId],
  );
  return rows.map(toSegmentView);
}

export async function getSegment(db: Queryable, tenantId: number, id: number): Promise<SegmentView> {
  const { rows } = await db.query(
    `select ${SEGMENT} from contact_segments where tenant_id = $1 and id = $2`,
    [tenantId, id],
  );
  if (!rows[0]) throw segmentNotFound();
  return toSegmentView(rows[0]);
}

export async function createSegment(
  db: Queryable,
  tenantId: number,
  input: { name: string; filter: unknown },
  now: Date,
): Promise<SegmentView> {
  const filter = checkedFilter(input.filter);
  try {
    const { rows } = await db.query(
      `insert into contact_segments (tenant_id, name, filter, created_at, updated_at)
       values ($1, $2, $3, $4, $4) returning ${SEGMENT}`,
      [tenantId, input.name.trim(), JSON.stringify(filter), now],
    );
    return toSegmentView(rows[0]);
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken({ cause: error });
    throw error;
  }
}

export async function updateSegment(
  db: Queryable,
  tenantId: number,
  id: number,
  input: { name?: string; filter?: unknown },
  now: Date,
): Promise<SegmentView> {
  const filter = input.filter === undefined ? null : JSON.stringify(checkedFilter(input.filter));
  try {
    const { rows } = await db.query(
      `update contact_segments set name = coalesce($3, name), filter = coalesce($4::jsonb, filter), updated_at = $5
        where tenant_id = $1 and id = $2 returning ${SEGMENT}`,
      [tenantId, id, input.name?.trim() ?? null, filter, now],
    );
    if (!rows[0]) throw segmentNotFound();
    return toSegmentView(rows[0]);
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken({ cause: error });
    throw error;
  }
}

export async function deleteSegment(db: Queryable, tenantId: number, id: number): Promise<void> {
  const result = await db.query('delete from contact_segments where tenant_id = $1 and id = $2', [
    tenantId,
    id,
  ]);
  if (result.rowCount === 0) throw segmentNotFound();
}
