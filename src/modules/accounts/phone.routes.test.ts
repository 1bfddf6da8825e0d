// Phone verification and reset codes by SMS through Hongyan itself, via the real server: each code
// is a real verification message row of the member's tenant, addressed to the phone, carrying the
// code; the reset code resets the password once; the public request answers alike for everyone.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { fakeClock, loginAs, newMember, newStaff, withSession } from './accounts.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
const clock = fakeClock();

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const post = (
  url: string,
  payload: object,
  headers: Record<string, string> = {},
  remoteAddress = '127.0.0.1',
) => app.inject({ method: 'POST', url, payload, headers, remoteAddress });
const messagesTo = async (tenantId: number, recipient: string) =>
  (
    await t.db.pool.query<{ type: string; content: string }>(
      'select type, content from messages where tenant_id = $1 and recipient = $2 order by id',
      [tenantId, recipient],
    )
  ).rows;

/** A member with a verified phone, verified through the routes. */
async function memberWithPhone(name: string, phone: string, e164: string) {
  const tenant = await newTenant(ctx, name);
  const m = await newMember(t.db, tenant.tenantId, `${name}@p.cn`, 'viewer');
  const browser = (await loginAs(app, m.email, m.password)).browser!;
  expect((await post('/v1/auth/phone', { phone }, withSession(browser))).statusCode).toBe(202);
  const code = /code is (\d{6})/.exec((await messagesTo(tenant.tenantId, e164)).at(-1)!.content)![1]!;
  expect((await post('/v1/auth/phone/confirm', { code }, withSession(browser))).statusCode).toBe(200);
  return { tenant, m, browser };
}

describe('phone verification', () => {
  it('sends a 6-digit code as a verification message of the member’s tenant to that phone; the code verifies it', async () => {
    const tenant = await newTenant(ctx, 'V1');
    const m = await newMember(t.db, tenant.tenantId, 'v1@p.cn', 'sender');
    const browser = (await loginAs(app, m.email, m.password)).browser!;
    const res = await post('/v1/auth/phone', { phone: '13800138001' }, withSession(browser));
    expect(res.statusCode).toBe(202);
    const sent = await messagesTo(tenant.tenantId, '+8613800138001');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.type).toBe('verification');
    const code = /code is (\d{6})/.exec(sent[0]!.content)?.[1];
    expect(code).toMatch(/^\d{6}$/);
    const confirmed = await post('/v1/auth/phone/confirm', { code: code! }, withSession(browser));
    expect(confirmed.json()).toMatchObject({ phone: '+8613800138001' });
    const { rows } = await t.db.pool.query('select phone, phone_verified_at from members where id = $1', [
      m.id,
    ]);
    expect(rows[0].phone).toBe('+8613800138001');
    expect(rows[0].phone_verified_at).not.toBeNull();
  });

  it('voids the code after five wrong guesses: the right code then fails too', async () => {
    const tenant = await newTenant(ctx, 'V2');
    const m = await newMember(t.db, tenant.tenantId, 'v2@p.cn', 'viewer');
    const browser = (await loginAs(app, m.email, m.password)).browser!;
    await post('/v1/auth/phone', { phone: '13800138002' }, withSession(browser));
    const code = /code is (\d{6})/.exec(
      (await messagesTo(tenant.tenantId, '+8613800138002'))[0]!.content,
    )![1]!;
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const res = await post('/v1/auth/phone/confirm', { code: wrong }, withSession(browser));
      expect(res.json().error.code).toBe('auth.invalid_code');
    }
    expect((await post('/v1/auth/phone/confirm', { code }, withSession(browser))).statusCode).toBe(401);
    const { rows } = await t.db.pool.query('select phone from members where id = $1', [m.id]);
    expect(rows[0].phone).toBeNull();
  });

  it('refuses a number that cannot receive SMS and staff sessions (no tenant to send from)', async () => {
    const tenant = await newTenant(ctx, 'V3');
    const m = await newMember(t.db, tenant.tenantId, 'v3@p.cn', 'viewer');
    const browser = (await loginAs(app, m.email, m.password)).browser!;
    const bad = await post('/v1/auth/phone', { phone: '12345' }, withSession(browser));
    expect(bad.json().error.code).toBe('auth.invalid_phone');
    await newStaff(t.db, 'phone-staff', 'support');
    const staff = (await loginAs(app, 'phone-staff', 'staff password 1')).browser!;
    expect((await post('/v1/auth/phone', { phone: '13800138003' }, withSession(staff))).statusCode).toBe(403);
  });
});

