// OTP verification through the HTTP API with real tenant keys: the code goes out in a real
// message (read back from the messages table, written by the normal intake), is checked once,
// resent unchanged after the cool-down, killed by five wrong codes, refused by the pumping
// protection; a refused send writes nothing. Time comes from a fake clock.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { createApprovedTemplate } from '../src/modules/compliance/templates/templates.usecases.ts';
import { buildTestApp, newTenant } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
/** The same database with low pumping limits (4 per prefix, 6 per tenant). */
let strict: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let tenant: Awaited<ReturnType<typeof newTenant>>;
let now = new Date('2026-11-30T10:00:00Z');
const clock = { now: () => now };
const advance = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000));

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
  ({ app: strict } = await buildTestApp(t.db, {
    clock,
    env: { HONGYAN_VERIFICATION_PREFIX_MAX: '4', HONGYAN_VERIFICATION_TENANT_MAX: '6' },
  }));
  tenant = await newTenant(ctx, 'OTP');
});
afterAll(async () => {
  await app.close();
  await strict.close();
  await t.drop();
});

const post = (url: string, payload: object, auth = tenant.auth, on = app) =>
  on.inject({ method: 'POST', url, headers: auth, payload });

async function messageOf(id: string) {
  const r = await t.db.pool.query<{ content: string; type: string; recipient: string; status: string }>(
    'select content, type, recipient, status from messages where id = $1',
    [id],
  );
  return r.rows[0]!;
}

/** Sends a verification and reads the code back out of the message that carried it. */
async function sendCode(to: string, extra: object = {}, auth = tenant.auth, on = app) {
  const r = await post('/v1/verifications', { to, ...extra }, auth, on);
  expect(r.statusCode, r.body).toBe(201);
  const body = r.json();
  const message = await messageOf(body.message_id);
  const code = /(\d{4,8})/.exec(message.content.replace(/^【[^】]*】/, ''))?.[1];
  expect(code).toBeDefined();
  return { body, message, code: code! };
}

const countVerifications = async () =>
  Number((await t.db.pool.query('select count(*) as n from verifications')).rows[0].n);

