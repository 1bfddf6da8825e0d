// Statements on a tenant's contacts. Each names the tenant: another tenant's id is never found.
import type pg from 'pg';
import { CONTACT_COLUMNS, type ContactRow } from './contacts.repository.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface ContactInput {
  phone: string;
  name?: string;
  fields?: Record<string, string>;
  tags?: string[];
}

export interface UpsertResult {
  id: number;
  phone: string;
  created: boolean;
}

export async function getContact(
  db: Queryable,
  tenantId: number,
  id: number,
): Promise<ContactRow | undefined> {
  const { rows } = await db.query<ContactRow>(
    `select ${CONTACT_COLUMNS} from contacts c where c.tenant_id = $1 and c.id = $2`,
    [tenantId, id],
  );
  return rows[0];
}

/** Inserts a new contact; undefined when the tenant already has this phone. */
export async function insertContact(
  db: Queryable,
  tenantId: number,
  c: Required<ContactInput>,
  now: Date,
): Promise<number | undefined> {
  const { rows } = await db.query<{ id: number }>(
    `insert into contacts (tenant_id, phone, name, fields, tags, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $6) on conflict (tenant_id, phone) do nothing returning id`,
    [tenantId, c.phone, c.name, c.fields, c.tags, now],
  );
  return rows[0]?.id;
}

/**
 * Inserts or updates contacts by phone. A given name or tags replace the stored ones; given
 * fields are merged into the stored fields, or replace them with `replaceFields`. Absent keys keep
 * what is stored. Phones must be distinct. One statement; a phone another transaction inserted
 * meanwhile (seen by neither half of the statement's snapshot) is done again by a second pass.
 */
export async function upsertContacts(
  db: Queryable,
  tenantId: number,
  contacts: readonly ContactInput[],
  { now, replaceFields = false }: { now: Date; replaceFields?: boolean },
): Promise<UpsertResult[]> {
  const results: UpsertResult[] = [];
  let pending = contacts;
  for (let pass = 0; pass < 3 && pending.length > 0; pass++) {
    const { rows } = await db.query<UpsertResult>(UPSERT, [
      tenantId,
      now,
      JSON.stringify(pending),
      replaceFields,
    ]);
    results.push(...rows);
    const done = new Set(rows.map((r) => r.phone));
    pending = pending.filter((c) => !done.has(c.phone));
  }
  return results;
}

const UPSERT = `
  with input as (
    select * from jsonb_to_recordset($3::jsonb) as r(phone text, name text, fields jsonb, tags jsonb)
  ), inserted as (
    insert into contacts (tenant_id, phone, name, fields, tags, created_at, updated_at)
    select $1, i.phone, coalesce(i.name, ''), coalesce(i.fields, '{}'::jsonb),
           coalesce(array(select jsonb_array_elements_text(i.tags)), '{}'), $2, $2
      from input i
    on conflict (tenant_id, phone) do nothing
    returning id, phone
  ), updated as (
    update contacts c set
      name = coalesce(i.name, c.name),
      fields = case when i.fields is null then c.fields when $4 then i.fields else c.fields || i.fields end,
      tags = case when i.tags is null then c.tags else array(select jsonb_array_elements_text(i.tags)) end,
      updated_at = $2
      from input i
     where c.tenant_id = $1 and c.phone = i.phone
    returning c.id, c.phone
  )
  select id, phone, true as created from inserted
  union all
  select id, phone, false from updated`;

export async function updateContact(
  db: Queryable,
  tenantId: number,
  id: number,
  change: { name?: string; fields?: Record<string, string>; tags?: string[]; replaceFields: boolean },
  now: Date,
): Promise<boolean> {
  const result = await db.query(
    `update contacts set
       name = coalesce($3, name),
       fields = case when $4::jsonb is null then fields when $5 then $4::jsonb else fields || $4::jsonb end,
       tags = coalesce($6, tags),
       updated_at = $7
     where tenant_id = $1 and id = $2`,
    [
      tenantId,
      id,
      change.name ?? null,
      change.fields === undefined ? null : JSON.stringify(change.fields),
      change.replaceFields,
      change.tags ?? null,
      now,
    ],
  );
  return (result.rowCount ?? 0) > 0;
}

export async function deleteContact(db: Queryable, tenantId: number, id: number): Promise<boolean> {
  const result = await db.query('delete from contacts where tenant_id = $1 and id = $2', [tenantId, id]);
  return (result.rowCount ?? 0) > 0;
}

export interface ContactQuery {
  /** E.164 for an exact match, or digits found anywhere in the number. */
  phoneExact?: string;
  phoneDigits?: string;
  tag?: string;
  fieldKey?: string;
  fieldValue?: string;
  groupId?: number;
  segmentSql?: { predicate: string; params: unknown[] };
  afterId?: number;
  limit: number;
}

/** A page of contacts in id order, after `afterId`. */
export async function listContacts(db: Queryable, tenantId: number, q: ContactQuery): Promise<ContactRow[]> {
  const params: unknown[] = [tenantId];
  const where = ['c.tenant_id = $1'];
  if (q.segmentSql) {
    // The segment's placeholders were numbered after $1 (the tenant) by its builder.
    params.push(...q.segmentSql.params);
    where.push(q.segmentSql.predicate);
  }
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (q.phoneExact !== undefined) where.push(`c.phone = ${p(q.phoneExact)}`);
  if (q.phoneDigits !== undefined) where.push(`strpos(c.phone, ${p(q.phoneDigits)}) > 0`);
  if (q.tag !== undefined) where.push(`c.tags @> array[${p(q.tag)}]::text[]`);
  if (q.fieldKey !== undefined && q.fieldValue !== undefined) {
    where.push(`c.fields @> ${p(JSON.stringify({ [q.fieldKey]: q.fieldValue }))}::jsonb`);
  } else if (q.fieldKey !== undefined) where.push(`c.fields ? ${p(q.fieldKey)}`);
  if (q.groupId !== undefined) {
    where.push(
      `exists (select 1 from contact_group_members m where m.contact_id = c.id and m.group_id = ${p(q.groupId)})`,
    );
  }
  if (q.afterId !== undefined) where.push(`c.id > ${p(q.afterId)}`);
  const { rows } = await db.query<ContactRow>(
    `select ${CONTACT_COLUMNS} from contacts c where ${where.join(' and ')} order by c.id limit ${p(q.limit)}`,
    params,
  );
  return rows;
}

/** Every field name used by the tenant's contacts, sorted (the export's columns). */
export async function listFieldKeys(db: Queryable, tenantId: number): Promise<string[]> {
  const { rows } = await db.query<{ key: string }>(
    'select distinct jsonb_object_keys(fields) as key from contacts where tenant_id = $1 order by 1',
    [tenantId],
  );
  return rows.map((r) => r.key);
}

/** Adds contacts to a group (the caller checked both belong to the tenant); answers how many were new. */
export async function addGroupMembers(
  db: Queryable,
  groupId: number,
  contactIds: readonly number[],
  now: Date,
) {
  if (contactIds.length === 0) return 0;
  const result = await db.query(
    `insert into contact_group_members (group_id, contact_id, added_at)
     select $1, unnest($2::bigint[]), $3 on conflict do nothing`,
    [groupId, contactIds, now],
  );
  return result.rowCount ?? 0;
}
