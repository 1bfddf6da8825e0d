// The statements of OTP verification, one function each. Every one runs inside the caller's
// transaction, after the (tenant) advisory lock that serializes a tenant's verification sends.
import type pg from 'pg';
import type { VerificationStatus } from './verifications.models.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface VerificationRow {
  id: number;
  tenantId: number;
  recipient: string;
  purpose: string;
  status: VerificationStatus;
  codeSalt: Buffer;
  codeHash: Buffer;
  codeSealed: string | null;
  codeLength: number;
  language: string;
  templateId: number | null;
  attempts: number;
  sends: number;
  lastMessageId: number | null;
  expiresAt: Date;
  lastSentAt: Date;
  approvedAt: Date | null;
  createdAt: Date;
}

const COLUMNS = `id, tenant_id, recipient, purpose, status, code_salt, code_hash, code_sealed, code_length,
  language, template_id, attempts, sends, last_message_id, expires_at, last_sent_at, approved_at, created_at`;

interface RawRow {
  id: string;
  tenant_id: string;
  recipient: string;
  purpose: string;
  status: VerificationStatus;
  code_salt: Buffer;
  code_hash: Buffer;
  code_sealed: string | null;
  code_length: number;
  language: string;
  template_id: string | null;
  attempts: number;
  sends: number;
  last_message_id: string | null;
  expires_at: Date;
  last_sent_at: Date;
  approved_at: Date | null;
  created_at: Date;
}

function fromRaw(r: RawRow): VerificationRow {
  return {
    id: Number(r.id),
    tenantId: Number(r.tenant_id),
    recipient: r.recipient,
    purpose: r.purpose,
    status: r.status,
    codeSalt: r.code_salt,
    codeHash: r.code_hash,
    codeSealed: r.code_sealed,
    codeLength: r.code_length,
    language: r.language,
    templateId: r.template_id === null ? null : Number(r.template_id),
    attempts: r.attempts,
    sends: r.sends,
    lastMessageId: r.last_message_id === null ? null : Number(r.last_message_id),
    expiresAt: r.expires_at,
    lastSentAt: r.last_sent_at,
    approvedAt: r.approved_at,
    createdAt: r.created_at,
  };
}

/** Serializes a tenant's verification sends: the live-code rule and the velocity count hold under concurrency. */
export async function lockTenantVerifications(db: Queryable, tenantId: number): Promise<void> {
  await db.query(`select pg_advisory_xact_lock(hashtextextended('hongyan.verifications:' || $1::text, 0))`, [
    tenantId,
  ]);
}

/** The newest verification of (tenant, number, purpose), locked for this transaction. */
export async function lockNewestVerification(
  db: Queryable,
  key: { tenantId: number; recipient: string; purpose: string },
): Promise<VerificationRow | null> {
  const r = await db.query<RawRow>(
    `select ${COLUMNS} from verifications
      where tenant_id = $1 and recipient = $2 and purpose = $3
      order by id desc limit 1 for update`,
    [key.tenantId, key.recipient, key.purpose],
  );
  return r.rows[0] ? fromRaw(r.rows[0]) : null;
}

export async function findVerification(
  db: Queryable,
  tenantId: number,
  id: number,
): Promise<VerificationRow | null> {
  const r = await db.query<RawRow>(`select ${COLUMNS} from verifications where id = $1 and tenant_id = $2`, [
    id,
    tenantId,
  ]);
  return r.rows[0] ? fromRaw(r.rows[0]) : null;
}

/** Recent sends whose verification was never approved: for the tenant, and for one number prefix. */
export async function countUnverifiedSends(
  db: Queryable,
  { tenantId, prefix, since }: { tenantId: number; prefix: string; since: Date },
): Promise<{ tenant: number; prefix: number; oldestTenant: Date | null; oldestPrefix: Date | null }> {
  const r = await db.query<{
    tenant: string;
    prefix: string;
    oldest_tenant: Date | null;
    oldest_prefix: Date | null;
  }>(
    `select count(*) as tenant,
            count(*) filter (where s.prefix = $2) as prefix,
            min(s.sent_at) as oldest_tenant,
            min(s.sent_at) filter (where s.prefix = $2) as oldest_prefix
       from verification_sends s
       join verifications v on v.id = s.verification_id
      where s.tenant_id = $1 and s.sent_at > $3 and v.status <> 'approved'`,
    [tenantId, prefix, since],
  );
  const row = r.rows[0]!;
  return {
    tenant: Number(row.tenant),
    prefix: Number(row.prefix),
    oldestTenant: row.oldest_tenant,
    oldestPrefix: row.oldest_prefix,
  };
}

