// Login security through the real server (inject, real cookies): session cookie and fixation,
// CSRF, backoff and lockout, two-factor with RFC 6238 codes and single-use recovery codes,
// password change, tenant isolation for sessions, and the audit trail of each.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { browserOf, fakeClock, loginAs, newMember, newStaff, withSession } from './accounts.testkit.ts';
import { hashToken } from './sessions.models.ts';
import { base32Decode, totp } from './totp.models.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
const clock = fakeClock();
let tenantA: Awaited<ReturnType<typeof newTenant>>;
let tenantB: Awaited<ReturnType<typeof newTenant>>;

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, {
    clock,
    env: {
      HONGYAN_LOGIN_FREE_FAILURES: '2',
      HONGYAN_LOGIN_BACKOFF_BASE_MS: '1000',
      HONGYAN_LOGIN_BACKOFF_MAX_MS: '4000',
      HONGYAN_LOGIN_LOCKOUT_AFTER: '5',
      HONGYAN_LOGIN_ADDRESS_LOCKOUT_AFTER: '12',
      HONGYAN_LOGIN_LOCKOUT_MINUTES: '15',
    },
  }));
  tenantA = await newTenant(ctx, 'A');
  tenantB = await newTenant(ctx, 'B');
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const me = (headers: Record<string, string>) => app.inject({ method: 'GET', url: '/v1/auth/me', headers });
const auditActions = async (target: string) =>
  (await t.db.pool.query('select action from audit_log where target = $1 order by id', [target])).rows.map(
    (r) => r.action as string,
  );

describe('login and sessions', () => {
  it('sets an HttpOnly SameSite=Lax session cookie whose id is stored only as a hash', async () => {
    const m = await newMember(t.db, tenantA.tenantId, 'owner@a.cn', 'owner');
    const { res, browser } = await loginAs(app, 'OWNER@a.cn', m.password);
    expect(res.statusCode).toBe(200);
    const setCookie = [res.headers['set-cookie']].flat().join('\n');
    expect(setCookie).toMatch(/hy_session=[^;]+; Path=\/; Max-Age=43200; SameSite=Lax; HttpOnly/);
    expect(Buffer.from(browser!.sessionId, 'base64url')).toHaveLength(32);
    const stored = await t.db.pool.query('select id_hash from sessions');
    expect(stored.rows.map((r) => r.id_hash)).toContainEqual(hashToken(browser!.sessionId));
    expect(JSON.stringify(stored.rows)).not.toContain(browser!.sessionId);
    const who = await me(withSession(browser!, false));
    expect(who.json()).toMatchObject({
      kind: 'member',
      login: 'owner@a.cn',
      role: 'owner',
      tenant_id: tenantA.tenantId,
    });
  });

  it('gives a new session id at login and ends the one the client came with (no fixation)', async () => {
    const m = await newMember(t.db, tenantA.tenantId, 'fix@a.cn', 'sender');
    const first = (await loginAs(app, m.email, m.password)).browser!;
    const second = (await loginAs(app, m.email, m.password, { cookie: first.cookie })).browser!;
    expect(second.sessionId).not.toBe(first.sessionId);
    expect((await me(withSession(first, false))).statusCode).toBe(401);
    expect((await me(withSession(second, false))).statusCode).toBe(200);
    // A planted id that was never issued is not adopted either.
    const planted = (await loginAs(app, m.email, m.password, { cookie: 'hy_session=planted' })).browser!;
    expect(planted.sessionId).not.toBe('planted');
  });

  it('refuses a cookie-authenticated change without the CSRF token, and takes it with the token', async () => {
    const m = await newMember(t.db, tenantA.tenantId, 'csrf@a.cn', 'sender');
    const b = (await loginAs(app, m.email, m.password)).browser!;
    const send = (headers: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers,
        payload: { to: '+8613800138000', content: 'hi' },
      });
    const without = await send(withSession(b, false));
    expect([without.statusCode, without.json().error.code]).toEqual([403, 'auth.csrf_failed']);
    const wrong = await send({ cookie: b.cookie, 'x-csrf-token': 'x'.repeat(43) });
    expect([wrong.statusCode, wrong.json().error.code]).toEqual([403, 'auth.csrf_failed']);
    const withToken = await send(withSession(b));
    expect(withToken.statusCode).toBe(202);
    // Reads need no token.
    expect(
      (await app.inject({ method: 'GET', url: '/v1/messages', headers: withSession(b, false) })).statusCode,
    ).toBe(200);
  });

  it('ends a session after the idle limit and at the absolute limit', async () => {
    const m = await newMember(t.db, tenantA.tenantId, 'idle@a.cn', 'viewer');
    const idle = (await loginAs(app, m.email, m.password)).browser!;
    clock.advance(31 * 60_000);
    expect((await me(withSession(idle, false))).statusCode).toBe(401);
    const busy = (await loginAs(app, m.email, m.password)).browser!;
    // Used every 25 minutes, it outlives the idle limit until the 12-hour absolute limit.
    for (let minutes = 25; minutes <= 700; minutes += 25) {
      clock.advance(25 * 60_000);
      expect({ minutes, status: (await me(withSession(busy, false))).statusCode }).toEqual({
        minutes,
        status: 200,
      });
    }
    clock.advance(25 * 60_000);
    expect((await me(withSession(busy, false))).statusCode).toBe(401);
  });

  it('logout ends the session and clears the cookie', async () => {
    const m = await newMember(t.db, tenantA.tenantId, 'out@a.cn', 'viewer');
    const b = (await loginAs(app, m.email, m.password)).browser!;
    const out = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: withSession(b) });
    expect(out.statusCode).toBe(204);
    expect([out.headers['set-cookie']].flat().join()).toContain('hy_session=; Path=/; Max-Age=0');
    expect((await me(withSession(b, false))).statusCode).toBe(401);
  });

  it("gives tenant A's session 404 on tenant B's message", async () => {
    const sent = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: tenantB.auth,
      payload: { to: '+8613800138000', content: 'B only' },
    });
    const m = await newMember(t.db, tenantA.tenantId, 'nosy@a.cn', 'admin');
    const b = (await loginAs(app, m.email, m.password)).browser!;
    const res = await app.inject({
      method: 'GET',
      url: `/v1/messages/${sent.json().id}`,
      headers: withSession(b),
    });
    expect([res.statusCode, res.json().error.code]).toEqual([404, 'messages.not_found']);
    const asB = await app.inject({
      method: 'GET',
      url: `/v1/messages/${sent.json().id}`,
      headers: tenantB.auth,
    });
    expect(asB.statusCode).toBe(200);
  });
});

