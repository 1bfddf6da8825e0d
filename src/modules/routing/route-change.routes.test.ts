// PUT /v1/operator/routes/{id}: a route's filters, description and channel group replaced in one
// audited change, its position kept unless given; bad input and unknown routes or channels are
// refused and change nothing; a support member cannot change it.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { type Browser, fakeClock, loginAs, newStaff, withSession } from '../accounts/accounts.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let admin: Browser;
let support: Browser;

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app } = await buildTestApp(t.db, { clock: fakeClock() }));
  await newStaff(t.db, 'boss', 'admin');
  await newStaff(t.db, 'sue', 'support');
  admin = (await loginAs(app, 'boss', 'staff password 1')).browser!;
  support = (await loginAs(app, 'sue', 'staff password 1')).browser!;
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const call = (method: 'GET' | 'POST' | 'PUT', url: string, who: Browser, payload?: object) =>
  app.inject({ method, url, headers: withSession(who), ...(payload ? { payload } : {}) });

it('replaces a route in one audited change, keeps its position, and refuses what it cannot apply', async () => {
  for (const name of ['change-a', 'change-b'])
    expect(
      (await call('POST', '/v1/operator/channels', admin, { name, host: '127.0.0.1', system_id: 'x' }))
        .statusCode,
    ).toBe(201);
  const created = await call('POST', '/v1/operator/routes', admin, {
    position: 40,
    message_type: 'marketing',
    carrier: 'cmcc',
    description: 'marketing on cmcc',
    channels: [{ channel: 'change-a' }],
  });
  expect(created.statusCode, created.body).toBe(201);
  const id = (created.json() as { id: number }).id;

  const changed = await call('PUT', `/v1/operator/routes/${id}`, admin, {
    message_type: 'notification',
    description: 'notifications, a then b',
    channels: [
      { channel: 'change-b', tier: 1, weight: 3 },
      { channel: 'change-a', tier: 2 },
    ],
  });
  expect(changed.statusCode, changed.body).toBe(200);
  expect(changed.json()).toMatchObject({
    id,
    position: 40,
    message_type: 'notification',
    carrier: null,
    description: 'notifications, a then b',
    channels: [
      { channel: 'change-b', tier: 1, weight: 3 },
      { channel: 'change-a', tier: 2, weight: 1 },
    ],
  });
  const listed = (await call('GET', '/v1/operator/routes', admin)).json() as { data: { id: number }[] };
  expect(listed.data.find((r) => r.id === id)).toEqual(changed.json());

  const audit = (await call('GET', '/v1/operator/audit?limit=10', admin)).json() as {
    data: { action: string; target: string; before: unknown; after: unknown }[];
  };
  const entry = audit.data.find((a) => a.action === 'route.changed');
  expect(entry).toMatchObject({
    target: `route:${id}`,
    before: { message_type: 'marketing', carrier: 'cmcc' },
    after: { message_type: 'notification', carrier: null },
  });

  const unknownChannel = await call('PUT', `/v1/operator/routes/${id}`, admin, {
    channels: [{ channel: 'nope' }],
  });
  expect(unknownChannel.statusCode).toBe(404);
  const bad = await call('PUT', `/v1/operator/routes/${id}`, admin, {
    country_prefix: 'abc',
    channels: [{ channel: 'change-a' }],
  });
  expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'routing.invalid_route']);
  const missing = await call('PUT', '/v1/operator/routes/999999', admin, {
    channels: [{ channel: 'change-a' }],
  });
  expect(missing.statusCode).toBe(404);
  const refused = await call('PUT', `/v1/operator/routes/${id}`, support, {
    channels: [{ channel: 'change-a' }],
  });
  expect(refused.statusCode).toBe(403);
  const after = (await call('GET', '/v1/operator/routes', admin)).json() as { data: { id: number }[] };
  expect(after.data.find((r) => r.id === id)).toEqual(changed.json());
});
