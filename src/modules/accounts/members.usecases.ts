// A tenant's members: owners and admins add them (with an initial password shown once), change
// their roles, reset their passwords and remove them. Every change is audited with before/after.
// A one-time reset code sent by SMS through Hongyan itself comes later (the columns exist).
import { randomBytes } from 'node:crypto';
import {
  invalidEmail,
  lastOwner,
  memberEmailTaken,
  memberNotFound,
  memberRoleForbidden,
} from './accounts.errors.ts';
import { audit, type Queryable } from './audit.ts';
import { canManageRole, type TenantRole } from './permissions.models.ts';
import { deleteSubjectSessions, setPasswordHash } from './sessions.repository.ts';
import { hashPassword } from './sessions.usecases.ts';

export interface MemberRow {
  id: number;
  tenant_id: number;
  email: string;
  role: TenantRole;
  two_factor: boolean;
  created_at: Date;
}

const memberColumns = 'id, tenant_id, email, role, totp_secret is not null as two_factor, created_at';

export interface MemberActor {
  actor: string;
  role: TenantRole | null;
  ip: string | null;
}

export function newInitialPassword(): string {
  return randomBytes(12).toString('base64url');
}

export async function listMembers({ db, tenantId }: { db: Queryable; tenantId: number }) {
  const { rows } = await db.query<MemberRow>(
    `select ${memberColumns} from members where tenant_id = $1 order by id`,
    [tenantId],
  );
  return rows;
}

async function getMember(db: Queryable, tenantId: number, id: number) {
  const { rows } = await db.query<MemberRow>(
    `select ${memberColumns} from members where tenant_id = $1 and id = $2`,
    [tenantId, id],
  );
  if (!rows[0]) throw memberNotFound();
  return rows[0];
}

/** `by.role` null: the operator (CLI), who may add any role. */
function checkMayManage(by: MemberActor, ...roles: TenantRole[]) {
  if (by.role === null) return;
  for (const role of roles) if (!canManageRole(by.role, role)) throw memberRoleForbidden();
}

export async function addMember({
  db,
  tenantId,
  email,
  role,
  password,
  by,
  now,
}: {
  db: Queryable;
  tenantId: number;
  email: string;
  role: TenantRole;
  password?: string;
  by: MemberActor;
  now: Date;
}) {
  checkMayManage(by, role);
  if (!/^[^@\s]+@[^@\s]+$/.test(email.trim())) throw invalidEmail();
  const initialPassword = password ?? newInitialPassword();
  const hash = await hashPassword(initialPassword);
  const result = await db.query<MemberRow>(
    `insert into members (tenant_id, email, role, password_hash, password_changed_at)
     select $1, $2, $3, $4, $5 where not exists (select 1 from members where lower(email) = lower($2))
     on conflict do nothing
     returning ${memberColumns}`,
    [tenantId, email.trim(), role, hash, now],
  );
  const member = result.rows[0];
  if (!member) throw memberEmailTaken();
  await audit(
    db,
    {
      actor: by.actor,
      tenantId,
      action: 'member.added',
      target: `member:${member.id}`,
      after: { email: member.email, role },
      ip: by.ip,
    },
    now,
  );
  return { member, initial_password: password === undefined ? initialPassword : undefined };
}

async function ownersLeftWithout(db: Queryable, tenantId: number, memberId: number) {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from members where tenant_id = $1 and role = 'owner' and id <> $2`,
    [tenantId, memberId],
  );
  return rows[0]?.n ?? 0;
}

export async function changeMemberRole({
  db,
  tenantId,
  id,
  role,
  by,
  now,
}: {
  db: Queryable;
  tenantId: number;
  id: number;
  role: TenantRole;
  by: MemberActor;
  now: Date;
}) {
  const before = await getMember(db, tenantId, id);
  checkMayManage(by, before.role, role);
  if (before.role === 'owner' && role !== 'owner' && (await ownersLeftWithout(db, tenantId, id)) === 0)
    throw lastOwner();
  await db.query('update members set role = $3 where tenant_id = $1 and id = $2', [tenantId, id, role]);
  // A role taken away takes effect now, not when the member's sessions expire.
  await deleteSubjectSessions(db, 'member', id);
  await audit(
    db,
    {
      actor: by.actor,
      tenantId,
      action: 'member.role_changed',
      target: `member:${id}`,
      before: { role: before.role },
      after: { role },
      ip: by.ip,
    },
    now,
  );
  return { ...before, role };
}

export async function removeMember({
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
  const before = await getMember(db, tenantId, id);
  checkMayManage(by, before.role);
  if (before.role === 'owner' && (await ownersLeftWithout(db, tenantId, id)) === 0) throw lastOwner();
  await deleteSubjectSessions(db, 'member', id);
  await db.query(`delete from recovery_codes where subject_kind = 'member' and subject_id = $1`, [id]);
  await db.query('delete from members where tenant_id = $1 and id = $2', [tenantId, id]);
  await audit(
    db,
    {
      actor: by.actor,
      tenantId,
      action: 'member.removed',
      target: `member:${id}`,
      before: { email: before.email, role: before.role },
      ip: by.ip,
    },
    now,
  );
}

/** An admin's reset: a new password shown once; the member's sessions end. */
export async function resetMemberPassword({
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
  const member = await getMember(db, tenantId, id);
  checkMayManage(by, member.role);
  const password = newInitialPassword();
  await setPasswordHash(db, 'member', id, await hashPassword(password), now);
  await deleteSubjectSessions(db, 'member', id);
  await audit(
    db,
    { actor: by.actor, tenantId, action: 'member.password_reset', target: `member:${id}`, ip: by.ip },
    now,
  );
  return { password };
}