describe('backoff and lockout', () => {
  const ip = (n: number) => ({ remoteAddress: `10.0.0.${n}` });
  const attempt = (login: string, password: string, from = 1) =>
    app.inject({ method: 'POST', url: '/v1/auth/login', payload: { login, password }, ...ip(from) });

  it('delays after the free failures, doubling, then locks the account even for the right password', async () => {
    const m = await newMember(t.db, tenantA.tenantId, 'victim@a.cn', 'owner');
    expect((await attempt(m.email, 'wrong password 1')).statusCode).toBe(401);
    expect((await attempt(m.email, 'wrong password 2')).statusCode).toBe(401);
    expect((await attempt(m.email, 'wrong password 3')).statusCode).toBe(401);
    // Third failure: 1 s backoff. An attempt now is refused without checking the password.
    const early = await attempt(m.email, m.password);
    expect([early.statusCode, early.json().error.code, early.headers['retry-after']]).toEqual([
      429,
      'auth.login_delayed',
      '1',
    ]);
    clock.advance(1000);
    expect((await attempt(m.email, 'wrong password 4')).statusCode).toBe(401);
    const doubled = await attempt(m.email, m.password);
    expect([doubled.statusCode, doubled.headers['retry-after']]).toEqual([429, '2']);
    clock.advance(2000);
    expect((await attempt(m.email, 'wrong password 5')).statusCode).toBe(401);
    const locked = await attempt(m.email, m.password);
    expect([locked.statusCode, locked.json().error.code, locked.headers['retry-after']]).toEqual([
      429,
      'auth.locked',
      '900',
    ]);
    clock.advance(10 * 60_000);
    expect((await attempt(m.email, m.password)).json().error.code).toBe('auth.locked');
    clock.advance(5 * 60_000);
    expect((await attempt(m.email, m.password)).statusCode).toBe(200);
    expect(await auditActions(m.email)).toEqual([
      ...Array<string>(5).fill('auth.login_failed'),
      'auth.locked',
    ]);
  });

  it('locks an address that fails on many accounts, without locking those accounts elsewhere', async () => {
    const m = await newMember(t.db, tenantA.tenantId, 'spray@a.cn', 'viewer');
    for (let i = 0; i < 12; i++) {
      // Waits out the address's backoff, so that only its lockout is at play.
      clock.advance(4000);
      const res = await attempt(`nobody${i}@x.cn`, 'guess guess', 9);
      expect(res.statusCode).toBe(401);
    }
    const fromSprayer = await attempt(m.email, m.password, 9);
    expect([fromSprayer.statusCode, fromSprayer.json().error.code]).toEqual([429, 'auth.locked']);
    expect((await attempt(m.email, m.password, 10)).statusCode).toBe(200);
    const lockedAudit = await t.db.pool.query(
      `select count(*)::int as n from audit_log where action = 'auth.address_locked' and target = '10.0.0.9'`,
    );
    expect(lockedAudit.rows[0].n).toBe(1);
    clock.advance(15 * 60_000 + 1);
  });

  it('answers the same for an unknown login as for a wrong password', async () => {
    const unknown = await attempt('nobody-at-all@x.cn', 'whatever pw', 20);
    const wrong = await attempt('owner@a.cn', 'whatever pw', 21);
    expect(unknown.json()).toEqual(wrong.json());
    expect(unknown.statusCode).toBe(401);
  });
});

