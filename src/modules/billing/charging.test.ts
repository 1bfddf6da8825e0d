// Charging through the HTTP API on a real database: reservation at acceptance (per part, per
// recipient in a batch, all or nothing on request), each later status change capturing,
// refunding or releasing exactly once, the balance never negative under 50 concurrent batches,
// and GET /v1/billing/balance.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { createDb, type Db } from '../../db/pool.ts';
import { loginAs, newMember, withSession } from '../accounts/accounts.testkit.ts';
import { TEST_CREDIT_PARTS } from './billing.testkit.ts';
import { decideReservations } from './charging.ts';
import { adjustBalance, creditTenant, getBalance } from './ledger.usecases.ts';
import { reconcile } from './reconcile.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
const FAR = new Date('2100-01-01T00:00:00Z');

let appDb: Db;

beforeAll(async () => {
  t = await createTestDatabase();
  // A pool that can hold all 50 concurrent batch transactions of the concurrency test at once, so
  // what it measures is the balance lock, not waiting for a connection.
  appDb = createDb({ connectionString: t.url, max: 60 });
  ({ app, ctx } = await buildTestApp(appDb));
});
afterAll(async () => {
  await app.close();
  await appDb.close();
  await t.drop();
});

/**
 * A tenant with exactly `parts` of credit: the test kit's tenant, its large credit taken back by an
 * operator adjustment, then `parts` credited.
 */
async function tenantWith(parts: number) {
  const tenant = await newTenant(ctx, 'billed');
  await adjustBalance({
    db: t.db.pool,
    tenantId: tenant.tenantId,
    parts: -TEST_CREDIT_PARTS,
    reason: 'test starts from zero',
    actor: 'test',
  });
  if (parts > 0)
    await creditTenant({
      db: t.db.pool,
      tenantId: tenant.tenantId,
      parts,
      expiresAt: FAR,
      reason: 'test',
      actor: 'test',
    });
  return tenant;
}

