// Packages and orders through the HTTP API: the operator defines a package, a tenant's owner orders
// it, the operator confirms the payment and the parts arrive once, as a lot expiring after the
// package's validity — even when two confirmations race.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { fakeClock, loginAs, newMember, newStaff, withSession } from '../../accounts/accounts.testkit.ts';
import { createTenant } from '../../accounts/accounts.usecases.ts';
import { getBalance } from '../ledger.usecases.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let staff: Record<string, string>;
const clock = fakeClock('2026-03-01T00:00:00Z');

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
  const s = await newStaff(t.db, 'billing-admin', 'admin');
  staff = withSession((await loginAs(app, s.username, s.password)).browser!);
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

let seq = 0;
async function tenantWith(role: 'owner' | 'finance' | 'viewer' | 'developer' = 'owner') {
  // Not the test kit's newTenant, which may start a tenant with a credit: these start at zero.
  const { tenant } = await createTenant({ name: `Shop ${++seq}`, repository: ctx.accounts });
  const m = await newMember(t.db, tenant.id, `${role}${seq}@shop.cn`, role);
  const session = withSession((await loginAs(app, m.email, m.password)).browser!);
  return { tenantId: tenant.id, session };
}

async function newPackage(body: Record<string, unknown> = {}) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/operator/billing/packages',
    headers: staff,
    payload: { name: '5,000 条', parts: 5000, price: '250.00', validity_days: 365, ...body },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: number; parts: number };
}

async function order(session: Record<string, string>, packageId: number) {
  return app.inject({
    method: 'POST',
    url: '/v1/billing/orders',
    headers: session,
    payload: { package_id: packageId },
  });
}

const confirm = (id: number, reference = 'BANK-20260301-0001') =>
  app.inject({
    method: 'POST',
    url: `/v1/operator/billing/orders/${id}/confirm`,
    headers: staff,
    payload: { reference },
  });