export async function insertVerification(
  db: Queryable,
  row: {
    tenantId: number;
    recipient: string;
    purpose: string;
    codeSalt: Buffer;
    codeHash: Buffer;
    codeSealed: string;
    codeLength: number;
    language: string;
    templateId: number | null;
    messageId: number;
    expiresAt: Date;
    now: Date;
  },
): Promise<VerificationRow> {
  const r = await db.query<RawRow>(
    `insert into verifications (tenant_id, recipient, purpose, status, code_salt, code_hash, code_sealed,
        code_length, language, template_id, last_message_id, expires_at, last_sent_at, created_at, updated_at)
     values ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12)
     returning ${COLUMNS}`,
    [
      row.tenantId,
      row.recipient,
      row.purpose,
      row.codeSalt,
      row.codeHash,
      row.codeSealed,
      row.codeLength,
      row.language,
      row.templateId,
      row.messageId,
      row.expiresAt,
      row.now,
    ],
  );
  return fromRaw(r.rows[0]!);
}

export async function recordResend(
  db: Queryable,
  { id, messageId, now }: { id: number; messageId: number; now: Date },
): Promise<VerificationRow> {
  const r = await db.query<RawRow>(
    `update verifications set sends = sends + 1, last_message_id = $2, last_sent_at = $3, updated_at = $3
      where id = $1 returning ${COLUMNS}`,
    [id, messageId, now],
  );
  return fromRaw(r.rows[0]!);
}

export async function insertSend(
  db: Queryable,
  row: { verificationId: number; tenantId: number; prefix: string; messageId: number; now: Date },
): Promise<void> {
  await db.query(
    `insert into verification_sends (verification_id, tenant_id, prefix, message_id, sent_at) values ($1, $2, $3, $4, $5)`,
    [row.verificationId, row.tenantId, row.prefix, row.messageId, row.now],
  );
}

/** A check's outcome; a code that is no longer live loses its sealed copy. */
export async function recordCheck(
  db: Queryable,
  { id, attempts, status, now }: { id: number; attempts: number; status: VerificationStatus; now: Date },
): Promise<void> {
  await db.query(
    `update verifications
        set attempts = $2, status = $3, updated_at = $4,
            approved_at = case when $3 = 'approved' then $4 else approved_at end,
            code_sealed = case when $3 = 'pending' then code_sealed else null end
      where id = $1`,
    [id, attempts, status, now],
  );
}

export interface VerificationFilter {
  tenantId: number;
  recipient?: string;
  purpose?: string;
  /** The status a reader sees (effectiveStatus): a pending code past its TTL is expired. */
  status?: VerificationStatus;
  createdAfter?: Date;
  createdBefore?: Date;
  beforeId?: number;
  now: Date;
  limit: number;
}

/**
 * A tenant's verifications, newest first, on the (tenant_id, id) index. The status filter asks
 * for what the reader sees, so `pending` leaves out codes past their TTL and `expired` takes them.
 */
export async function listVerifications(db: Queryable, f: VerificationFilter): Promise<VerificationRow[]> {
  const where = ['tenant_id = $1'];
  const args: unknown[] = [f.tenantId];
  const arg = (value: unknown) => {
    args.push(value);
    return `$${args.length}`;
  };
  if (f.recipient !== undefined) where.push(`recipient = ${arg(f.recipient)}`);
  if (f.purpose !== undefined) where.push(`purpose = ${arg(f.purpose)}`);
  if (f.status === 'pending') where.push(`status = 'pending' and expires_at > ${arg(f.now)}`);
  else if (f.status === 'expired')
    where.push(`(status = 'expired' or (status = 'pending' and expires_at <= ${arg(f.now)}))`);
  else if (f.status !== undefined) where.push(`status = ${arg(f.status)}`);
  if (f.createdAfter !== undefined) where.push(`created_at >= ${arg(f.createdAfter)}`);
  if (f.createdBefore !== undefined) where.push(`created_at < ${arg(f.createdBefore)}`);
  if (f.beforeId !== undefined) where.push(`id < ${arg(f.beforeId)}`);
  const r = await db.query<RawRow>(
    `select ${COLUMNS} from verifications where ${where.join(' and ')} order by id desc limit ${arg(f.limit)}`,
    args,
  );
  return r.rows.map(fromRaw);
}
