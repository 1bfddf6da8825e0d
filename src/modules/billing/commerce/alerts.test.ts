// The low-balance alert: one SMS to the owner's verified phone (through Hongyan's own intake), a
// flag for the console and a billing event when the balance falls below the threshold — one,
// even with three worker nodes checking at once — and again only after a top-up above it.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { createDb, type Db } from '../../../db/pool.ts';
import { fakeClock, loginAs, newMember, newStaff, withSession } from '../../accounts/accounts.testkit.ts';
import { createTenant } from '../../accounts/accounts.usecases.ts';
import { grantSending } from '../../compliance/signatures/signatures.usecases.ts';
import { adjustBalance, creditTenant, getBalance } from '../ledger.usecases.ts';
import { runLowBalanceCheck } from './alerts.worker.ts';
import { insertPackage } from './commerce.repository.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
/** Two more nodes: contexts of their own on pools of their own, as other processes would have. */
const otherNodes: { db: Db; ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'] }[] = [];
let staff: Record<string, string>;
const clock = fakeClock('2026-03-01T00:00:00Z');
const PHONE = '+8613912345678';

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
  for (let i = 0; i < 2; i++) {
    const db = createDb({ connectionString: t.url, max: 4 });
    const node = await buildTestApp(db, { clock });
    await node.app.close();
    otherNodes.push({ db, ctx: node.ctx });
  }
  const s = await newStaff(t.db, 'alerts-admin', 'admin');
  staff = withSession((await loginAs(app, s.username, s.password)).browser!);
});
afterAll(async () => {
  for (const n of otherNodes) await n.db.close();
  await app.close();
  await t.drop();
});

let seq = 0;
async function shop({ verifiedPhone = true } = {}) {
  const { tenant } = await createTenant({ name: `Alert shop ${++seq}`, repository: ctx.accounts });
  await grantSending({ db: t.db.pool, tenantId: tenant.id, signatures: ['鸿雁'], freeText: true });
  const owner = await newMember(t.db, tenant.id, `owner${seq}@alerts.cn`, 'owner');
  if (verifiedPhone) {
    await t.db.pool.query('update members set phone = $2, phone_verified_at = now() where id = $1', [
      owner.id,
      PHONE,
    ]);
  }
  const session = withSession((await loginAs(app, owner.email, owner.password)).browser!);
  return { tenantId: tenant.id, session };
}

const alertsOf = async (session: Record<string, string>) =>
  (await app.inject({ method: 'GET', url: '/v1/billing/alerts', headers: session })).json();

const smsTo = async (tenantId: number) =>
  (
    await t.db.pool.query<{ content: string }>(
      'select content from messages where tenant_id = $1 and recipient = $2 order by id',
      [tenantId, PHONE],
    )
  ).rows;

const lowBalanceEvents = async (tenantId: number) =>
  (
    await t.db.pool.query<{ payload: { available: number; threshold: number } }>(
      `select payload from billing_events where tenant_id = $1 and kind = 'low_balance' order by id`,
      [tenantId],
    )
  ).rows;

/** Every node runs its periodic round at the same moment. */
const allNodesCheck = () =>
  Promise.all([ctx, ...otherNodes.map((n) => n.ctx)].map((c) => runLowBalanceCheck(c)));

async function topUpByOrder(session: Record<string, string>, parts: number) {
  const pkg = await insertPackage(t.db.pool, { name: `${parts} 条`, parts, price: '10', validity_days: 365 });
  const order = await app.inject({
    method: 'POST',
    url: '/v1/billing/orders',
    headers: session,
    payload: { package_id: pkg.id },
  });
  const confirmed = await app.inject({
    method: 'POST',
    url: `/v1/operator/billing/orders/${order.json().id}/confirm`,
    headers: staff,
    payload: { reference: 'PAY-1' },
  });
  expect(confirmed.json().credited).toBe(true);
}

const far = new Date('2027-01-01T00:00:00Z');

