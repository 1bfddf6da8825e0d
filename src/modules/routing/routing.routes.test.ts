// The operator API of channels and routing through the real server: staff add channels with their
// routing settings, change them, build a route table, test a number's route, and record ported
// numbers; a support member reads but cannot change.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const call = (
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  url: string,
  who: Browser,
  payload?: object,
) => app.inject({ method, url, headers: withSession(who), ...(payload ? { payload } : {}) });

describe('operator channels and routes', () => {
  it('adds channels with what they cover, carry and cost, and changes them', async () => {
    const a = await call('POST', '/v1/operator/channels', admin, {
      name: 'mobile-a',
      host: '127.0.0.1',
      system_id: 'a',
      carriers: ['cmcc'],
      message_types: ['verification', 'notification'],
      cost_per_part: '0.032',
      weight: 3,
      binds: 2,
      accepts_extension: false,
    });
    expect(a.statusCode, a.body).toBe(201);
    expect(a.json()).toMatchObject({
      name: 'mobile-a',
      carriers: ['cmcc'],
      message_types: ['verification', 'notification'],
      cost_per_part: '0.03200',
      cost_currency: 'CNY',
      weight: 3,
      binds: 2,
      accepts_extension: false,
      enabled: true,
    });
    const b = await call('POST', '/v1/operator/channels', admin, {
      name: 'all-b',
      host: '127.0.0.1',
      system_id: 'b',
    });
    expect(b.json()).toMatchObject({
      carriers: ['cmcc', 'cucc', 'ctcc', 'cbn', 'intl'],
      weight: 1,
      binds: 1,
    });

    const changed = await call('PATCH', `/v1/operator/channels/${a.json().id}`, admin, {
      carriers: ['cmcc', 'intl:852'],
      enabled: false,
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({ carriers: ['cmcc', 'intl:852'], enabled: false });
    expect(new Date(changed.json().updated_at).getTime()).toBeGreaterThan(
      new Date(a.json().updated_at).getTime(),
    );

    const bad = await call('PATCH', `/v1/operator/channels/${a.json().id}`, admin, {
      binds: 0,
      carriers: ['vodafone'],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('channels.invalid');
    expect(bad.json().error.details).toHaveLength(2);

    const listed = await call('GET', '/v1/operator/channels', support);
    expect(listed.json().data.map((c: { name: string }) => c.name)).toEqual(['mobile-a', 'all-b']);
    expect(
      (await call('PATCH', `/v1/operator/channels/${a.json().id}`, support, { weight: 2 })).statusCode,
    ).toBe(403);
    expect((await call('GET', '/v1/operator/channels/999999', admin)).json().error.code).toBe(
      'channels.not_found',
    );
  });

  it('builds a route table and tests the route of a number, saying what was skipped and why', async () => {
    const list = (await call('GET', '/v1/operator/channels', admin)).json().data as {
      id: number;
      name: string;
    }[];
    const mobileA = list.find((c) => c.name === 'mobile-a')!;
    expect(
      (await call('PATCH', `/v1/operator/channels/${mobileA.id}`, admin, { enabled: true })).statusCode,
    ).toBe(200);
    const r = await call('POST', '/v1/operator/routes', admin, {
      carrier: 'cmcc',
      message_type: 'marketing',
      channels: [
        { channel: 'mobile-a', tier: 1, weight: 1 },
        { channel: 'all-b', tier: 2 },
      ],
    });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({
      carrier: 'cmcc',
      message_type: 'marketing',
      channels: [
        { channel: 'mobile-a', tier: 1, weight: 1 },
        { channel: 'all-b', tier: 2, weight: 1 },
      ],
    });

    const tested = await call('POST', '/v1/operator/routes/test', support, {
      to: '13912345678',
      type: 'marketing',
    });
    expect(tested.json()).toMatchObject({
      to: '+8613912345678',
      recipient: { carrier: 'cmcc', country_code: '86' },
      decision: 'channel',
      channel: { name: 'all-b' },
      rule: r.json().id,
      skipped: [{ reason: 'type', why: 'does not carry marketing messages' }],
    });
    const none = await call('POST', '/v1/operator/routes/test', support, {
      to: '18912345678',
      type: 'marketing',
    });
    expect(none.json()).toMatchObject({
      decision: 'rejected',
      error_code: 'routing.no_route',
      why: 'no route matches',
    });

    const unknownChannel = await call('POST', '/v1/operator/routes', admin, {
      channels: [{ channel: 'nope' }],
    });
    expect(unknownChannel.statusCode).toBe(404);
    const badRoute = await call('POST', '/v1/operator/routes', admin, {
      country_prefix: '+86',
      channels: [{ channel: 'all-b', tier: 12 }],
    });
    expect(badRoute.statusCode).toBe(400);
    expect(badRoute.json().error.code).toBe('routing.invalid_route');

    expect((await call('GET', '/v1/operator/routes', support)).json().data).toHaveLength(1);
    expect((await call('DELETE', `/v1/operator/routes/${r.json().id}`, admin)).statusCode).toBe(200);
    expect((await call('DELETE', `/v1/operator/routes/${r.json().id}`, admin)).json().error.code).toBe(
      'routing.route_not_found',
    );
  });

  it('a ported number takes the carrier the operator records, until removed', async () => {
    await call('POST', '/v1/operator/routes', admin, { carrier: 'ctcc', channels: [{ channel: 'all-b' }] });
    const put = await call('PUT', '/v1/operator/number-carriers', admin, {
      number: '+8613912345678',
      carrier: 'ctcc',
      note: '携号转网 2026-11',
    });
    expect(put.statusCode, put.body).toBe(200);
    const tested = await call('POST', '/v1/operator/routes/test', admin, { to: '+8613912345678' });
    expect(tested.json()).toMatchObject({
      recipient: { carrier: 'ctcc', ported: true },
      channel: { name: 'all-b' },
    });
    expect((await call('GET', '/v1/operator/number-carriers', support)).json().data).toHaveLength(1);
    const removed = await call('DELETE', '/v1/operator/number-carriers/+8613912345678', admin);
    expect(removed.statusCode, removed.body).toBe(200);
    const after = await call('POST', '/v1/operator/routes/test', admin, { to: '+8613912345678' });
    expect(after.json()).toMatchObject({
      recipient: { carrier: 'cmcc', ported: false },
      decision: 'rejected',
    });
    const bad = await call('PUT', '/v1/operator/number-carriers', admin, {
      number: '+447700900123',
      carrier: 'ctcc',
    });
    expect(bad.json().error.code).toBe('routing.invalid_override');
  });
});
