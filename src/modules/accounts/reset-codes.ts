// One-time reset codes: an owner or admin issues one for a member (shown to that admin to pass
// on), or the member asks for one by SMS to their verified phone (phone.usecases.ts), and the
// member sets a new password with it. 128 random bits, stored as a SHA-256,
// valid 24 hours, used once; wrong codes count as login failures of that email.
import { randomBytes } from 'node:crypto';
import { invalidCode, memberNotFound, memberRoleForbidden } from './accounts.errors.ts';
import { actorOf, audit, type Queryable } from './audit.ts';
import { checkBackoff, recordFailure } from './login-failures.ts';
import type { MemberActor } from './members.usecases.ts';
import { canManageRole, type TenantRole } from './permissions.models.ts';
import { hashToken } from './sessions.models.ts';
import { deleteSubjectSessions, findSubjectByLogin, setPasswordHash } from './sessions.repository.ts';
import { hashPassword, type LoginSettings } from './sessions.usecases.ts';

const RESET_CODE_MS = 24 * 3_600_000;

/** A new code for the member, replacing any earlier one; only its hash is kept. */
export async function storeResetCode(db: Queryable, memberId: number, now: Date) {
  const code = randomBytes(16).toString('base64url');
  const expiresAt = new Date(now.getTime() + RESET_CODE_MS);
  await db.query('update members set reset_code_hash = $2, reset_code_expires_at = $3 where id = $1', [
    memberId,
    hashToken(code),
    expiresAt,
  ]);
  return { code, expiresAt };
}

export async function issueResetCode({
  db,
  tenantId,
  id,
  by,
  now,
}: {
  db: Queryable;
  tenantId: number;
  id: number;
  by: MemberActor;
  now: Date;
}) {
  const { rows } = await db.query<{ role: TenantRole }>(
    'select role from members where tenant_id = $1 and id = $2',
    [tenantId, id],
  );
  const member = rows[0];
  if (!member) throw memberNotFound();
  if (by.role !== null && !canManageRole(by.role, member.role)) throw memberRoleForbidden();
  const { code, expiresAt } = await storeResetCode(db, id, now);
  await audit(
    db,
    { actor: by.actor, tenantId, action: 'member.reset_code_issued', target: `member:${id}`, ip: by.ip },
    now,
  );
  return { reset_code: code, expires_at: expiresAt };
}

/** Sets a new password with a reset code; the code is spent and the member's sessions end. */
export async function resetPasswordWithCode({
  db,
  email,
  code,
  newPassword,
  ip,
  now,
  settings,
}: {
  db: Queryable;
  email: string;
  code: string;
  newPassword: string;
  ip: string;
  now: Date;
  settings: LoginSettings;
}) {
  const accountKey = email.trim().toLowerCase();
  await checkBackoff(db, accountKey, ip, settings, now);
  const subject = email.includes('@') ? await findSubjectByLogin(db, email.trim()) : null;
  const hash = await hashPassword(newPassword);
  // Spending the code is the check: one UPDATE matches the email, the hash and the expiry.
  const spent = subject
    ? await db.query(
        `update members set reset_code_hash = null, reset_code_expires_at = null
          where id = $1 and reset_code_hash = $2 and reset_code_expires_at > $3`,
        [subject.id, hashToken(code), now],
      )
    : { rowCount: 0 };
  if (!subject || spent.rowCount !== 1) {
    await recordFailure({
      db,
      accountKey,
      ip,
      settings,
      now,
      subject,
      login: email,
      action: 'auth.reset_failed',
    });
    throw invalidCode({ message: 'The reset code is wrong, expired or already used.' });
  }
  await setPasswordHash(db, 'member', subject.id, hash, now);
  await deleteSubjectSessions(db, 'member', subject.id);
  await audit(
    db,
    { actor: actorOf(subject), tenantId: subject.tenantId, action: 'auth.password_reset', ip },
    now,
  );
}
