// Operator staff management (admins only): add, change role, remove. The platform never loses its
// last admin: removing or demoting one locks every admin row first, so two admins demoting each
// other at once cannot both succeed. Every change is audited; a removed or re-roled member of
// staff loses their sessions, so a new role never rides on an old session.
import type pg from 'pg';
import { lastAdmin, staffNotFound, staffUsernameInvalid, staffUsernameTaken } from './accounts.errors.ts';
import { audit } from './audit.ts';
import { newInitialPassword } from './members.usecases.ts';
import type { StaffRole } from './permissions.models.ts';
import { deleteSubjectSessions } from './sessions.repository.ts';
import { hashPassword } from './sessions.usecases.ts';

export interface StaffRow {
  id: number;
  username: string;
  role: StaffRole;
  two_factor: boolean;
  created_at: Date;
}
export interface StaffActor {
  actor: string;
  ip: string | null;
}

const staffColumns = 'id::int as id, username, role, totp_secret is not null as two_factor, created_at';

export async function listStaff({ db }: { db: pg.Pool }): Promise<StaffRow[]> {
  return (await db.query<StaffRow>(`select ${staffColumns} from operators order by id`)).rows;
}

/** Usernames are logins without an "@" (an "@" makes a login a member's email). */
export function usernameProblem(username: string): boolean {
  return !/^[A-Za-z0-9._-]{1,64}$/.test(username);
}

export async function addStaff({
  db,
  username,
  role,
  password,
  by,
  now,
}: {
  db: pg.Pool;
  username: string;
  role: StaffRole;
  password?: string;
  by: StaffActor;
  now: Date;
}) {
  if (usernameProblem(username)) throw staffUsernameInvalid();
  const initialPassword = password ?? newInitialPassword();
  const hash = await hashPassword(initialPassword);
  const { rows } = await db.query<StaffRow>(
    `insert into operators (username, password_hash, role, password_changed_at) values ($1, $2, $3, $4)
     on conflict (username) do nothing returning ${staffColumns}`,
    [username, hash, role, now],
  );
  const staff = rows[0];
  if (!staff) throw staffUsernameTaken();
  await audit(
    db,
    {
      actor: by.actor,
      action: 'staff.added',
      target: `staff:${staff.id}`,
      after: { username, role },
      ip: by.ip,
    },
    now,
  );
  return { staff, initial_password: password === undefined ? initialPassword : undefined };
}

/** Runs `change` on a staff row with every admin row locked; refuses to leave no admin. */
async function withAdminsLocked<T>(
  db: pg.Pool,
  id: number,
  leavesAdmin: (before: StaffRow) => boolean,
  change: (client: pg.PoolClient, before: StaffRow) => Promise<T>,
): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('begin');
    const admins = await client.query<{ id: number }>(
      "select id::int as id from operators where role = 'admin' order by id for update",
    );
    const { rows } = await client.query<StaffRow>(
      `select ${staffColumns} from operators where id = $1 for update`,
      [id],
    );
    const before = rows[0];
    if (!before) throw staffNotFound();
    const otherAdmins = admins.rows.filter((a) => a.id !== id).length;
    if (before.role === 'admin' && otherAdmins === 0 && !leavesAdmin(before)) throw lastAdmin();
    const result = await change(client, before);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback');
    throw err;
  } finally {
    client.release();
  }
}

export async function changeStaffRole({
  db,
  id,
  role,
  by,
  now,
}: {
  db: pg.Pool;
  id: number;
  role: StaffRole;
  by: StaffActor;
  now: Date;
}): Promise<StaffRow> {
  return withAdminsLocked(
    db,
    id,
    () => role === 'admin',
    async (client, before) => {
      const { rows } = await client.query<StaffRow>(
        `update operators set role = $2 where id = $1 returning ${staffColumns}`,
        [id, role],
      );
      if (before.role !== role) await deleteSubjectSessions(client, 'staff', id);
      await audit(
        client,
        {
          actor: by.actor,
          action: 'staff.role_changed',
          target: `staff:${id}`,
          before: { role: before.role },
          after: { role },
          ip: by.ip,
        },
        now,
      );
      return rows[0]!;
    },
  );
}

export async function removeStaff({
  db,
  id,
  by,
  now,
}: {
  db: pg.Pool;
  id: number;
  by: StaffActor;
  now: Date;
}) {
  await withAdminsLocked(
    db,
    id,
    () => false,
    async (client, before) => {
      await deleteSubjectSessions(client, 'staff', id);
      // A later account of the same name starts clean: no inherited failures or recovery codes.
      await client.query("delete from login_failures where scope = 'account' and key = $1", [
        before.username.toLowerCase(),
      ]);
      await client.query("delete from recovery_codes where subject_kind = 'staff' and subject_id = $1", [id]);
      await client.query('delete from operators where id = $1', [id]);
      await audit(
        client,
        {
          actor: by.actor,
          action: 'staff.removed',
          target: `staff:${id}`,
          before: { username: before.username, role: before.role },
          ip: by.ip,
        },
        now,
      );
    },
  );
}
