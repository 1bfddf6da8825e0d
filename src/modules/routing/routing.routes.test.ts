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
    // Digits too large for an id are a name no channel has, not a number PostgreSQL refuses (500).
    for (const channel of ['9'.repeat(40), 2 ** 53 + 2]) {
      const tooLarge = await call('POST', '/v1/operator/routes', admin, { channels: [{ channel }] });
      expect(tooLarge.statusCode, tooLarge.body).toBe(404);
      expect(tooLarge.json().error.code).toBe('channels.not_found');
    }
    // The path takes up to 16 digits: more than a safe integer holds.
    const breaker = await call('GET', `/v1/operator/channels/${'9'.repeat(16)}/breaker`, support);
    expect(breaker.statusCode, breaker.body).toBe(404);
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

describe('circuit-breaker settings and the audit of routing changes', () => {
  const audit = async () =>
    (await call('GET', '/v1/operator/audit?limit=500', admin)).json().data as {
      actor: string;
      action: string;
      target: string | null;
      before: Record<string, unknown> | null;
      after: Record<string, unknown> | null;
      ip: string | null;
    }[];

  it('reads and changes a channel’s breaker; bad values are refused with routing.invalid_breaker; support reads but cannot change', async () => {
    const channel = (await call('GET', '/v1/operator/channels', admin))
      .json()
      .data.find((c: { name: string }) => c.name === 'all-b') as { id: number };
    const url = `/v1/operator/channels/${channel.id}/breaker`;
    const read = await call('GET', url, support);
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toMatchObject({
      channel_id: channel.id,
      channel: 'all-b',
      degrade_below: 0.9,
      recover_above: 0.95,
      probe_share: 0.02,
      channel_specific_codes: [],
    });
    expect(read.json().window).toBeGreaterThan(0);

    const set = await call('PATCH', url, admin, {
      degrade_below: 0.85,
      probe_share: 0.05,
      channel_specific_codes: ['smpp.ESME_RSUBMITFAIL', ' smpp.0x00000045 '],
    });
    expect(set.statusCode, set.body).toBe(200);
    // What is left out keeps its value; codes trimmed.
    expect(set.json()).toMatchObject({
      degrade_below: 0.85,
      recover_above: 0.95,
      probe_share: 0.05,
      channel_specific_codes: ['smpp.ESME_RSUBMITFAIL', 'smpp.0x00000045'],
    });
    // Stored where the workers read it at their next channel sync (no restart, no rebind).
    const row = await t.db.pool.query(
      'select degrade_below, probe_share, updated_at from channels where id = $1',
      [channel.id],
    );
    expect(row.rows[0]).toMatchObject({ degrade_below: '0.850', probe_share: '0.050' });
    expect((await call('GET', url, admin)).json().degrade_below).toBe(0.85);

    for (const [body, problem] of [
      [{ recover_above: 0.8 }, /recover_above: at least degrade_below/],
      [{ degrade_below: 1.5 }, /degrade_below: a number from 0 to 1/],
      [{ probe_share: 0.6 }, /probe_share: a number from 0 to 0.5/],
      [{ degrade_below: 0.8755 }, /at most 3 decimals/],
      [{ channel_specific_codes: ['has space'] }, /is not a code/],
    ] as const) {
      const bad = await call('PATCH', url, admin, body);
      expect(bad.statusCode, bad.body).toBe(400);
      expect(bad.json().error.code).toBe('routing.invalid_breaker');
      expect(bad.json().error.message).toMatch(problem);
    }
    // Nothing of a refused change was stored.
    expect((await call('GET', url, admin)).json()).toMatchObject({
      degrade_below: 0.85,
      recover_above: 0.95,
    });
    expect((await call('PATCH', url, admin, {})).statusCode).toBe(400);
    expect((await call('PATCH', url, support, { probe_share: 0.1 })).statusCode).toBe(403);
    expect((await call('GET', '/v1/operator/channels/999999/breaker', admin)).json().error.code).toBe(
      'channels.not_found',
    );
    const docs = await app.inject({ method: 'GET', url: '/docs/json' });
    const paths = docs.json().paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths['/v1/operator/channels/{id}/breaker'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'patch']),
    );
  });

  it('every change of a channel, a route, a ported number and a breaker made through the API is in the audit log, with who, from where, before and after', async () => {
    const me = (await call('GET', '/v1/operator/audit?limit=1', admin)).json().data;
    const fromId: number = me[0]?.id ?? 0;
    const c = await call('POST', '/v1/operator/channels', admin, {
      name: 'audited',
      host: '127.0.0.1',
      system_id: 'x',
      password: 'secret1',
    });
    expect(c.statusCode, c.body).toBe(201);
    const id = c.json().id as number;
    await call('PATCH', `/v1/operator/channels/${id}`, admin, { weight: 5 });
    await call('PATCH', `/v1/operator/channels/${id}`, admin, { enabled: false });
    await call('PATCH', `/v1/operator/channels/${id}`, admin, { enabled: true });
    await call('PATCH', `/v1/operator/channels/${id}/breaker`, admin, { recover_above: 0.97 });
    const route = await call('POST', '/v1/operator/routes', admin, {
      carrier: 'cucc',
      channels: [{ channel: 'audited' }],
    });
    await call('DELETE', `/v1/operator/routes/${route.json().id}`, admin);
    await call('PUT', '/v1/operator/number-carriers', admin, { number: '+8613900000001', carrier: 'cucc' });
    await call('DELETE', '/v1/operator/number-carriers/+8613900000001', admin);
    // A refused change writes nothing.
    await call('PATCH', `/v1/operator/channels/${id}`, admin, { binds: 0 });
    await call('DELETE', `/v1/operator/channels/${id}`, admin);

    const rows = (await audit()).filter((r) => (r as unknown as { id: number }).id > fromId).reverse();
    expect(rows.map((r) => [r.action, r.target])).toEqual([
      ['channel.created', `channel:${id}`],
      ['channel.changed', `channel:${id}`],
      ['channel.disabled', `channel:${id}`],
      ['channel.enabled', `channel:${id}`],
      ['channel.breaker_changed', `channel:${id}`],
      ['route.created', `route:${route.json().id}`],
      ['route.removed', `route:${route.json().id}`],
      ['route.number_ported', 'number:+8613900000001'],
      ['route.number_unported', 'number:+8613900000001'],
      ['channel.removed', `channel:${id}`],
    ]);
    for (const r of rows) {
      expect(r.actor).toMatch(/^staff:\d+$/);
      expect(r.ip).toBeTruthy();
    }
    const [created, changed, disabled, , breaker, routeCreated] = rows;
    // The password is never in the log, only that it was set.
    expect(JSON.stringify(rows)).not.toContain('secret1');
    expect(created!.after).toMatchObject({ name: 'audited', weight: 1, password_changed: true });
    expect(changed!.before).toMatchObject({ weight: 1 });
    expect(changed!.after).toMatchObject({ weight: 5 });
    expect(disabled!.before).toMatchObject({ enabled: true });
    expect(disabled!.after).toMatchObject({ enabled: false });
    expect(breaker!.before).toMatchObject({ recover_above: 0.95 });
    expect(breaker!.after).toMatchObject({ recover_above: 0.97, degrade_below: 0.9 });
    expect(routeCreated!.after).toMatchObject({ carrier: 'cucc', channels: [{ channel: 'audited' }] });
  });
});