const post = (url: string, auth: Record<string, string>, body: unknown) =>
  app.inject({
    method: 'POST',
    url,
    headers: { ...auth, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });

const balanceOf = async (tenantId: number) => {
  const b = await getBalance({ db: t.db.pool, tenantId });
  return { available: b.available, reserved: b.reserved };
};

async function ledgerOf(messageId: string | number) {
  const { rows } = await t.db.pool.query<{ kind: string }>(
    'select kind from billing_ledger where message_id = $1 order by id',
    [messageId],
  );
  return rows.map((r) => r.kind);
}

const setStatus = (ids: (string | number)[], status: string, errorCode: string | null = null) =>
  t.db.pool.query('update messages set status = $2, error_code = $3 where id = any($1::bigint[])', [
    ids,
    status,
    errorCode,
  ]);

const LONG = '【鸿雁】' + '您的订单已发货，请注意查收。'.repeat(10); // 3 UCS-2 parts

describe('reservation at acceptance', () => {
  it('refuses a single send the balance does not cover, with billing.insufficient_quota, and writes nothing', async () => {
    const a = await tenantWith(0);
    const res = await post('/v1/messages', a.auth, { to: '13800138000', content: '【鸿雁】验证码 1234' });
    expect(res.statusCode).toBe(402);
    expect(res.json().error.code).toBe('billing.insufficient_quota');
    const { rows } = await t.db.pool.query('select 1 from messages where tenant_id = $1', [a.tenantId]);
    expect(rows).toHaveLength(0);
  });

  it('reserves per part: a 3-part message holds 3 parts', async () => {
    const a = await tenantWith(10);
    const res = await post('/v1/messages', a.auth, { to: '13800138000', content: LONG });
    expect(res.statusCode).toBe(202);
    expect(res.json().parts).toBe(3);
    expect(await balanceOf(a.tenantId)).toEqual({ available: 7, reserved: 3 });
    expect(await ledgerOf(res.json().id)).toEqual(['reserve']);
  });

  it('a batch is accepted up to the balance; each refused recipient gets its own error', async () => {
    const a = await tenantWith(3);
    const recipients = ['13800138001', '13800138002', '13800138003', '13800138004', '13800138005'].map(
      (to) => ({
        to,
      }),
    );
    const res = await post('/v1/batches', a.auth, { content: '【鸿雁】活动通知', recipients });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ accepted: 3, rejected: 2 });
    expect(body.results.map((r: { accepted: boolean }) => r.accepted)).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    for (const r of body.results.slice(3)) expect(r.error.code).toBe('billing.insufficient_quota');
    expect(await balanceOf(a.tenantId)).toEqual({ available: 0, reserved: 3 });
  });

  it('with all_or_nothing a batch that does not fit is refused whole and reserves nothing', async () => {
    const a = await tenantWith(3);
    const recipients = ['13800138001', '13800138002', '13800138003', '13800138004'].map((to) => ({ to }));
    const res = await post('/v1/batches', a.auth, {
      content: '【鸿雁】活动通知',
      recipients,
      all_or_nothing: true,
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ accepted: 0, rejected: 4 });
    for (const r of body.results) expect(r.error.code).toBe('billing.insufficient_quota');
    expect(await balanceOf(a.tenantId)).toEqual({ available: 3, reserved: 0 });
    const fits = await post('/v1/batches', a.auth, {
      content: '【鸿雁】活动通知',
      recipients: recipients.slice(0, 3),
      all_or_nothing: true,
    });
    expect(fits.json()).toMatchObject({ accepted: 3, rejected: 0 });
  });

  it('a refusal is greedy per recipient: a 1-part message after a 3-part one that does not fit still goes', () => {
    const verdicts = decideReservations(
      [
        { tenantId: 1, units: 3 },
        { tenantId: 1, units: 1 },
        { tenantId: 2, units: 1 },
      ],
      new Map([
        [1, 2],
        [2, 0],
      ]),
      false,
    );
    expect(verdicts).toEqual([{ available: 2, units: 3 }, null, { available: 0, units: 1 }]);
    expect(
      decideReservations(
        [
          { tenantId: 1, units: 1 },
          { tenantId: 1, units: 5 },
        ],
        new Map([[1, 2]]),
        true,
      ).every((v) => v !== null),
    ).toBe(true);
  });
});

describe('after acceptance, each message is charged by its own outcome', () => {
  it('captures when the carrier takes it, refunds on a final failure, once, whatever repeats', async () => {
    const a = await tenantWith(20);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(
        (await post('/v1/messages', a.auth, { to: `1380013800${i}`, content: '【鸿雁】通知' })).json().id,
      );
    const [delivered, undelivered, unknown, rejected] = ids as [string, string, string, string];
    await setStatus([delivered, undelivered, unknown], 'sent');
    await setStatus([delivered], 'delivered');
    await setStatus([undelivered], 'undelivered');
    await setStatus([unknown], 'unknown', 'receipts.window_elapsed');
    await setStatus([rejected], 'rejected', 'smpp.0x00000045');
    // The same receipts again, and a late failure for the one already delivered.
    await setStatus([delivered], 'delivered');
    await setStatus([undelivered], 'undelivered');
    expect(await ledgerOf(delivered)).toEqual(['reserve', 'capture']);
    expect(await ledgerOf(undelivered)).toEqual(['reserve', 'capture', 'refund']);
    expect(await ledgerOf(unknown)).toEqual(['reserve', 'capture']);
    expect(await ledgerOf(rejected)).toEqual(['reserve', 'refund']);
    // Spent for good: the delivered and the unknown one (seed 002: unknown stays charged).
    expect(await balanceOf(a.tenantId)).toEqual({ available: 18, reserved: 0 });
    expect((await reconcile({ db: t.db.pool })).consistent).toBe(true);
  });

  it('canceling a scheduled send releases what it reserved', async () => {
    const a = await tenantWith(5);
    const sendAt = new Date(Date.now() + 86_400_000).toISOString();
    const res = await post('/v1/messages', a.auth, {
      to: '13800138000',
      content: '【鸿雁】提醒',
      send_at: sendAt,
    });
    expect(res.json().status).toBe('held');
    expect(await balanceOf(a.tenantId)).toEqual({ available: 4, reserved: 1 });
    const cancel = await app.inject({
      method: 'POST',
      url: `/v1/messages/${res.json().id}/cancel`,
      headers: a.auth,
    });
    expect(cancel.statusCode).toBeLessThan(300);
    expect(await ledgerOf(res.json().id)).toEqual(['reserve', 'release']);
    expect(await balanceOf(a.tenantId)).toEqual({ available: 5, reserved: 0 });
  });

  it('a refused message that never reached the carrier is released (review, routing), not refunded', async () => {
    const a = await tenantWith(5);
    const id = (await post('/v1/messages', a.auth, { to: '13800138000', content: '【鸿雁】提醒' })).json().id;
    await setStatus([id], 'failed', 'routing.no_route');
    expect(await ledgerOf(id)).toEqual(['reserve', 'release']);
    expect(await balanceOf(a.tenantId)).toEqual({ available: 5, reserved: 0 });
  });

  it('10,000 messages changing status in one statement are all captured by it', async () => {
    const a = await tenantWith(10_000);
    const recipients = Array.from({ length: 10_000 }, (_, i) => ({
      to: `+86139${String(i).padStart(8, '0')}`,
    }));
    const res = await post('/v1/batches', a.auth, { content: '【鸿雁】活动', recipients });
    expect(res.json().accepted).toBe(10_000);
    await t.db.pool.query("update messages set status = 'sent' where batch_id = $1", [res.json().id]);
    const { rows } = await t.db.pool.query<{ n: number }>(
      `select count(*)::int as n from billing_ledger where batch_id = $1 and kind = 'capture'`,
      [res.json().id],
    );
    expect(rows[0]!.n).toBe(10_000);
    expect(await balanceOf(a.tenantId)).toEqual({ available: 0, reserved: 0 });
  });
});