describe('low-balance alert', () => {
  it('sends one SMS, one event and raises the flag once, whatever the number of nodes; again only after a top-up', async () => {
    const s = await shop();
    await creditTenant({
      db: t.db.pool,
      tenantId: s.tenantId,
      parts: 100,
      expiresAt: far,
      reason: 'start',
      actor: 'test',
      now: clock.now(),
    });
    await allNodesCheck();
    expect(await smsTo(s.tenantId)).toEqual([]);
    expect(await alertsOf(s.session)).toMatchObject({ low_balance: false, available: 100, threshold: 30 });

    await adjustBalance({
      db: t.db.pool,
      tenantId: s.tenantId,
      parts: -80,
      reason: 'use',
      actor: 'test',
      now: clock.now(),
    });
    await allNodesCheck();
    await allNodesCheck();
    const first = await smsTo(s.tenantId);
    expect(first).toHaveLength(1);
    expect(first[0]!.content).toContain('您的短信余额为20条');
    expect(await lowBalanceEvents(s.tenantId)).toEqual([
      { payload: expect.objectContaining({ available: 20, threshold: 30 }) },
    ]);
    expect(await alertsOf(s.session)).toMatchObject({
      low_balance: true,
      alerted_at: clock.now().toISOString(),
    });

    // Topped up above the threshold: the flag falls and the alert re-arms.
    await topUpByOrder(s.session, 1000);
    await allNodesCheck();
    expect(await alertsOf(s.session)).toMatchObject({ low_balance: false, alerted_at: null });
    expect(await smsTo(s.tenantId)).toHaveLength(1);

    const { available } = await getBalance({ db: t.db.pool, tenantId: s.tenantId });
    await adjustBalance({
      db: t.db.pool,
      tenantId: s.tenantId,
      parts: -(available - 5),
      reason: 'use',
      actor: 'test',
      now: clock.now(),
    });
    await allNodesCheck();
    expect(await smsTo(s.tenantId)).toHaveLength(2);
    expect((await lowBalanceEvents(s.tenantId)).map((e) => e.payload.available)).toEqual([20, 5]);
  });

  it('without a verified owner phone the flag and the event still come, and the audit says no SMS went', async () => {
    const s = await shop({ verifiedPhone: false });
    await creditTenant({
      db: t.db.pool,
      tenantId: s.tenantId,
      parts: 10,
      expiresAt: far,
      reason: 'start',
      actor: 'test',
      now: clock.now(),
    });
    await runLowBalanceCheck(ctx);
    expect(await smsTo(s.tenantId)).toEqual([]);
    expect(await lowBalanceEvents(s.tenantId)).toHaveLength(1);
    expect(await alertsOf(s.session)).toMatchObject({ low_balance: true });
    const audit = await t.db.pool.query(
      `select after from audit_log where tenant_id = $1 and action = 'billing.low_balance_alerted'`,
      [s.tenantId],
    );
    expect(audit.rows).toEqual([
      { after: expect.objectContaining({ sms: 'no verified owner phone', message_id: null }) },
    ]);
  });

  it('with nothing left the alert SMS is refused like any send: the flag and event stand, the audit says why', async () => {
    const s = await shop();
    await creditTenant({
      db: t.db.pool,
      tenantId: s.tenantId,
      parts: 10,
      expiresAt: far,
      reason: 'start',
      actor: 'test',
      now: clock.now(),
    });
    await adjustBalance({
      db: t.db.pool,
      tenantId: s.tenantId,
      parts: -10,
      reason: 'use',
      actor: 'test',
      now: clock.now(),
    });
    await runLowBalanceCheck(ctx);
    await runLowBalanceCheck(ctx);
    expect(await lowBalanceEvents(s.tenantId)).toHaveLength(1);
    expect(await alertsOf(s.session)).toMatchObject({ low_balance: true, available: 0 });
    const audit = await t.db.pool.query(
      `select after from audit_log where tenant_id = $1 and action = 'billing.low_balance_alerted'`,
      [s.tenantId],
    );
    expect(audit.rows).toEqual([
      { after: expect.objectContaining({ sms: 'refused: billing.insufficient_quota' }) },
    ]);
  });

  it("a tenant's own threshold decides, and only owners and finance set it", async () => {
    const s = await shop();
    await creditTenant({
      db: t.db.pool,
      tenantId: s.tenantId,
      parts: 400,
      expiresAt: far,
      reason: 'start',
      actor: 'test',
      now: clock.now(),
    });
    const set = await app.inject({
      method: 'PUT',
      url: '/v1/billing/alerts',
      headers: s.session,
      payload: { threshold: 500 },
    });
    expect(set.json()).toMatchObject({ low_balance: true, threshold: 500, threshold_is_default: false });
    await runLowBalanceCheck(ctx);
    expect(await smsTo(s.tenantId)).toHaveLength(1);
    expect((await lowBalanceEvents(s.tenantId))[0]!.payload).toMatchObject({
      available: 400,
      threshold: 500,
    });

    const { tenantId } = s;
    const viewer = await newMember(t.db, tenantId, `viewer${seq}@alerts.cn`, 'viewer');
    const v = withSession((await loginAs(app, viewer.email, viewer.password)).browser!);
    const refused = await app.inject({
      method: 'PUT',
      url: '/v1/billing/alerts',
      headers: v,
      payload: { threshold: 1 },
    });
    expect(refused.statusCode).toBe(403);
  });
});
