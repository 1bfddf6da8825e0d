// The routing events route pages oldest first (after_id) by default; order=desc answers the newest
// first, which is what the console needs for each channel's last event. A breaker switch shows the
// instant the breaker switched, however late its row was written, and is written once.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { type Browser, fakeClock, loginAs, newStaff, withSession } from '../../accounts/accounts.testkit.ts';
import { recordBreakerSwitch, recordChannelEvent } from './health.sql.ts';

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

const events = async (query: string) => {
  const res = await app.inject({
    method: 'GET',
    url: `/v1/operator/routing/events?${query}`,
    headers: withSession(admin),
  });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json() as { data: { id: number; channel_id: number; kind: string; created_at: string }[] })
    .data;
};

/** A channel added through the operator API, as an operator would; its id. */
const addChannel = async (name: string) => {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/operator/channels',
    headers: withSession(admin),
    payload: { name, host: '127.0.0.1', system_id: name.slice(-1) },
  });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: number }).id;
};

it('answers the events oldest first by default and the newest first with order=desc', async () => {
  const a = await addChannel('events-a');
  const b = await addChannel('events-b');
  await recordChannelEvent(t.db.pool, { channelId: a, kind: 'bind_lost', reason: 'first', nodeId: 'n1' });
  await recordChannelEvent(t.db.pool, { channelId: b, kind: 'bind_lost', reason: 'second', nodeId: 'n1' });
  await recordChannelEvent(t.db.pool, { channelId: a, kind: 'bind_back', reason: 'third', nodeId: 'n1' });

  const oldest = await events(`channel_id=${a}`);
  expect(oldest.map((e) => e.kind)).toEqual(['bind_lost', 'bind_back']);
  const newest = await events(`channel_id=${a}&order=desc&limit=1`);
  expect(newest.map((e) => e.kind)).toEqual(['bind_back']);
  const all = await events('order=desc');
  expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((x, y) => y - x));
  expect(all.slice(0, 3).map((e) => e.channel_id)).toEqual([a, b, a]);
  const refused = await app.inject({
    method: 'GET',
    url: '/v1/operator/routing/events?order=sideways',
    headers: withSession(admin),
  });
  expect(refused.statusCode).toBe(400);
});

it('dates a breaker switch at the instant it switched, not when its row was written, and writes it once', async () => {
  const channelId = await addChannel('events-switch');
  // Routing followed the switch at once; the row was written 3.5 s later, behind a busy pool.
  const atMs = Date.now() - 3_500;
  const e = { channelId, kind: 'degraded' as const, reason: 'fell', nodeId: 'n1', rate: 0.7, samples: 40 };
  expect(await recordBreakerSwitch(t.db.pool, { ...e, atMs })).toBe(true);
  // Another node saw the same switch a moment later: not written again.
  expect(await recordBreakerSwitch(t.db.pool, { ...e, nodeId: 'n2', atMs: atMs + 100 })).toBe(false);
  const listed = await events(`channel_id=${channelId}`);
  expect(listed.map((x) => x.kind)).toEqual(['degraded']);
  expect(Date.parse(listed[0]!.created_at)).toBe(atMs);
});