describe('under concurrency', () => {
  it('50 parallel batches against a balance of exactly N parts accept exactly N, never going negative', async () => {
    const N = 137;
    const a = await tenantWith(N);
    const batch = (k: number) =>
      post('/v1/batches', a.auth, {
        content: '【鸿雁】活动',
        recipients: Array.from({ length: 5 }, (_, i) => ({
          to: `+86137${String(k * 10 + i).padStart(8, '0')}`,
        })),
      });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, k) => batch(k)));
    expect(answers.map((r) => (r.statusCode === 202 ? 202 : r.body))).toEqual(answers.map(() => 202));
    const accepted = answers.reduce((sum, r) => sum + (r.json().accepted as number), 0);
    expect(accepted).toBe(N);
    const { rows } = await t.db.pool.query<{ n: number }>(
      'select count(*)::int as n from messages where tenant_id = $1',
      [a.tenantId],
    );
    expect(rows[0]!.n).toBe(N);
    expect(await balanceOf(a.tenantId)).toEqual({ available: 0, reserved: N });
  });
});

describe('GET /v1/billing/balance', () => {
  it('shows a finance member available, reserved, and the lots behind them oldest-expiring first', async () => {
    const a = await tenantWith(0);
    const base = { db: t.db.pool, tenantId: a.tenantId, reason: 'x', actor: 'test' };
    await creditTenant({ ...base, parts: 100, expiresAt: FAR });
    await creditTenant({ ...base, parts: 5, expiresAt: new Date('2099-01-01T00:00:00Z') });
    await post('/v1/messages', a.auth, { to: '13800138000', content: '【鸿雁】提醒' });
    const finance = await newMember(t.db, a.tenantId, `finance-${a.tenantId}@example.com`, 'finance');
    const { browser } = await loginAs(app, finance.email, finance.password);
    const res = await app.inject({
      method: 'GET',
      url: '/v1/billing/balance',
      headers: withSession(browser!),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      available: 104,
      reserved: 1,
      lots: [
        { parts_left: 4, parts_total: 5, source: 'credit', expires_at: '2099-01-01T00:00:00.000Z' },
        { parts_left: 100, parts_total: 100, source: 'credit' },
      ],
    });
  });
});
