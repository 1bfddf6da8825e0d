// last_engaged_at kept from deliveries and replies by the engagement walk (no trigger on the hot
// paths), read back through GET /v1/contacts and a "not engaged in 30 days" segment. Messages go in
// through POST /v1/messages; their delivery and the reply are written as the receipt and MO paths
// write them (status, done_at; an attributed inbound row); a click goes through GET /s/:code on a
// short link a campaign would have made.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncEngagement } from '../src/modules/contacts/engagement.ts';
import { buildTestApp, newTenant } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let a: Awaited<ReturnType<typeof newTenant>>;
let b: Awaited<ReturnType<typeof newTenant>>;
const now = new Date('2026-11-30T08:00:00Z');

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock: { now: () => now } }));
  a = await newTenant(ctx, 'Engaged A');
  b = await newTenant(ctx, 'Engaged B');
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const call = (method: 'GET' | 'POST', url: string, payload?: unknown, who = a) =>
  app.inject({
    method,
    url,
    headers: who.auth,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

async function send(to: string, who = a): Promise<number> {
  const res = await call('POST', '/v1/messages', { to, content: '【鸿雁】您好' }, who);
  expect(res.statusCode, res.body).toBe(202);
  return Number(res.json().id);
}

async function engagedAt(phone: string): Promise<string | null> {
  const res = await call('GET', `/v1/contacts?phone=${encodeURIComponent(phone)}`);
  return res.json().data[0].last_engaged_at;
}

describe('engagement', () => {
  it('a delivery and a reply raise last_engaged_at; a message still on its way is looked at again later', async () => {
    await call('POST', '/v1/contacts/bulk', {
      contacts: [
        { phone: '13800000001' },
        { phone: '13800000002' },
        { phone: '13800000003' },
        { phone: '13800000004' },
      ],
    });
    // The same number is also tenant B's contact: B sent it nothing, so B's stays unengaged.
    await call('POST', '/v1/contacts/bulk', { contacts: [{ phone: '13800000001' }] }, b);
    const delivered = await send('13800000001');
    const onItsWay = await send('13800000002');
    const failed = await send('13800000004');
    const deliveredAt = new Date('2026-11-30T07:00:00Z');
    await t.db.pool.query("update messages set status = 'delivered', done_at = $2 where id = $1", [
      delivered,
      deliveredAt,
    ]);
    await t.db.pool.query("update messages set status = 'undelivered', done_at = $2 where id = $1", [
      failed,
      deliveredAt,
    ]);
    await t.db.pool.query("update messages set status = 'sent', sent_at = $2 where id = $1", [onItsWay, now]);
    const repliedAt = new Date('2026-11-30T07:30:00Z');
    await t.db.pool.query(
      "insert into inbound_messages (tenant_id, sender, destination, content, received_at) values ($1, '8613800000003', '10690001', '好的', $2)",
      [a.tenantId, repliedAt],
    );

    await syncEngagement(t.db.pool, now, 'CN');
    expect(await engagedAt('13800000001')).toBe(deliveredAt.toISOString());
    expect(await engagedAt('13800000002')).toBeNull();
    expect(await engagedAt('13800000003')).toBe(repliedAt.toISOString());
    expect(await engagedAt('13800000004')).toBeNull();
    expect(
      (await call('GET', '/v1/contacts?phone=13800000001', undefined, b)).json().data[0].last_engaged_at,
    ).toBeNull();

    // The message that was on its way is delivered later: the next walk sees it.
    const later = new Date('2026-11-30T07:55:00Z');
    await t.db.pool.query("update messages set status = 'delivered', done_at = $2 where id = $1", [
      onItsWay,
      later,
    ]);
    await syncEngagement(t.db.pool, now, 'CN');
    expect(await engagedAt('13800000002')).toBe(later.toISOString());

    const segment = await call('POST', '/v1/contacts/segments', {
      name: 'dormant',
      filter: { match: 'all', conditions: [{ type: 'not_engaged', days: 30 }] },
    });
    const dormant = await call('GET', `/v1/contacts?segment_id=${segment.json().id}`);
    expect(dormant.json().data.map((c: { phone: string }) => c.phone)).toEqual(['+8613800000004']);
  });
  it("a click on a short link (not a bot's) raises last_engaged_at", async () => {
    await call('POST', '/v1/contacts/bulk', {
      contacts: [{ phone: '13800000005' }, { phone: '13800000006' }],
    });
    await t.db.pool.query(
      `insert into short_links (code, tenant_id, phone, target, created_at)
       values ('engage01', $1, '+8613800000005', 'https://example.cn/a', $2),
              ('engage02', $1, '+8613800000006', 'https://example.cn/b', $2)`,
      [a.tenantId, now],
    );
    const mobile =
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';
    const bot = 'Googlebot/2.1 (+http://www.google.com/bot.html)';
    expect(
      (await app.inject({ method: 'GET', url: '/s/engage01', headers: { 'user-agent': mobile } })).statusCode,
    ).toBe(302);
    expect(
      (await app.inject({ method: 'GET', url: '/s/engage02', headers: { 'user-agent': bot } })).statusCode,
    ).toBe(302);
    // The redirect writes its click a moment later (batched): wait for both rows.
    for (let i = 0; i < 300; i++) {
      const { rows } = await t.db.pool.query<{ n: number }>(
        'select count(*)::int as n from short_link_clicks',
      );
      if (rows[0]!.n >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const result = await syncEngagement(t.db.pool, now, 'CN');
    expect(result.clicks).toBe(2);
    expect(await engagedAt('13800000005')).toBe(now.toISOString());
    expect(await engagedAt('13800000006')).toBeNull();
  });
});