describe('password reset by SMS', () => {
  it('sends a reset code to the verified phone; it resets the password once', async () => {
    const { tenant, m } = await memberWithPhone('r1', '13800138011', '+8613800138011');
    // The platform's own codes stay under the recipient's caps (1 verification a minute): the
    // reset code comes more than a minute after the phone's verification code.
    clock.advance(61_000);
    const res = await post('/v1/auth/reset-request', { login: m.email }, {}, '10.0.0.1');
    expect(res.statusCode).toBe(202);
    const sent = await messagesTo(tenant.tenantId, '+8613800138011');
    expect(sent).toHaveLength(2);
    expect(sent[1]!.type).toBe('verification');
    const code = /reset code is (\S+)\./.exec(sent[1]!.content)![1]!;
    const reset = () =>
      post('/v1/auth/reset', { email: m.email, reset_code: code, new_password: 'brand new password 1' });
    expect((await reset()).statusCode).toBe(204);
    expect((await loginAs(app, m.email, 'brand new password 1')).res.statusCode).toBe(200);
    expect((await loginAs(app, m.email, m.password)).res.statusCode).toBe(401);
    const again = await reset();
    expect({ status: again.statusCode, code: again.json().error.code }).toEqual({
      status: 401,
      code: 'auth.invalid_code',
    });
  });

  it('answers alike for an unknown login and a member without a verified phone, and sends nothing', async () => {
    const tenant = await newTenant(ctx, 'R2');
    const m = await newMember(t.db, tenant.tenantId, 'r2@p.cn', 'viewer');
    const known = await post('/v1/auth/reset-request', { login: m.email }, {}, '10.0.0.2');
    const unknown = await post('/v1/auth/reset-request', { login: 'nobody@p.cn' }, {}, '10.0.0.2');
    expect({ status: unknown.statusCode, body: unknown.body }).toEqual({
      status: known.statusCode,
      body: known.body,
    });
    const { rows } = await t.db.pool.query('select count(*)::int as n from messages where tenant_id = $1', [
      tenant.tenantId,
    ]);
    expect(rows[0].n).toBe(0);
  });

  it('sends at most one reset SMS a minute per member (the fake clock moves past it)', async () => {
    const { tenant, m } = await memberWithPhone('r3', '13800138013', '+8613800138013');
    clock.advance(61_000); // past the recipient's 1-a-minute verification cap, as above
    await post('/v1/auth/reset-request', { login: m.email }, {}, '10.0.0.3');
    await post('/v1/auth/reset-request', { login: m.email }, {}, '10.0.0.3');
    expect(await messagesTo(tenant.tenantId, '+8613800138013')).toHaveLength(2);
    clock.advance(61_000);
    await post('/v1/auth/reset-request', { login: m.email }, {}, '10.0.0.3');
    expect(await messagesTo(tenant.tenantId, '+8613800138013')).toHaveLength(3);
  });

  it('limits requests per address: the sixth within 15 minutes is 429 with Retry-After', async () => {
    for (let i = 0; i < 5; i++)
      expect((await post('/v1/auth/reset-request', { login: `x${i}@p.cn` }, {}, '10.0.0.4')).statusCode).toBe(
        202,
      );
    const sixth = await post('/v1/auth/reset-request', { login: 'x5@p.cn' }, {}, '10.0.0.4');
    expect({ status: sixth.statusCode, code: sixth.json().error.code }).toEqual({
      status: 429,
      code: 'auth.reset_rate_limited',
    });
    expect(sixth.headers['retry-after']).toBe('900');
    expect((await post('/v1/auth/reset-request', { login: 'x6@p.cn' }, {}, '10.0.0.5')).statusCode).toBe(202);
  });
});
