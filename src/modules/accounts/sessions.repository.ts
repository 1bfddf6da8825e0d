// SQL of logins: the people who log in (members and staff), sessions, recovery codes and failure
// counters. Members and staff live in two tables with the same login columns; a Subject is either.
import type { Queryable } from './audit.ts';
import type { FailureState } from './sessions.models.ts';
import type { StaffRole, TenantRole } from './permissions.models.ts';

export type SubjectKind = 'member' | 'staff';

export interface Subject {
  kind: SubjectKind;
  id: number;
  tenantId: number | null;
  /** Email of a member, username of staff. */
  login: string;
  role: TenantRole | StaffRole;
  passwordHash: string | null;
  totpSecret: string | null;
  totpPendingSecret: string | null;
  totpLastStep: number | null;
  /** The tenant's status (members only). */
  tenantStatus: string | null;
  /** The operator demands 2FA of this member's tenant, or of all staff. */
  twoFactorRequired: boolean;
}

const memberSelect = `
  select 'member' as kind, m.id, m.tenant_id, m.email as login, m.role, m.password_hash,
         m.totp_secret, m.totp_pending_secret, m.totp_last_step, t.status as tenant_status,
         t.require_two_factor as two_factor_required
    from members m join tenants t on t.id = m.tenant_id`;
const staffSelect = `
  select 'staff' as kind, o.id, null::bigint as tenant_id, o.username as login, o.role, o.password_hash,
         o.totp_secret, o.totp_pending_secret, o.totp_last_step, null as tenant_status,
         (select staff_require_two_factor from security_settings) as two_factor_required
    from operators o`;

function toSubject(r: Record<string, unknown>): Subject {
  return {
    kind: r.kind as SubjectKind,
    id: Number(r.id),
    tenantId: r.tenant_id === null ? null : Number(r.tenant_id),
    login: r.login as string,
    role: r.role as TenantRole | StaffRole,
    passwordHash: r.password_hash as string | null,
    totpSecret: r.totp_secret as string | null,
    totpPendingSecret: r.totp_pending_secret as string | null,
    totpLastStep: r.totp_last_step === null ? null : Number(r.totp_last_step),
    tenantStatus: r.tenant_status as string | null,
    twoFactorRequired: r.two_factor_required === true,
  };
}

/**
 * A member by email (case-insensitive) when the login has an "@", else staff by username: staff
 * usernames have none, so no member can ever shadow an operator's login.
 */
export async function findSubjectByLogin(db: Queryable, login: string): Promise<Subject | null> {
  const { rows } = login.includes('@')
    ? await db.query(`${memberSelect} where lower(m.email) = lower($1)`, [login])
    : await db.query(`${staffSelect} where o.username = $1`, [login]);
  return rows[0] ? toSubject(rows[0]) : null;
}

export async function findSubject(db: Queryable, kind: SubjectKind, id: number): Promise<Subject | null> {
  const sql = kind === 'member' ? `${memberSelect} where m.id = $1` : `${staffSelect} where o.id = $1`;
  const { rows } = await db.query(sql, [id]);
  return rows[0] ? toSubject(rows[0]) : null;
}

const tableOf = (kind: SubjectKind) => (kind === 'member' ? 'members' : 'operators');

export async function setPasswordHash(db: Queryable, kind: SubjectKind, id: number, hash: string, at: Date) {
  await db.query(`update ${tableOf(kind)} set password_hash = $2, password_changed_at = $3 where id = $1`, [
    id,
    hash,
    at,
  ]);
}

export async function setTotp(
  db: Queryable,
  kind: SubjectKind,
  id: number,
  fields: { secret?: string | null; pending?: string | null; lastStep?: number | null },
) {
  const sets: string[] = [];
  const values: unknown[] = [id];
  const add = (column: string, value: unknown) => {
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  };
  if (fields.secret !== undefined) add('totp_secret', fields.secret);
  if (fields.pending !== undefined) add('totp_pending_secret', fields.pending);
  if (fields.lastStep !== undefined) add('totp_last_step', fields.lastStep);
  if (sets.length === 0) return;
  await db.query(`update ${tableOf(kind)} set ${sets.join(', ')} where id = $1`, values);
}

/** Accepts a TOTP step only if it is newer than the last one accepted (two logins racing on one code). */
export async function claimTotpStep(db: Queryable, kind: SubjectKind, id: number, step: number) {
  const { rowCount } = await db.query(
    `update ${tableOf(kind)} set totp_last_step = $2
      where id = $1 and (totp_last_step is null or totp_last_step < $2)`,
    [id, step],
  );
  return rowCount === 1;
}

export type SessionStage = 'challenge' | 'enrol' | 'active';

export interface SessionRow {
  id_hash: Buffer;
  subject_kind: SubjectKind;
  subject_id: number;
  tenant_id: number | null;
  stage: SessionStage;
  csrf_hash: Buffer;
  last_seen_at: Date;
  expires_at: Date;
}