describe('two-factor', () => {
  const codeAt = (secret: string) => totp(base32Decode(secret), Math.floor(clock.now().getTime() / 1000));

  it('enrols with a code, then logs in in two steps; a code is not accepted twice; recovery codes work once', async () => {
    const m = await newMember(t.db, tenantA.tenantId, 'tfa@a.cn', 'admin');
    const b = (await loginAs(app, m.email, m.password)).browser!;
    const enrol = await app.inject({ method: 'POST', url: '/v1/auth/two-factor', headers: withSession(b) });
    const { secret, otpauth_uri } = enrol.json();
    expect(otpauth_uri).toContain(`secret=${secret}`);
    const badConfirm = await app.inject({
      method: 'POST',
      url: '/v1/auth/two-factor/confirm',
      headers: withSession(b),
      payload: { code: '000000' },
    });
    expect(badConfirm.statusCode).toBe(401);
    const confirm = await app.inject({
      method: 'POST',
      url: '/v1/auth/two-factor/confirm',
      headers: withSession(b),
      payload: { code: codeAt(secret) },
    });
    expect(confirm.statusCode).toBe(200);
    const recovery: string[] = confirm.json().recovery_codes;
    expect(new Set(recovery).size).toBe(10);
    // The same step's code was spent by the confirmation.
    clock.advance(30_000);

    const step1 = await loginAs(app, m.email, m.password);
    expect(step1.res.json().stage).toBe('two_factor');
    expect(step1.browser).toBeNull();
    const challenge = step1.res.json().challenge;
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/auth/login/two-factor',
      payload: { challenge, code: '123456' },
    });
    expect([wrong.statusCode, wrong.json().error.code]).toEqual([401, 'auth.invalid_code']);
    const code = codeAt(secret);
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/auth/login/two-factor',
      payload: { challenge, code },
    });
    expect(ok.statusCode).toBe(200);
    expect(browserOf(ok)).not.toBeNull();
    // The challenge is spent, and the same code cannot open a second session.
    const again = await app.inject({
      method: 'POST',
      url: '/v1/auth/login/two-factor',
      payload: { challenge, code },
    });
    expect(again.json().error.code).toBe('auth.challenge_expired');
    const replay = (await loginAs(app, m.email, m.password)).res.json().challenge;
    const replayed = await app.inject({
      method: 'POST',
      url: '/v1/auth/login/two-factor',
      payload: { challenge: replay, code },
    });
    expect(replayed.json().error.code).toBe('auth.invalid_code');

    const r1 = (await loginAs(app, m.email, m.password)).res.json().challenge;
    const byRecovery = await app.inject({
      method: 'POST',
      url: '/v1/auth/login/two-factor',
      payload: { challenge: r1, recovery_code: recovery[0] },
    });
    expect(byRecovery.statusCode).toBe(200);
    const r2 = (await loginAs(app, m.email, m.password)).res.json().challenge;
    const reused = await app.inject({
      method: 'POST',
      url: '/v1/auth/login/two-factor',
      payload: { challenge: r2, recovery_code: recovery[0] },
    });
    expect(reused.json().error.code).toBe('auth.invalid_code');
    const who = await me(withSession(browserOf(byRecovery)!, false));
    expect(who.json().two_factor).toEqual({ enabled: true, required: false, recovery_codes_left: 9 });
    expect(await auditActions(m.email)).toContain('auth.two_factor_failed');
    clock.advance(15 * 60_000 + 1);
  });

  it('an operator requiring two-factor for a tenant confines its members to set-up until they enrol', async () => {
    const tenant = await newTenant(ctx, 'Strict');
    const staff = await newStaff(t.db, 'ops', 'admin');
    const ops = (await loginAs(app, staff.username, staff.password)).browser!;
    const required = await app.inject({
      method: 'PATCH',
      url: `/v1/operator/tenants/${tenant.tenantId}`,
      headers: withSession(ops),
      payload: { require_two_factor: true },
    });
    expect(required.json()).toMatchObject({ id: tenant.tenantId, require_two_factor: true });
    const m = await newMember(t.db, tenant.tenantId, 'strict@s.cn', 'sender');
    const { res, browser } = await loginAs(app, m.email, m.password);
    expect(res.json().stage).toBe('enrol');
    const blocked = await app.inject({ method: 'GET', url: '/v1/messages', headers: withSession(browser!) });
    expect([blocked.statusCode, blocked.json().error.code]).toEqual([403, 'auth.two_factor_setup_required']);
    const { secret } = (
      await app.inject({ method: 'POST', url: '/v1/auth/two-factor', headers: withSession(browser!) })
    ).json();
    await app.inject({
      method: 'POST',
      url: '/v1/auth/two-factor/confirm',
      headers: withSession(browser!),
      payload: { code: codeAt(secret) },
    });
    expect(
      (await app.inject({ method: 'GET', url: '/v1/messages', headers: withSession(browser!) })).statusCode,
    ).toBe(200);
    const disable = await app.inject({
      method: 'POST',
      url: '/v1/auth/two-factor/disable',
      headers: withSession(browser!),
      payload: { password: m.password },
    });
    expect(disable.json().error.code).toBe('auth.two_factor_state');
  });
});

