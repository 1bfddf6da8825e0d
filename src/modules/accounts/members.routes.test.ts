// Members and the audit log through the server: who may add, change and remove whom; every change
// audited with before and after; the log is append-only and each tenant reads only its own.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { bootstrapInstall } from './accounts.usecases.ts';
import { type Browser, loginAs, newMember, newStaff, withSession } from './accounts.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let tenantA: Awaited<ReturnType<typeof newTenant>>;
let tenantB: Awaited<ReturnType<typeof newTenant>>;
let owner: Browser;
let admin: Browser;
let ownerId: number;

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db));
  tenantA = await newTenant(ctx, 'A');
  tenantB = await newTenant(ctx, 'B');
  const o = await newMember(t.db, tenantA.tenantId, 'owner@a.cn', 'owner');
  ownerId = o.id;
  owner = (await loginAs(app, o.email, o.password)).browser!;
  const a = await newMember(t.db, tenantA.tenantId, 'admin@a.cn', 'admin');
  admin = (await loginAs(app, a.email, a.password)).browser!;
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const call = (
  b: Browser | Record<string, string>,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
) =>
  app.inject({
    method,
    url,
    headers: 'cookie' in b ? withSession(b as Browser) : b,
    ...(payload ? { payload } : {}),
  });

describe('members', () => {
  it('an admin adds a member who logs in with the initial password shown once', async () => {
    const res = await call(admin, 'POST', '/v1/members', { email: 'dev@a.cn', role: 'developer' });
    expect(res.statusCode).toBe(201);
    const { member, initial_password } = res.json();
    expect(member).toMatchObject({ email: 'dev@a.cn', role: 'developer', two_factor: false });
    expect(initial_password).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect((await loginAs(app, 'dev@a.cn', initial_password)).res.statusCode).toBe(200);
    const dup = await call(owner, 'POST', '/v1/members', { email: 'DEV@a.cn', role: 'viewer' });
    expect([dup.statusCode, dup.json().error.code]).toEqual([409, 'members.email_taken']);
  });

  it('an admin cannot make or touch an owner; an owner can', async () => {
    const made = await call(admin, 'POST', '/v1/members', { email: 'o2@a.cn', role: 'owner' });
    expect([made.statusCode, made.json().error.code]).toEqual([403, 'members.role_forbidden']);
    const demote = await call(admin, 'PATCH', `/v1/members/${ownerId}`, { role: 'viewer' });
    expect(demote.json().error.code).toBe('members.role_forbidden');
    const byOwner = await call(owner, 'POST', '/v1/members', { email: 'o2@a.cn', role: 'owner' });
    expect(byOwner.statusCode).toBe(201);
  });

  it('a sender or a bearer key cannot manage members', async () => {
    const s = await newMember(t.db, tenantA.tenantId, 'sender@a.cn', 'sender');
    const sender = (await loginAs(app, s.email, s.password)).browser!;
    expect((await call(sender, 'POST', '/v1/members', { email: 'x@a.cn', role: 'viewer' })).statusCode).toBe(
      403,
    );
    expect((await call(tenantA.auth, 'GET', '/v1/members')).statusCode).toBe(403);
  });

  it('a role change ends the member’s sessions and is audited with before and after', async () => {
    const v = await newMember(t.db, tenantA.tenantId, 'promote@a.cn', 'viewer');
    const session = (await loginAs(app, v.email, v.password)).browser!;
    const res = await call(admin, 'PATCH', `/v1/members/${v.id}`, { role: 'sender' });
    expect(res.json()).toMatchObject({ id: v.id, role: 'sender' });
    expect((await call(session, 'GET', '/v1/auth/me')).statusCode).toBe(401);
    const row = await t.db.pool.query(
      `select actor, before, after from audit_log where action = 'member.role_changed' and target = $1`,
      [`member:${v.id}`],
    );
    expect(row.rows).toEqual([
      { actor: expect.stringMatching(/^member:\d+$/), before: { role: 'viewer' }, after: { role: 'sender' } },
    ]);
  });

  it('keeps the last owner, and removes other members', async () => {
    const tenant = await newTenant(ctx, 'Solo');
    const o = await newMember(t.db, tenant.tenantId, 'solo@s.cn', 'owner');
    const b = (await loginAs(app, o.email, o.password)).browser!;
    const self = await call(b, 'DELETE', `/v1/members/${o.id}`);
    expect([self.statusCode, self.json().error.code]).toEqual([409, 'members.last_owner']);
    const demote = await call(b, 'PATCH', `/v1/members/${o.id}`, { role: 'admin' });
    expect(demote.json().error.code).toBe('members.last_owner');
    const v = await newMember(t.db, tenant.tenantId, 'gone@s.cn', 'viewer');
    expect((await call(b, 'DELETE', `/v1/members/${v.id}`)).statusCode).toBe(204);
    expect((await loginAs(app, v.email, v.password)).res.statusCode).toBe(401);
  });

  it('refuses a member login without "@", so no member can shadow a staff username', async () => {
    await expect(newMember(t.db, tenantA.tenantId, 'admin', 'owner')).rejects.toMatchObject({
      code: 'members.invalid_email',
    });
    const api = await call(owner, 'POST', '/v1/members', { email: 'admin', role: 'viewer' });
    expect(api.statusCode).toBe(400);
  });

  it("gives 404 on another tenant's member", async () => {
    const other = await newMember(t.db, tenantB.tenantId, 'b@b.cn', 'viewer');
    const res = await call(owner, 'PATCH', `/v1/members/${other.id}`, { role: 'sender' });
    expect([res.statusCode, res.json().error.code]).toEqual([404, 'members.not_found']);
    expect((await call(owner, 'DELETE', `/v1/members/${other.id}`)).statusCode).toBe(404);
    expect((await call(owner, 'POST', `/v1/members/${other.id}/password-reset`)).statusCode).toBe(404);
  });

  it('a password reset gives a new password shown once and ends the member’s sessions', async () => {
    const v = await newMember(t.db, tenantA.tenantId, 'forgot@a.cn', 'viewer');
    const session = (await loginAs(app, v.email, v.password)).browser!;
    const res = await call(admin, 'POST', `/v1/members/${v.id}/password-reset`);
    expect((await call(session, 'GET', '/v1/auth/me')).statusCode).toBe(401);
    expect((await loginAs(app, v.email, res.json().password)).res.statusCode).toBe(200);
  });
});