export async function insertSession(
  db: Queryable,
  s: {
    idHash: Buffer;
    subject: Subject;
    stage: SessionStage;
    csrfHash: Buffer;
    ip: string | null;
    now: Date;
    expiresAt: Date;
  },
) {
  await db.query(
    `insert into sessions (id_hash, subject_kind, subject_id, tenant_id, stage, csrf_hash, ip,
                           created_at, last_seen_at, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)`,
    [
      s.idHash,
      s.subject.kind,
      s.subject.id,
      s.subject.tenantId,
      s.stage,
      s.csrfHash,
      s.ip,
      s.now,
      s.expiresAt,
    ],
  );
}

export async function findSession(db: Queryable, idHash: Buffer): Promise<SessionRow | null> {
  const { rows } = await db.query<SessionRow>(
    `select id_hash, subject_kind, subject_id, tenant_id, stage, csrf_hash, last_seen_at, expires_at
       from sessions where id_hash = $1`,
    [idHash],
  );
  return rows[0] ?? null;
}

export async function touchSession(db: Queryable, idHash: Buffer, now: Date) {
  await db.query('update sessions set last_seen_at = $2 where id_hash = $1', [idHash, now]);
}

export async function deleteSession(db: Queryable, idHash: Buffer) {
  await db.query('delete from sessions where id_hash = $1', [idHash]);
}

/** Ends a subject's sessions (password change, removal, role change), except the one kept. */
export async function deleteSubjectSessions(db: Queryable, kind: SubjectKind, id: number, keep?: Buffer) {
  await db.query(
    'delete from sessions where subject_kind = $1 and subject_id = $2 and ($3::bytea is null or id_hash <> $3)',
    [kind, id, keep ?? null],
  );
}

export async function readFailures(
  db: Queryable,
  keys: { scope: 'account' | 'address'; key: string }[],
): Promise<Map<string, FailureState>> {
  const { rows } = await db.query<{
    scope: string;
    key: string;
    failures: number;
    last_failure_at: Date;
    locked_until: Date | null;
  }>(
    `select f.scope, f.key, f.failures, f.last_failure_at, f.locked_until
       from login_failures f join unnest($1::text[], $2::text[]) as k(scope, key)
         on f.scope = k.scope and f.key = k.key`,
    [keys.map((k) => k.scope), keys.map((k) => k.key)],
  );
  return new Map(
    rows.map((r) => [
      `${r.scope}:${r.key}`,
      { failures: r.failures, lastFailureAt: r.last_failure_at, lockedUntil: r.locked_until },
    ]),
  );
}

export async function writeFailure(
  db: Queryable,
  scope: 'account' | 'address',
  key: string,
  s: FailureState,
) {
  await db.query(
    `insert into login_failures (scope, key, failures, last_failure_at, locked_until)
     values ($1, $2, $3, $4, $5)
     on conflict (scope, key) do update
       set failures = excluded.failures, last_failure_at = excluded.last_failure_at,
           locked_until = excluded.locked_until`,
    [scope, key, s.failures, s.lastFailureAt, s.lockedUntil],
  );
}

export async function clearFailures(db: Queryable, scope: 'account' | 'address', key: string) {
  await db.query('delete from login_failures where scope = $1 and key = $2', [scope, key]);
}

export async function replaceRecoveryCodes(db: Queryable, kind: SubjectKind, id: number, hashes: Buffer[]) {
  await db.query('delete from recovery_codes where subject_kind = $1 and subject_id = $2', [kind, id]);
  await db.query(
    `insert into recovery_codes (subject_kind, subject_id, code_hash)
     select $1, $2, h from unnest($3::bytea[]) as h`,
    [kind, id, hashes],
  );
}

/** Marks one unused recovery code used; false when it does not exist or was used before. */
export async function useRecoveryCode(db: Queryable, kind: SubjectKind, id: number, hash: Buffer, at: Date) {
  const { rowCount } = await db.query(
    `update recovery_codes set used_at = $4
      where subject_kind = $1 and subject_id = $2 and code_hash = $3 and used_at is null`,
    [kind, id, hash, at],
  );
  return rowCount === 1;
}

export async function countUnusedRecoveryCodes(db: Queryable, kind: SubjectKind, id: number) {
  const { rows } = await db.query<{ n: number }>(
    'select count(*)::int as n from recovery_codes where subject_kind = $1 and subject_id = $2 and used_at is null',
    [kind, id],
  );
  return rows[0]?.n ?? 0;
}

/** A session that had to set up two-factor becomes a full one once it has. */
export async function promoteEnrolSession(db: Queryable, idHash: Buffer) {
  await db.query(`update sessions set stage = 'active' where id_hash = $1 and stage = 'enrol'`, [idHash]);
}

/**
 * Deletes up to 100 sessions past their absolute expiry, on each login (an idle session is deleted
 * when next presented, or by this once its absolute expiry passes).
 */
export async function pruneSessions(db: Queryable, now: Date) {
  await db.query(
    'delete from sessions where id_hash in (select id_hash from sessions where expires_at < $1 limit 100)',
    [now],
  );
}

/** Forgets failure counters whose last failure is older than the lockout period and not locked. */
export async function pruneLoginFailures(db: Queryable, now: Date, lockoutMs: number) {
  await db.query(
    `delete from login_failures where (scope, key) in (
       select scope, key from login_failures
        where last_failure_at < $2 and (locked_until is null or locked_until < $1)
        limit 100)`,
    [now, new Date(now.getTime() - lockoutMs)],
  );
}