describe('suspension', () => {
  it("ends a suspended tenant's sessions at once and refuses its members' logins", async () => {
    const tenant = await newTenant(ctx, 'Suspended soon');
    const m = await newMember(t.db, tenant.tenantId, 'susp@s.cn', 'owner');
    const b = (await loginAs(app, m.email, m.password)).browser!;
    await t.db.pool.query(`update tenants set status = 'suspended' where id = $1`, [tenant.tenantId]);
    expect((await me(withSession(b, false))).statusCode).toBe(401);
    const login = await loginAs(app, m.email, m.password);
    expect([login.res.statusCode, login.res.json().error.code]).toEqual([403, 'auth.tenant_suspended']);
  });
});

describe('password change', () => {
  it('needs the current password, ends the other sessions and keeps this one', async () => {
    const m = await newMember(t.db, tenantA.tenantId, 'pw@a.cn', 'viewer');
    const here = (await loginAs(app, m.email, m.password)).browser!;
    const elsewhere = (await loginAs(app, m.email, m.password)).browser!;
    const change = (current: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/auth/password',
        headers: withSession(here),
        payload: { current_password: current, new_password: 'a brand new password' },
      });
    expect((await change('not it at all')).statusCode).toBe(401);
    expect((await change(m.password)).statusCode).toBe(204);
    expect((await me(withSession(here, false))).statusCode).toBe(200);
    expect((await me(withSession(elsewhere, false))).statusCode).toBe(401);
    expect((await loginAs(app, m.email, 'a brand new password')).res.statusCode).toBe(200);
  });
});

describe('housekeeping', () => {
  it('deletes expired sessions and forgotten failure counters as logins go on', async () => {
    const m = await newMember(t.db, tenantA.tenantId, 'tidy@a.cn', 'viewer');
    await loginAs(app, m.email, m.password);
    await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { login: 'ghost@x.cn', password: 'nope nope' },
    });
    const count = async (table: string) =>
      (await t.db.pool.query(`select count(*)::int as n from ${table}`)).rows[0].n;
    expect(await count('sessions')).toBeGreaterThan(0);
    expect(await count('login_failures')).toBeGreaterThan(0);
    clock.advance(13 * 3_600_000);
    // One failure prunes the stale counters; one login prunes the expired sessions.
    await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { login: 'ghost2@x.cn', password: 'nope nope' },
    });
    const fresh = await t.db.pool.query('select key from login_failures order by key');
    expect(fresh.rows.map((r) => r.key)).toEqual(['127.0.0.1', 'ghost2@x.cn']);
    await loginAs(app, m.email, m.password);
    expect(await count('sessions')).toBe(1);
  });
});