describe('reset codes', () => {
  it('a member sets a new password with a one-time code; the code works once and ends the sessions', async () => {
    const v = await newMember(t.db, tenantA.tenantId, 'reset@a.cn', 'viewer');
    const session = (await loginAs(app, v.email, v.password)).browser!;
    const issued = await call(admin, 'POST', `/v1/members/${v.id}/reset-code`);
    const code: string = issued.json().reset_code;
    expect(Buffer.from(code, 'base64url')).toHaveLength(16);
    const reset = (reset_code: string, email = v.email) =>
      app.inject({
        method: 'POST',
        url: '/v1/auth/reset',
        payload: { email, reset_code, new_password: 'chosen by me 123' },
      });
    expect((await reset('x'.repeat(22))).json().error.code).toBe('auth.invalid_code');
    expect((await reset(code, 'owner@a.cn')).json().error.code).toBe('auth.invalid_code');
    expect((await reset(code)).statusCode).toBe(204);
    expect((await reset(code)).json().error.code).toBe('auth.invalid_code');
    expect((await call(session, 'GET', '/v1/auth/me')).statusCode).toBe(401);
    expect((await loginAs(app, v.email, 'chosen by me 123')).res.statusCode).toBe(200);
    const stored = await t.db.pool.query('select reset_code_hash from members where id = $1', [v.id]);
    expect(stored.rows[0].reset_code_hash).toBeNull();
  });

  it('an admin cannot issue a code for an owner', async () => {
    const res = await call(admin, 'POST', `/v1/members/${ownerId}/reset-code`);
    expect([res.statusCode, res.json().error.code]).toEqual([403, 'members.role_forbidden']);
  });
});

describe('audit log', () => {
  it('refuses UPDATE, DELETE and TRUNCATE in the database itself', async () => {
    for (const sql of ["update audit_log set action = 'x'", 'delete from audit_log', 'truncate audit_log']) {
      await expect(t.db.pool.query(sql)).rejects.toThrow(/append-only/);
    }
  });

  it("a tenant owner reads only its own tenant's rows; a viewer cannot read them", async () => {
    await newMember(t.db, tenantB.tenantId, 'bowner@b.cn', 'owner').then((m) =>
      loginAs(app, m.email, m.password),
    );
    const res = await call(owner, 'GET', '/v1/audit?limit=500');
    expect(res.statusCode).toBe(200);
    const rows: { tenant_id: number; action: string }[] = res.json().data;
    expect(rows.length).toBeGreaterThan(3);
    expect(new Set(rows.map((r) => r.tenant_id))).toEqual(new Set([tenantA.tenantId]));
    expect(rows.map((r) => r.action)).toEqual(
      expect.arrayContaining(['auth.login', 'member.added', 'member.role_changed']),
    );
    const v = await newMember(t.db, tenantA.tenantId, 'viewer@a.cn', 'viewer');
    const viewer = (await loginAs(app, v.email, v.password)).browser!;
    expect((await call(viewer, 'GET', '/v1/audit')).statusCode).toBe(403);
  });

  it('the first-start operator logs in through the same API and reads every tenant’s rows', async () => {
    await t.db.pool.query('delete from operators');
    const install = await bootstrapInstall({ repository: ctx.accounts });
    const { res, browser } = await loginAs(app, 'admin', install!.operator.password);
    expect(res.json()).toMatchObject({
      stage: 'active',
      account: { kind: 'staff', login: 'admin', role: 'admin' },
    });
    const all = await call(browser!, 'GET', '/v1/operator/audit?limit=500');
    const tenants = new Set(all.json().data.map((r: { tenant_id: number | null }) => r.tenant_id));
    expect(tenants.has(tenantA.tenantId) && tenants.has(tenantB.tenantId)).toBe(true);
    const created = await call(browser!, 'POST', '/v1/operator/tenants', { name: 'New Co' });
    expect(created.statusCode).toBe(201);
    expect(created.json().api_key).toMatch(/^hy_/);
    const support = await newStaff(t.db, 'support1', 'support');
    const s = (await loginAs(app, support.username, support.password)).browser!;
    expect((await call(s, 'GET', '/v1/operator/audit')).statusCode).toBe(403);
  });

  it('staff-wide two-factor makes the next staff login a set-up session', async () => {
    const a = await newStaff(t.db, 'admin2', 'admin');
    const b = (await loginAs(app, a.username, a.password)).browser!;
    const set = await call(b, 'PUT' as 'POST', '/v1/operator/security', { staff_require_two_factor: true });
    expect(set.statusCode).toBe(200);
    const next = await loginAs(app, a.username, a.password);
    expect(next.res.json().stage).toBe('enrol');
    const blocked = await call(next.browser!, 'GET', '/v1/operator/tenants');
    expect(blocked.json().error.code).toBe('auth.two_factor_setup_required');
    await t.db.pool.query('update security_settings set staff_require_two_factor = false');
  });
});
