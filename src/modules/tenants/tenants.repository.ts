// SQL of onboarding: the tenant's profile and status, the review queue, and document rows.
import type { Queryable } from '../accounts/audit.ts';
import type { DocumentKind, TenantStatus } from './tenants.models.ts';

export interface Profile {
  company_name: string;
  credit_code: string;
  contact_name: string;
  contact_phone: string;
  contact_email: string;
  industry: string;
}

export const PROFILE_FIELDS = [
  'company_name',
  'credit_code',
  'contact_name',
  'contact_phone',
  'contact_email',
  'industry',
] as const;

export interface TenantRow extends Partial<Record<keyof Profile, string | null>> {
  id: number;
  name: string;
  status: TenantStatus;
  status_reason: string | null;
  submitted_at: Date | null;
  reviewed_at: Date | null;
  created_at: Date;
}

const tenantColumns = `id, name, status, status_reason, submitted_at, reviewed_at, created_at, ${PROFILE_FIELDS.join(', ')}`;

export async function insertPendingTenant(db: Queryable, profile: Profile, now: Date): Promise<TenantRow> {
  const { rows } = await db.query<TenantRow>(
    `insert into tenants (name, status, submitted_at, ${PROFILE_FIELDS.join(', ')})
     values ($1, 'pending_review', $2, $3, $4, $5, $6, $7, $8)
     returning ${tenantColumns}`,
    [profile.company_name, now, ...PROFILE_FIELDS.map((f) => profile[f])],
  );
  const tenant = rows[0]!;
  // Extension codes start at 1001, as for operator-created tenants (accounts.repository.ts).
  await db.query(`update tenants set sender_code = (1000 + id)::text where id = $1`, [tenant.id]);
  return tenant;
}

export async function findTenant(db: Queryable, id: number): Promise<TenantRow | null> {
  const { rows } = await db.query<TenantRow>(`select ${tenantColumns} from tenants where id = $1`, [id]);
  return rows[0] ?? null;
}

/** Changes the profile of a tenant still in review or rejected; null when its status forbids it. */
export async function updateProfile(
  db: Queryable,
  id: number,
  fields: Partial<Profile>,
): Promise<TenantRow | null> {
  const names = PROFILE_FIELDS.filter((f) => fields[f] !== undefined);
  const sets = names.map((f, i) => `${f} = $${i + 2}`);
  if (fields.company_name !== undefined) sets.push('name = $' + (names.indexOf('company_name') + 2));
  const { rows } = await db.query<TenantRow>(
    `update tenants set ${sets.length ? sets.join(', ') : 'id = id'}
      where id = $1 and status in ('pending_review', 'rejected')
      returning ${tenantColumns}`,
    [id, ...names.map((f) => fields[f])],
  );
  return rows[0] ?? null;
}

/** One conditional UPDATE: the change happens only from an allowed status, so two reviewers cannot both decide. */
export async function changeStatus(
  db: Queryable,
  {
    id,
    from,
    to,
    reason,
    now,
    review,
  }: {
    id: number;
    from: readonly TenantStatus[];
    to: TenantStatus;
    reason: string | null;
    now: Date;
    review: boolean;
  },
): Promise<TenantRow | null> {
  const { rows } = await db.query<TenantRow>(
    `update tenants
        set status = $3, status_reason = $4,
            reviewed_at = case when $6 then $5 else reviewed_at end,
            submitted_at = case when $3 = 'pending_review' then $5 else submitted_at end
      where id = $1 and status = any($2::text[])
      returning ${tenantColumns}`,
    [id, from, to, reason, now, review],
  );
  return rows[0] ?? null;
}

export interface QueueRow extends TenantRow {
  age_seconds: number;
}

/** Applications awaiting review, oldest first, with how long each has waited. */
export async function listReviewQueue(db: Queryable, now: Date, limit: number): Promise<QueueRow[]> {
  const { rows } = await db.query<QueueRow>(
    `select ${tenantColumns}, floor(extract(epoch from ($1::timestamptz - submitted_at)))::int as age_seconds
       from tenants where status = 'pending_review'
      order by submitted_at, id limit $2`,
    [now, limit],
  );
  return rows;
}

export interface DocumentRow {
  id: number;
  tenant_id: number;
  kind: DocumentKind;
  content_type: string;
  size_bytes: number;
  sha256: string;
  storage_key: string;
  created_at: Date;
}

export async function insertDocument(
  db: Queryable,
  doc: Omit<DocumentRow, 'id' | 'created_at'>,
  now: Date,
): Promise<DocumentRow> {
  const { rows } = await db.query<DocumentRow>(
    `insert into tenant_documents (tenant_id, kind, content_type, size_bytes, sha256, storage_key, created_at)
     values ($1, $2, $3, $4, $5, $6, $7) returning *`,
    [doc.tenant_id, doc.kind, doc.content_type, doc.size_bytes, doc.sha256, doc.storage_key, now],
  );
  return rows[0]!;
}

export async function listDocuments(db: Queryable, tenantIds: readonly number[]): Promise<DocumentRow[]> {
  const { rows } = await db.query<DocumentRow>(
    `select * from tenant_documents where tenant_id = any($1::bigint[]) order by tenant_id, id`,
    [tenantIds],
  );
  return rows;
}

/** A document of this tenant: another tenant's id finds nothing. */
export async function findDocument(db: Queryable, tenantId: number, id: number): Promise<DocumentRow | null> {
  const { rows } = await db.query<DocumentRow>(
    `select * from tenant_documents where tenant_id = $1 and id = $2`,
    [tenantId, id],
  );
  return rows[0] ?? null;
}