describe('orders', () => {
  it('created → paid → credited: the parts arrive as a lot expiring after the validity, audited', async () => {
    const pkg = await newPackage({ validity_days: 30 });
    const shop = await tenantWith('owner');
    const packages = await app.inject({ method: 'GET', url: '/v1/billing/packages', headers: shop.session });
    expect(packages.json().data).toContainEqual(
      expect.objectContaining({ id: pkg.id, price: '250.00', parts: 5000 }),
    );

    const created = await order(shop.session, pkg.id);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      status: 'created',
      parts: 5000,
      price: '250.00',
      currency: 'CNY',
    });
    const id = created.json().id as number;
    expect((await getBalance({ db: t.db.pool, tenantId: shop.tenantId })).available).toBe(0);

    const res = await confirm(id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      credited: true,
      order: { status: 'credited', payment_reference: 'BANK-20260301-0001' },
    });
    const balance = await getBalance({ db: t.db.pool, tenantId: shop.tenantId });
    expect(balance.available).toBe(5000);
    expect(balance.lots).toEqual([
      expect.objectContaining({
        parts_left: 5000,
        source: 'order',
        order_id: id,
        expires_at: new Date('2026-03-31T00:00:00Z'),
      }),
    ]);

    const seen = await app.inject({ method: 'GET', url: `/v1/billing/orders/${id}`, headers: shop.session });
    expect(seen.json()).toMatchObject({
      status: 'credited',
      paid_at: expect.any(String),
      credited_at: expect.any(String),
    });
    const log = await t.db.pool.query(`select action, actor from audit_log where target = $1 order by id`, [
      `order:${id}`,
    ]);
    expect(log.rows.map((r) => r.action)).toEqual(['billing.order_created', 'billing.order_credited']);
    const events = await t.db.pool.query(`select kind, payload from billing_events where tenant_id = $1`, [
      shop.tenantId,
    ]);
    expect(events.rows).toEqual([
      { kind: 'order_credited', payload: expect.objectContaining({ order_id: id }) },
    ]);
  });

  it('two confirmations at once credit once: one answers credited, the other finds it done', async () => {
    const pkg = await newPackage({ parts: 1000 });
    const shop = await tenantWith('owner');
    const id = (await order(shop.session, pkg.id)).json().id as number;
    const answers = await Promise.all([confirm(id, 'REF-A'), confirm(id, 'REF-B'), confirm(id, 'REF-C')]);
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    expect(answers.filter((a) => a.json().credited === true)).toHaveLength(1);
    expect((await getBalance({ db: t.db.pool, tenantId: shop.tenantId })).available).toBe(1000);
    const credits = await t.db.pool.query(
      `select count(*)::int as n from billing_ledger where order_id = $1`,
      [id],
    );
    expect(credits.rows[0].n).toBe(1);
    // And again later, from the CLI's point of view as much as the API's: nothing changes.
    expect((await confirm(id)).json()).toMatchObject({ credited: false, order: { status: 'credited' } });
    expect((await getBalance({ db: t.db.pool, tenantId: shop.tenantId })).available).toBe(1000);
  });

  it('an unpaid order can be canceled and then not confirmed; a credited one is not refundable', async () => {
    const pkg = await newPackage();
    const shop = await tenantWith('finance');
    const first = (await order(shop.session, pkg.id)).json().id as number;
    const canceled = await app.inject({
      method: 'POST',
      url: `/v1/billing/orders/${first}/cancel`,
      headers: shop.session,
    });
    expect(canceled.json()).toMatchObject({ status: 'canceled' });
    expect((await confirm(first)).json().error.code).toBe('billing.order_not_confirmable');

    const second = (await order(shop.session, pkg.id)).json().id as number;
    await confirm(second);
    const late = await app.inject({
      method: 'POST',
      url: `/v1/billing/orders/${second}/cancel`,
      headers: shop.session,
    });
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('billing.order_not_cancelable');
    expect((await getBalance({ db: t.db.pool, tenantId: shop.tenantId })).available).toBe(5000);
  });

  it('only owners and finance order; a disabled package is not on sale', async () => {
    const pkg = await newPackage();
    for (const role of ['viewer', 'developer'] as const) {
      const shop = await tenantWith(role);
      expect((await order(shop.session, pkg.id)).statusCode).toBe(403);
    }
    const key = await newTenant(ctx, 'Key only');
    expect((await order(key.auth, pkg.id)).statusCode).toBe(403);

    const off = await app.inject({
      method: 'PATCH',
      url: `/v1/operator/billing/packages/${pkg.id}`,
      headers: staff,
      payload: { enabled: false },
    });
    expect(off.json()).toMatchObject({ enabled: false });
    const shop = await tenantWith('owner');
    const refused = await order(shop.session, pkg.id);
    expect(refused.json().error.code).toBe('billing.package_unavailable');
    const listed = await app.inject({ method: 'GET', url: '/v1/billing/packages', headers: shop.session });
    expect(listed.json().data.map((p: { id: number }) => p.id)).not.toContain(pkg.id);
  });

  it("another tenant's order is not found, and the operator lists open orders of every tenant", async () => {
    const pkg = await newPackage();
    const a = await tenantWith('owner');
    const b = await tenantWith('owner');
    const id = (await order(b.session, pkg.id)).json().id as number;
    const peek = await app.inject({ method: 'GET', url: `/v1/billing/orders/${id}`, headers: a.session });
    expect(peek.statusCode).toBe(404);
    expect(peek.json().error.code).toBe('billing.order_not_found');
    const open = await app.inject({
      method: 'GET',
      url: '/v1/operator/billing/orders?status=created',
      headers: staff,
    });
    expect(open.json().data).toContainEqual(
      expect.objectContaining({ id, tenant_id: b.tenantId, status: 'created' }),
    );
  });

  it('the operator adjusts a balance with a reason, audited; never below zero', async () => {
    const shop = await tenantWith('owner');
    const url = `/v1/operator/billing/tenants/${shop.tenantId}/adjust`;
    const up = await app.inject({
      method: 'POST',
      url,
      headers: staff,
      payload: { parts: 200, reason: '补偿：通道故障' },
    });
    expect(up.statusCode, up.body).toBe(200);
    expect(up.json()).toEqual({ available: 200 });
    const down = await app.inject({
      method: 'POST',
      url,
      headers: staff,
      payload: { parts: -500, reason: '更正' },
    });
    expect(down.statusCode).toBe(409);
    const log = await t.db.pool.query(
      `select action, after from audit_log where tenant_id = $1 and action like 'billing.%'`,
      [shop.tenantId],
    );
    expect(log.rows).toEqual([
      {
        action: 'billing.balance_adjusted',
        after: expect.objectContaining({ parts: 200, reason: '补偿：通道故障' }),
      },
    ]);
  });
});