describe('POST /v1/verifications and /check', () => {
  it('sends the code in a verification message through the intake, in the default text', async () => {
    const { body, message, code } = await sendCode('13800138001');
    expect(body.status).toBe('pending');
    expect(body.code_length).toBe(6);
    expect(body.resent).toBe(false);
    expect(code).toMatch(/^\d{6}$/);
    expect(message.type).toBe('verification');
    expect(message.recipient).toBe('+8613800138001');
    expect(message.status).toBe('queued');
    expect(message.content).toBe(`【鸿雁】验证码为:${code},有效期5分钟`);
    // Stored hashed: the code appears nowhere in the row in clear.
    const row = (await t.db.pool.query('select * from verifications where id = $1', [body.id])).rows[0];
    expect(JSON.stringify(row)).not.toContain(code);
  });

  it('approves the right code once; a wrong one is denied and counted', async () => {
    const { code } = await sendCode('13800138002', { code_length: 4, language: 'en', ttl_seconds: 600 });
    expect(code).toMatch(/^\d{4}$/);
    const wrong = code === '0000' ? '1111' : '0000';
    const denied = await post('/v1/verifications/check', { to: '13800138002', code: wrong });
    expect(denied.json()).toMatchObject({ status: 'denied', attempts_remaining: 4 });
    const ok = await post('/v1/verifications/check', { to: '+8613800138002', code });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'approved', attempts_remaining: 3 });
    const again = await post('/v1/verifications/check', { to: '13800138002', code });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('verifications.not_found');
  });

  it('the English default text names the TTL in minutes', async () => {
    const { message, code } = await sendCode('13800138003', {
      language: 'en',
      ttl_seconds: 600,
      code_length: 8,
    });
    expect(message.content).toBe(`【鸿雁】Your verification code is ${code}. It expires in 10 minutes.`);
  });

  it('two concurrent checks of one code: exactly one is approved', async () => {
    const { code } = await sendCode('13800138004');
    const answers = await Promise.all(
      Array.from({ length: 2 }, () => post('/v1/verifications/check', { to: '13800138004', code })),
    );
    const approved = answers.filter((a) => a.statusCode === 200 && a.json().status === 'approved');
    expect(approved).toHaveLength(1);
    const other = answers.find((a) => !approved.includes(a))!;
    expect(other.statusCode).toBe(404);
    expect(other.json().error.code).toBe('verifications.not_found');
  });

  it('a resend within 60 s is refused with Retry-After; after it, the same code goes out again', async () => {
    const first = await sendCode('13800138005');
    advance(20);
    const early = await post('/v1/verifications', { to: '13800138005' });
    expect(early.statusCode).toBe(429);
    expect(early.json().error.code).toBe('verifications.cooldown');
    expect(early.headers['retry-after']).toBe('40');
    advance(41);
    const second = await sendCode('13800138005');
    expect(second.body.resent).toBe(true);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.sends).toBe(2);
    expect(second.body.message_id).not.toBe(first.body.message_id);
    expect(second.code).toBe(first.code);
    // The TTL is the first send's: the text says what is left of it (4 minutes, rounded up).
    expect(second.message.content).toBe(`【鸿雁】验证码为:${first.code},有效期4分钟`);
    expect(second.body.expires_at).toBe(first.body.expires_at);
    const ok = await post('/v1/verifications/check', { to: '13800138005', code: first.code });
    expect(ok.json().status).toBe('approved');
  });

  it('five wrong codes kill the code: the right one then answers max_attempts; a new send makes a new code', async () => {
    const { code, body } = await sendCode('13800138006');
    const wrong = code === '000000' ? '111111' : '000000';
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) {
      answers.push((await post('/v1/verifications/check', { to: '13800138006', code: wrong })).json().status);
    }
    expect(answers).toEqual(['denied', 'denied', 'denied', 'denied', 'max_attempts']);
    const right = await post('/v1/verifications/check', { to: '13800138006', code });
    expect(right.json()).toMatchObject({ status: 'max_attempts', attempts_remaining: 0 });
    const view = await app.inject({
      method: 'GET',
      url: `/v1/verifications/${body.id}`,
      headers: tenant.auth,
    });
    expect(view.json()).toMatchObject({ status: 'max_attempts', attempts: 5 });
    advance(61); // the recipient's frequency cap (1 verification a minute) applies as to any message
    const fresh = await sendCode('13800138006');
    expect(fresh.body.id).not.toBe(body.id);
    expect(fresh.body.resent).toBe(false);
  });

  it('a code past its TTL answers expired, and the next send makes a new one', async () => {
    const { code, body } = await sendCode('13800138007', { ttl_seconds: 60 });
    advance(61);
    const late = await post('/v1/verifications/check', { to: '13800138007', code });
    expect(late.json().status).toBe('expired');
    const fresh = await sendCode('13800138007');
    expect(fresh.body.id).not.toBe(body.id);
  });

  it('codes are per purpose: one live code per (number, purpose)', async () => {
    const login = await sendCode('13800138008', { purpose: 'login' });
    // The compliance frequency cap (1 verification a minute per recipient) applies to OTPs too.
    const capped = await post('/v1/verifications', { to: '13800138008', purpose: 'payment' });
    expect(capped.statusCode).toBe(429);
    expect(capped.json().error.code).toBe('limit.recipient_frequency');
    advance(61);
    const pay = await sendCode('13800138008', { purpose: 'payment' });
    expect(pay.body.id).not.toBe(login.body.id);
    const crossed = await post('/v1/verifications/check', {
      to: '13800138008',
      code: login.code,
      purpose: 'payment',
    });
    expect(crossed.json().status).toBe(login.code === pay.code ? 'approved' : 'denied');
  });

  it("uses the tenant's approved verification template with its code variable", async () => {
    const template = await createApprovedTemplate({
      db: t.db.pool,
      tenantId: tenant.tenantId,
      input: { name: 'otp', type: 'verification', content: '您的登录验证码{code},{minutes}分钟内有效' },
    });
    const { message, code } = await sendCode('13800138009', {
      template_id: String(template.id),
      params: { minutes: 5 },
    });
    expect(message.content).toBe(`【鸿雁】您的登录验证码${code},5分钟内有效`);
    const notify = await createApprovedTemplate({
      db: t.db.pool,
      tenantId: tenant.tenantId,
      input: { name: 'note', type: 'notification', content: '您的订单{order}已发货' },
    });
    const refused = await post('/v1/verifications', { to: '13800138010', template_id: String(notify.id) });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error.code).toBe('verifications.template_unsuitable');
  });

  it('refuses bad input with a 400 and writes nothing', async () => {
    const before = await countVerifications();
    const cases: [object, string][] = [
      [{ to: '13800138011', code_length: 9 }, 'request.invalid'],
      [{ to: '13800138011', code_length: 3 }, 'request.invalid'],
      [{ to: '13800138011', language: 'fr' }, 'request.invalid'],
      [{ to: '13800138011', ttl_seconds: 10 }, 'request.invalid'],
      [{ to: 'not a number' }, 'messages.invalid_recipient'],
      [{ to: '13800138011', extra: 1 }, 'request.invalid'],
    ];
    for (const [body, code] of cases) {
      const r = await post('/v1/verifications', body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().error.code, JSON.stringify(body)).toBe(code);
    }
    const badCheck = await post('/v1/verifications/check', { to: '13800138001', code: '12a456' });
    expect(badCheck.statusCode).toBe(400);
    expect(await countVerifications()).toBe(before);
  });

  it('a message the admission refuses (no quota) leaves no verification behind', async () => {
    const { apiKey, tenant: poor } = await createTenant({ name: 'Poor', repository: ctx.accounts });
    await grantSending({ db: t.db.pool, tenantId: poor.id, signatures: ['鸿雁'], freeText: true });
    const before = await countVerifications();
    const r = await post(
      '/v1/verifications',
      { to: '13800138012' },
      { authorization: `Bearer ${apiKey.key}` },
    );
    expect(r.statusCode, r.body).toBe(402);
    expect(r.json().error.code).toBe('billing.insufficient_quota');
    expect(await countVerifications()).toBe(before);
  });
});

