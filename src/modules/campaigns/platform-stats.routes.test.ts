// GET /v1/operator/stats/daily: the platform's daily statistics for staff, summed over every
// tenant per day and per tenant over the range, with delivery rates; a tenant key is refused.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { createAccountsRepository } from '../accounts/accounts.repository.ts';
import { type Browser, fakeClock, loginAs, newStaff, withSession } from '../accounts/accounts.testkit.ts';
import { createTenant } from '../accounts/accounts.usecases.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let support: Browser;

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app } = await buildTestApp(t.db, { clock: fakeClock() }));
  await newStaff(t.db, 'sue', 'support');
  support = (await loginAs(app, 'sue', 'staff password 1')).browser!;
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

it('sums each day over every tenant and each tenant over the range, with delivery rates', async () => {
  const repository = createAccountsRepository(t.db.kysely);
  const a = await createTenant({ name: 'stats-a', repository });
  const b = await createTenant({ name: 'stats-b', repository });
  // Rows as the periodic job keeps them (tenant, day, type): counts of final messages.
  const rows: [number, string, string, number, number, number, number, number][] = [
    // tenant, day, type, messages, delivered, failed, unknown, canceled
    [a.tenant.id, '2026-11-01', 'verification', 10, 8, 1, 1, 0],
    [a.tenant.id, '2026-11-01', 'marketing', 5, 3, 2, 0, 0],
    [b.tenant.id, '2026-11-01', 'notification', 4, 4, 0, 0, 0],
    [b.tenant.id, '2026-11-02', 'notification', 6, 0, 0, 0, 6],
    [a.tenant.id, '2026-11-05', 'verification', 100, 100, 0, 0, 0],
  ];
  for (const [tenant, day, type, messages, delivered, failed, unknown, canceled] of rows)
    await t.db.pool.query(
      `insert into daily_stats (tenant_id, day, type, messages, parts, sent, delivered, failed, unknown, canceled)
       values ($1, $2, $3, $4, $4, $4, $5, $6, $7, $8)`,
      [tenant, day, type, messages, delivered, failed, unknown, canceled],
    );
  const res = await app.inject({
    method: 'GET',
    url: '/v1/operator/stats/daily?from=2026-11-01&to=2026-11-02',
    headers: withSession(support),
  });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toEqual({
    days: [
      {
        day: '2026-11-01',
        messages: 19,
        parts: 19,
        delivered: 15,
        failed: 3,
        unknown: 1,
        canceled: 0,
        delivery_rate: 15 / 19,
      },
      {
        day: '2026-11-02',
        messages: 6,
        parts: 6,
        delivered: 0,
        failed: 0,
        unknown: 0,
        canceled: 6,
        delivery_rate: null,
      },
    ],
    tenants: [
      {
        tenant_id: a.tenant.id,
        tenant_name: 'stats-a',
        messages: 15,
        parts: 15,
        delivered: 11,
        failed: 3,
        unknown: 1,
        canceled: 0,
        delivery_rate: 11 / 15,
      },
      {
        tenant_id: b.tenant.id,
        tenant_name: 'stats-b',
        messages: 10,
        parts: 10,
        delivered: 4,
        failed: 0,
        unknown: 0,
        canceled: 6,
        delivery_rate: 1,
      },
    ],
  });
  const tenantKey = await app.inject({
    method: 'GET',
    url: '/v1/operator/stats/daily?from=2026-11-01&to=2026-11-02',
    headers: { authorization: `Bearer ${a.apiKey.key}` },
  });
  expect(tenantKey.statusCode).toBe(403);
  const bad = await app.inject({
    method: 'GET',
    url: '/v1/operator/stats/daily?from=yesterday&to=2026-11-02',
    headers: withSession(support),
  });
  expect(bad.statusCode).toBe(400);
});
