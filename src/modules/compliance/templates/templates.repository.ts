// Template rows.
import type pg from 'pg';
import type { ReviewDecision } from '../review.models.ts';
import type { TemplateType, VariableSpec } from './templates.models.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export interface TemplateRow {
  id: number;
  tenant_id: number;
  name: string;
  type: TemplateType;
  content: string;
  variables: VariableSpec[];
  allow_urls: boolean;
  allow_phones: boolean;
  status: 'pending' | 'approved' | 'rejected';
  reason: string | null;
  findings: unknown[];
  submitted_at: Date;
  reviewed_at: Date | null;
  reviewed_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, tenant_id, name, type, content, variables, allow_urls, allow_phones, status, reason, findings,
  submitted_at, reviewed_at, reviewed_by, created_at, updated_at`;
const S_COLUMNS = COLUMNS.split(',')
  .map((c) => `p.${c.trim()}`)
  .join(', ');

export interface TemplateFields {
  name: string;
  type: TemplateType;
  content: string;
  variables: VariableSpec[];
  allowUrls: boolean;
  allowPhones: boolean;
  findings: unknown[];
}

export async function insertTemplate(
  db: Queryable,
  t: TemplateFields & {
    tenantId: number;
    status: 'pending' | 'approved' | 'rejected';
    reason?: string | null;
    reviewedBy?: string | null;
    now: Date;
  },
) {
  const result = await db.query<TemplateRow>(
    `insert into templates (tenant_id, name, type, content, variables, allow_urls, allow_phones, status, findings,
       submitted_at, reviewed_at, reviewed_by, created_at, updated_at, reason)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, case when $8 <> 'pending' then $10::timestamptz end, $11, $10, $10,
       $12)
     returning ${COLUMNS}`,
    [
      t.tenantId,
      t.name,
      t.type,
      t.content,
      JSON.stringify(t.variables),
      t.allowUrls,
      t.allowPhones,
      t.status,
      JSON.stringify(t.findings),
      t.now,
      t.reviewedBy ?? null,
      t.reason ?? null,
    ],
  );
  return result.rows[0]!;
}

export async function findTemplate(db: Queryable, { tenantId, id }: { tenantId?: number; id: number }) {
  const result = await db.query<TemplateRow>(
    `select ${COLUMNS} from templates where id = $1 and ($2::bigint is null or tenant_id = $2) and deleted_at is null`,
    [id, tenantId ?? null],
  );
  return result.rows[0] ?? null;
}

export async function listTemplates(db: Queryable, tenantId: number) {
  const result = await db.query<TemplateRow>(
    `select ${COLUMNS} from templates where tenant_id = $1 and deleted_at is null order by id`,
    [tenantId],
  );
  return result.rows;
}

/** Templates of every tenant, pending ones oldest first (the review queue), or all by id. */
export async function listAllTemplates(db: Queryable, { status, limit }: { status?: string; limit: number }) {
  const result = await db.query<TemplateRow & { tenant_name: string }>(
    `select ${S_COLUMNS}, t.name as tenant_name
       from templates p join tenants t on t.id = p.tenant_id
      where p.deleted_at is null and ($1::text is null or p.status = $1)
      order by case when $1 = 'pending' then p.submitted_at end, p.id limit $2`,
    [status ?? null, limit],
  );
  return result.rows;
}

export async function decideTemplate(db: Queryable, d: ReviewDecision) {
  const result = await db.query<TemplateRow>(
    `update templates
        set status = case when $2 then 'approved' else 'rejected' end,
            reason = $3, reviewed_at = $5, reviewed_by = $4, updated_at = $5
      where id = $1 and status = 'pending' and deleted_at is null
      returning ${COLUMNS}`,
    [d.id, d.approve, d.reason, d.by, d.now],
  );
  return result.rows[0] ?? null;
}

export async function resubmitTemplate(
  db: Queryable,
  r: TemplateFields & {
    tenantId: number;
    id: number;
    now: Date;
    status: 'pending' | 'rejected';
    reason: string | null;
  },
) {
  const result = await db.query<TemplateRow>(
    `update templates
        set name = $3, type = $4, content = $5, variables = $6, allow_urls = $7, allow_phones = $8, findings = $9,
            status = $11, reason = $12, submitted_at = $10,
            reviewed_at = case when $11 = 'rejected' then $10::timestamptz end,
            reviewed_by = case when $11 = 'rejected' then 'rules' end, updated_at = $10
      where id = $1 and tenant_id = $2 and status = 'rejected' and deleted_at is null
      returning ${COLUMNS}`,
    [
      r.id,
      r.tenantId,
      r.name,
      r.type,
      r.content,
      JSON.stringify(r.variables),
      r.allowUrls,
      r.allowPhones,
      JSON.stringify(r.findings),
      r.now,
      r.status,
      r.reason,
    ],
  );
  return result.rows[0] ?? null;
}

/** Deleted: not listed, not usable from this instant (sends read the row at every request). */
export async function deleteTemplate(
  db: Queryable,
  { tenantId, id, now }: { tenantId: number; id: number; now: Date },
) {
  const result = await db.query(
    'update templates set deleted_at = $3, updated_at = $3 where id = $1 and tenant_id = $2 and deleted_at is null',
    [id, tenantId, now],
  );
  return (result.rowCount ?? 0) > 0;
}