describe('pumping protection', () => {
  it('refuses a number prefix above its limit of unverified sends, then the tenant above its own', async () => {
    const pumped = await newTenant(ctx, 'Pumped');
    // Four numbers of one 7-digit prefix (8613900…) without a check: the fifth is refused.
    for (let i = 0; i < 4; i++) await sendCode(`1390000000${i}`, {}, pumped.auth, strict);
    const fifth = await post('/v1/verifications', { to: '13900000009' }, pumped.auth, strict);
    expect(fifth.statusCode).toBe(429);
    expect(fifth.json().error).toMatchObject({
      code: 'verifications.velocity',
      details: { scope: 'prefix', prefix: '8613900', limit: 4 },
    });
    expect(Number(fifth.headers['retry-after'])).toBeGreaterThan(0);
    // Another prefix still works, up to the tenant's limit of 6 unverified sends.
    const a = await sendCode('13700000001', {}, pumped.auth, strict);
    await sendCode('13600000001', {}, pumped.auth, strict);
    const seventh = await post('/v1/verifications', { to: '13500000001' }, pumped.auth, strict);
    expect(seventh.json().error).toMatchObject({
      code: 'verifications.velocity',
      details: { scope: 'tenant' },
    });
    // A successful check takes its send out of the count: one more is allowed.
    expect(
      (await post('/v1/verifications/check', { to: '13700000001', code: a.code }, pumped.auth, strict)).json()
        .status,
    ).toBe('approved');
    await sendCode('13500000001', {}, pumped.auth, strict);
    // Other tenants are not affected by this one's count.
    const neighbour = await newTenant(ctx, 'Neighbour');
    await sendCode('13900000008', {}, neighbour.auth, strict);
    // The window passes: the prefix is open again.
    advance(3601);
    await sendCode('13900000009', {}, pumped.auth, strict);
  });
});
