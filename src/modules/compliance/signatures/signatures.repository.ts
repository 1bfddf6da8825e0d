// Signature rows. Extension codes are assigned in the insert itself (the tenant's highest + 1)
// under the unique (tenant_id, extension_code) index: two concurrent applications cannot share
// one; the loser retries.
import type pg from 'pg';
import { withTransaction } from '../../../db/pool.ts';
import type { ReviewDecision } from '../review.models.ts';
import type { SignatureSource } from './signatures.models.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export interface SignatureRow {
  id: number;
  tenant_id: number;
  name: string;
  source: SignatureSource;
  source_detail: string;
  status: 'pending' | 'approved' | 'rejected';
  reason: string | null;
  extension_code: string;
  is_default: boolean;
  submitted_at: Date;
  reviewed_at: Date | null;
  reviewed_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, tenant_id, name, source, source_detail, status, reason, extension_code, is_default,
  submitted_at, reviewed_at, reviewed_by, created_at, updated_at`;

const S_COLUMNS = COLUMNS.split(',')
  .map((c) => `s.${c.trim()}`)
  .join(', ');

function isUniqueViolation(error: unknown, index: string): boolean {
  const e = error as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === index;
}

export type InsertOutcome =
  { ok: true; row: SignatureRow } | { ok: false; reason: 'name_taken' | 'exhausted' };

export async function insertSignature(
  db: Queryable,
  s: {
    tenantId: number;
    name: string;
    source: SignatureSource;
    sourceDetail: string;
    status: 'pending' | 'approved';
    reviewedBy?: string | null;
    now: Date;
  },
): Promise<InsertOutcome> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const result = await db.query<SignatureRow>(
        `insert into signatures (tenant_id, name, source, source_detail, status, extension_code, is_default,
           submitted_at, reviewed_at, reviewed_by, created_at, updated_at)
         select $1, $2, $3, $4, $5,
                lpad((coalesce(max(extension_code::int), 0) + 1)::text, 2, '0'),
                -- The tenant's first approved signature becomes its default.
                $5 = 'approved' and not exists (select 1 from signatures d where d.tenant_id = $1
                                                   and d.is_default and d.deleted_at is null),
                $6, case when $5 = 'approved' then $6::timestamptz end, $7, $6, $6
           from signatures where tenant_id = $1
         returning ${COLUMNS}`,
        [s.tenantId, s.name, s.source, s.sourceDetail, s.status, s.now, s.reviewedBy ?? null],
      );
      return { ok: true, row: result.rows[0]! };
    } catch (error) {
      if (isUniqueViolation(error, 'signatures_tenant_name')) return { ok: false, reason: 'name_taken' };
      if ((error as { code?: string }).code === '23514') return { ok: false, reason: 'exhausted' };
      if (
        isUniqueViolation(error, 'signatures_tenant_extension') ||
        isUniqueViolation(error, 'signatures_tenant_default')
      ) {
        continue;
      }
      throw error;
    }
  }
  throw new Error('insertSignature: extension code still contended after 5 attempts');
}

export async function findSignature(db: Queryable, { tenantId, id }: { tenantId?: number; id: number }) {
  const result = await db.query<SignatureRow>(
    `select ${COLUMNS} from signatures
      where id = $1 and ($2::bigint is null or tenant_id = $2) and deleted_at is null`,
    [id, tenantId ?? null],
  );
  return result.rows[0] ?? null;
}

export async function listSignatures(db: Queryable, tenantId: number) {
  const result = await db.query<SignatureRow>(
    `select ${COLUMNS} from signatures where tenant_id = $1 and deleted_at is null order by id`,
    [tenantId],
  );
  return result.rows;
}

/** The operator's queue: pending signatures of every tenant, oldest first. */
export async function listPendingSignatures(db: Queryable, { limit }: { limit: number }) {
  const result = await db.query<SignatureRow & { tenant_name: string }>(
    `select ${S_COLUMNS}, t.name as tenant_name
       from signatures s join tenants t on t.id = s.tenant_id
      where s.status = 'pending' and s.deleted_at is null
      order by s.submitted_at, s.id limit $1`,
    [limit],
  );
  return result.rows;
}

/** Every signature of every tenant (or of one), for the CLI. */
export async function listAllSignatures(db: Queryable, { status }: { status?: string }) {
  const result = await db.query<SignatureRow & { tenant_name: string }>(
    `select ${S_COLUMNS}, t.name as tenant_name
       from signatures s join tenants t on t.id = s.tenant_id
      where s.deleted_at is null and ($1::text is null or s.status = $1)
      order by s.id`,
    [status ?? null],
  );
  return result.rows;
}

/** pending → approved or rejected, atomically; null when it was not pending. */
export async function decideSignature(db: Queryable, d: ReviewDecision) {
  const result = await db.query<SignatureRow>(
    `update signatures s
        set status = case when $2 then 'approved' else 'rejected' end,
            reason = $3, reviewed_at = $5, reviewed_by = $4, updated_at = $5,
            is_default = $2 and not exists (select 1 from signatures d where d.tenant_id = s.tenant_id
                                                and d.is_default and d.deleted_at is null)
      where id = $1 and status = 'pending' and deleted_at is null
      returning ${COLUMNS}`,
    [d.id, d.approve, d.reason, d.by, d.now],
  );
  return result.rows[0] ?? null;
}

/** A rejected signature edited and back in the queue; null when it was not rejected. */
export async function resubmitSignature(
  db: Queryable,
  r: { tenantId: number; id: number; name: string; source: SignatureSource; sourceDetail: string; now: Date },
) {
  try {
    const result = await db.query<SignatureRow>(
      `update signatures
          set name = $3, source = $4, source_detail = $5, status = 'pending', reason = null,
              submitted_at = $6, reviewed_at = null, reviewed_by = null, updated_at = $6
        where id = $1 and tenant_id = $2 and status = 'rejected' and deleted_at is null
        returning ${COLUMNS}`,
      [r.id, r.tenantId, r.name, r.source, r.sourceDetail, r.now],
    );
    return result.rows[0] ?? null;
  } catch (error) {
    if (isUniqueViolation(error, 'signatures_tenant_name')) return 'name_taken' as const;
    throw error;
  }
}

/** Makes an approved signature the tenant's default (the one a send without a signature gets). */
export async function setDefaultSignature(pool: pg.Pool, { tenantId, id }: { tenantId: number; id: number }) {
  return withTransaction(pool, async (client) => {
    // The tenant row is locked so that two concurrent choices of a default queue up.
    await client.query('select 1 from tenants where id = $1 for update', [tenantId]);
    const target = await client.query(
      `select 1 from signatures where id = $1 and tenant_id = $2 and status = 'approved' and deleted_at is null`,
      [id, tenantId],
    );
    if (target.rowCount === 0) return null;
    await client.query(
      'update signatures set is_default = false where tenant_id = $1 and is_default and id <> $2',
      [tenantId, id],
    );
    const result = await client.query<SignatureRow>(
      `update signatures set is_default = true where id = $1 returning ${COLUMNS}`,
      [id],
    );
    return result.rows[0] ?? null;
  });
}

/** A deleted signature stops being usable at once; its extension code is never given again. */
export async function deleteSignature(
  db: Queryable,
  { tenantId, id, now }: { tenantId: number; id: number; now: Date },
) {
  const result = await db.query(
    `update signatures set deleted_at = $3, is_default = false, updated_at = $3
      where id = $1 and tenant_id = $2 and deleted_at is null`,
    [id, tenantId, now],
  );
  return (result.rowCount ?? 0) > 0;
}

export async function setFreeText(
  db: Queryable,
  { tenantId, allowed }: { tenantId: number; allowed: boolean },
) {
  await db.query('update tenants set free_text = $2 where id = $1', [tenantId, allowed]);
}
