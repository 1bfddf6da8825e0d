// Staff management through the real server: only staff admins reach it; add (with a given or a
// generated password that then logs in), re-role (sessions end), remove (login refused), every step
// audited; the last admin can neither be removed nor demoted.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { type Browser, fakeClock, loginAs, newStaff, withSession } from './accounts.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let admin: Browser;

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app } = await buildTestApp(t.db, { clock: fakeClock() }));
  await newStaff(t.db, 'boss', 'admin');
  admin = (await loginAs(app, 'boss', 'staff password 1')).browser!;
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, who: Browser, payload?: object) =>
  app.inject({ method, url, headers: withSession(who), ...(payload ? { payload } : {}) });
const auditOf = async (target: string) =>
  (
    await t.db.pool.query(
      'select actor, action, before, after from audit_log where target = $1 order by id',
      [target],
    )
  ).rows;

describe('operator staff management', () => {
  it('adds a member of staff with a given password, who can then log in with that role, audited', async () => {
    const res = await call('POST', '/v1/operator/staff', admin, {
      username: 'rita',
      role: 'reviewer',
      password: 'rita password 1',
    });
    expect(res.statusCode).toBe(201);
    const staff = res.json().staff;
    expect(staff).toMatchObject({ username: 'rita', role: 'reviewer', two_factor: false });
    expect(res.json().initial_password).toBeUndefined();
    const login = await loginAs(app, 'rita', 'rita password 1');
    expect(login.res.json().account).toMatchObject({ kind: 'staff', role: 'reviewer' });
    const list = await call('GET', '/v1/operator/staff', admin);
    expect(list.json().data.map((s: { username: string }) => s.username)).toContain('rita');
    expect(await auditOf(`staff:${staff.id}`)).toEqual([
      expect.objectContaining({ action: 'staff.added', after: { username: 'rita', role: 'reviewer' } }),
    ]);
  });

  it('generates an initial password when none is given, shown once, and it logs in', async () => {
    const res = await call('POST', '/v1/operator/staff', admin, { username: 'sam', role: 'support' });
    expect(res.statusCode).toBe(201);
    const password: string = res.json().initial_password;
    expect(password.length).toBeGreaterThanOrEqual(12);
    expect((await loginAs(app, 'sam', password)).res.statusCode).toBe(200);
  });

  it('refuses a taken username (409) and a username with an "@" (400)', async () => {
    await newStaff(t.db, 'taken', 'support');
    const taken = await call('POST', '/v1/operator/staff', admin, { username: 'taken', role: 'support' });
    expect(taken.json().error.code).toBe('staff.username_taken');
    const at = await call('POST', '/v1/operator/staff', admin, { username: 'x@y.cn', role: 'support' });
    expect({ status: at.statusCode, code: at.json().error.code }).toEqual({
      status: 400,
      code: 'staff.invalid_username',
    });
  });

  it('changes a role: the old session ends, the new login has the new role, audited before/after', async () => {
    const created = await call('POST', '/v1/operator/staff', admin, {
      username: 'una',
      role: 'support',
      password: 'una password 1',
    });
    const id: number = created.json().staff.id;
    const una = (await loginAs(app, 'una', 'una password 1')).browser!;
    const res = await call('PATCH', `/v1/operator/staff/${id}`, admin, { role: 'reviewer' });
    expect(res.json().staff).toMatchObject({ id, role: 'reviewer' });
    expect(
      (await app.inject({ method: 'GET', url: '/v1/auth/me', headers: withSession(una, false) })).statusCode,
    ).toBe(401);
    expect((await loginAs(app, 'una', 'una password 1')).res.json().account.role).toBe('reviewer');
    expect(await auditOf(`staff:${id}`)).toContainEqual(
      expect.objectContaining({
        action: 'staff.role_changed',
        before: { role: 'support' },
        after: { role: 'reviewer' },
      }),
    );
  });

  it('removes a member of staff: their session ends, their login is refused, audited; again is 404', async () => {
    const created = await call('POST', '/v1/operator/staff', admin, {
      username: 'vic',
      role: 'support',
      password: 'vic password 1',
    });
    const id: number = created.json().staff.id;
    const vic = (await loginAs(app, 'vic', 'vic password 1')).browser!;
    expect((await call('DELETE', `/v1/operator/staff/${id}`, admin)).statusCode).toBe(204);
    expect(
      (await app.inject({ method: 'GET', url: '/v1/auth/me', headers: withSession(vic, false) })).statusCode,
    ).toBe(401);
    expect((await loginAs(app, 'vic', 'vic password 1')).res.statusCode).toBe(401);
    expect(await auditOf(`staff:${id}`)).toContainEqual(
      expect.objectContaining({ action: 'staff.removed', before: { username: 'vic', role: 'support' } }),
    );
    expect((await call('DELETE', `/v1/operator/staff/${id}`, admin)).json().error.code).toBe(
      'staff.not_found',
    );
  });

  it('refuses to remove or demote the last admin (409), and allows it once another admin exists', async () => {
    const admins = (await call('GET', '/v1/operator/staff', admin))
      .json()
      .data.filter((s: { role: string }) => s.role === 'admin');
    // Leave "boss" the only admin, whatever the template seeded.
    for (const other of admins.filter((s: { username: string }) => s.username !== 'boss'))
      await t.db.pool.query("update operators set role = 'support' where id = $1", [other.id]);
    const bossId: number = admins.find((s: { username: string }) => s.username === 'boss').id;
    const demote = await call('PATCH', `/v1/operator/staff/${bossId}`, admin, { role: 'support' });
    expect({ status: demote.statusCode, code: demote.json().error.code }).toEqual({
      status: 409,
      code: 'staff.last_admin',
    });
    const remove = await call('DELETE', `/v1/operator/staff/${bossId}`, admin);
    expect(remove.json().error.code).toBe('staff.last_admin');
    const second = await call('POST', '/v1/operator/staff', admin, { username: 'deputy', role: 'admin' });
    const deputyId: number = second.json().staff.id;
    expect(
      (await call('PATCH', `/v1/operator/staff/${deputyId}`, admin, { role: 'support' })).statusCode,
    ).toBe(200);
  });

  it('refuses staff who are not admins (403 auth.forbidden)', async () => {
    await newStaff(t.db, 'helper', 'support');
    const helper = (await loginAs(app, 'helper', 'staff password 1')).browser!;
    for (const res of [
      await call('GET', '/v1/operator/staff', helper),
      await call('POST', '/v1/operator/staff', helper, { username: 'nope', role: 'admin' }),
    ])
      expect({ status: res.statusCode, code: res.json().error.code }).toEqual({
        status: 403,
        code: 'auth.forbidden',
      });
  });
});
