// Recipient protection through the routes a tenant and an operator use, on a real PostgreSQL:
// blacklists and opt-outs refuse each recipient by itself with its own code, a TD reply opts a
// number out, frequency caps hold under concurrency and roll with the clock, lists import all
// lines or none.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { fakeClock, loginAs, newMember, withSession } from '../../accounts/accounts.testkit.ts';
import { markSent, operatorAdmin, reply, replyChannel, sendingTenant } from './protection.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
// Noon in Beijing: marketing is inside its daytime window.
const clock = fakeClock('2026-03-02T04:00:00Z');
let operator: Record<string, string>;
let channel: { id: number; sourceAddr: string };

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
  operator = await operatorAdmin(app, t.db);
  channel = await replyChannel(t.db);
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

type Auth = Record<string, string>;
const json = (auth: Auth) => ({ ...auth, 'content-type': 'application/json' });
const send = (auth: Auth, to: string, type = 'notification', extra: Record<string, unknown> = {}) =>
  app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: json(auth),
    payload: { to, content: '【鸿雁】您的订单已发货，回T退订', type, ...extra },
  });
const batch = (auth: Auth, numbers: string[], type = 'notification') =>
  app.inject({
    method: 'POST',
    url: '/v1/batches',
    headers: json(auth),
    payload: { content: '【鸿雁】您的订单已发货，回T退订', type, recipients: numbers.map((to) => ({ to })) },
  });
const add = (auth: Auth, url: string, body: Record<string, unknown>) =>
  app.inject({ method: 'POST', url, headers: json(auth), payload: body });

describe('blacklists and opt-outs', () => {
  it('refuse each recipient of a batch by itself, with its own code, and never another tenant’s', async () => {
    const a = await sendingTenant(ctx, t.db, 'lists-a');
    const b = await sendingTenant(ctx, t.db, 'lists-b');
    expect(
      (
        await add(operator, '/v1/operator/compliance/blacklist', {
          phone: '13500000001',
          reason: 'complaint',
        })
      ).statusCode,
    ).toBe(201);
    expect(
      (await add(a.auth, '/v1/compliance/blacklist', { phone: '13500000002', reason: 'carrier_list' }))
        .statusCode,
    ).toBe(201);
    expect((await add(a.auth, '/v1/compliance/opt-outs', { phone: '13500000003' })).statusCode).toBe(201);
    const numbers = ['13500000001', '13500000002', '13500000003', '13500000004'];

    const resA = await batch(a.auth, numbers);
    expect(resA.statusCode, resA.body).toBe(202);
    expect(resA.json()).toMatchObject({ total: 4, accepted: 1, rejected: 3 });
    expect(resA.json().results.map((r: { error?: { code: string } }) => r.error?.code ?? 'accepted')).toEqual(
      ['compliance.blacklisted', 'compliance.blacklisted', 'compliance.opt_out', 'accepted'],
    );
    // Tenant A's own lists say nothing about tenant B's recipients; the platform's does.
    const resB = await batch(b.auth, numbers);
    expect(resB.json().results.map((r: { error?: { code: string } }) => r.error?.code ?? 'accepted')).toEqual(
      ['compliance.blacklisted', 'accepted', 'accepted', 'accepted'],
    );
    const single = await send(a.auth, '13500000001');
    expect(single.statusCode).toBe(422);
    expect(single.json().error).toMatchObject({
      code: 'compliance.blacklisted',
      details: { list: 'platform' },
    });
    const stored = await t.db.pool.query('select count(*)::int as n from messages where tenant_id = $1', [
      a.tenantId,
    ]);
    expect(stored.rows[0].n).toBe(1);
  });

  it('an opt-out spares verification codes the handset asked for', async () => {
    const a = await sendingTenant(ctx, t.db, 'otp-a');
    await add(a.auth, '/v1/compliance/opt-outs', { phone: '13500000011' });
    expect((await send(a.auth, '13500000011', 'notification')).json().error.code).toBe('compliance.opt_out');
    expect((await send(a.auth, '13500000011', 'verification')).statusCode).toBe(202);
  });
});

describe('opt-out by reply', () => {
  const optOuts = async (auth: Auth, phone: string) =>
    (
      await app.inject({
        method: 'GET',
        url: `/v1/compliance/opt-outs?phone=${encodeURIComponent(phone)}`,
        headers: auth,
      })
    ).json().data;

  it('a TD reply opts the number out of the tenant it answered, START opts it back in', async () => {
    const a = await sendingTenant(ctx, t.db, 'reply-a', '71');
    const other = await sendingTenant(ctx, t.db, 'reply-other', '72');
    const sent = await send(a.auth, '13600000001');
    expect(sent.statusCode, sent.body).toBe(202);
    await reply(t.db, {
      channelId: channel.id,
      from: '+8613600000001',
      to: '10690071',
      text: ' ｔｄ ',
      at: clock.now(),
    });

    const [entry] = await optOuts(a.auth, '13600000001');
    expect(entry).toMatchObject({ phone: '+8613600000001', source: 'reply' });
    expect(entry.signature_id).not.toBeNull();
    expect((await send(a.auth, '13600000001')).json().error.code).toBe('compliance.opt_out');
    // Only the tenant it answered.
    expect((await send(other.auth, '13600000001')).statusCode).toBe(202);

    await reply(t.db, {
      channelId: channel.id,
      from: '+8613600000001',
      to: '10690071',
      text: 'START',
      at: clock.now(),
    });
    expect(await optOuts(a.auth, '13600000001')).toEqual([]);
    expect((await send(a.auth, '13600000001')).statusCode).toBe(202);
  });

  it('finds the tenant from its last message when the reply carries no code, and ignores sentences', async () => {
    const a = await sendingTenant(ctx, t.db, 'reply-recent');
    const sent = await send(a.auth, '13600000002');
    await markSent(t.db, sent.json().id, channel.id, clock.now());
    await reply(t.db, {
      channelId: channel.id,
      from: '+8613600000002',
      to: '106900',
      text: '退订是什么意思',
      at: clock.now(),
    });
    expect(await optOuts(a.auth, '13600000002')).toEqual([]);
    await reply(t.db, {
      channelId: channel.id,
      from: '+8613600000002',
      to: '106900',
      text: '退订。',
      at: clock.now(),
    });
    expect(await optOuts(a.auth, '13600000002')).toHaveLength(1);
  });

  it('follows the keywords the operator sets, stored as they are compared', async () => {
    const a = await sendingTenant(ctx, t.db, 'reply-keywords', '73');
    await send(a.auth, '13600000004');
    operator = await operatorAdmin(app, t.db);
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/operator/compliance/opt-out-keywords',
      headers: json(operator),
      payload: { opt_out: ['td', '退订', 'ｂｙｅ'], opt_in: ['start'] },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toEqual({ opt_out: ['BYE', 'TD', '退订'], opt_in: ['START'] });
    await reply(t.db, {
      channelId: channel.id,
      from: '+8613600000004',
      to: '10690073',
      text: 'N',
      at: clock.now(),
    });
    expect(await optOuts(a.auth, '13600000004')).toEqual([]);
    await reply(t.db, {
      channelId: channel.id,
      from: '+8613600000004',
      to: '10690073',
      text: 'bye',
      at: clock.now(),
    });
    expect(await optOuts(a.auth, '13600000004')).toHaveLength(1);
    const both = await app.inject({
      method: 'PUT',
      url: '/v1/operator/compliance/opt-out-keywords',
      headers: json(operator),
      payload: { opt_out: ['TD'], opt_in: ['td'] },
    });
    expect(both.json().error.code).toBe('protection.invalid_settings');
  });

  it('a number that opts out of three tenants goes on the platform blacklist (seed 000)', async () => {
    const codes = ['81', '82', '83'];
    for (const code of codes) {
      const tenant = await sendingTenant(ctx, t.db, `repeat-${code}`, code);
      await send(tenant.auth, '13600000003');
      await reply(t.db, {
        channelId: channel.id,
        from: '+8613600000003',
        to: `106900${code}`,
        text: 'TD',
        at: clock.now(),
      });
    }
    const list = await app.inject({
      method: 'GET',
      url: '/v1/operator/compliance/blacklist?phone=13600000003',
      headers: operator,
    });
    expect(list.json().data).toMatchObject([{ phone: '+8613600000003', reason: 'repeated_opt_out' }]);
    const fresh = await sendingTenant(ctx, t.db, 'repeat-fresh');
    expect((await send(fresh.auth, '13600000003')).json().error.code).toBe('compliance.blacklisted');
  });
});

describe('frequency caps', () => {
  it('N parallel sends to one number accept exactly the allowed count, singles and batches alike', async () => {
    const a = await sendingTenant(ctx, t.db, 'caps-parallel');
    // Marketing: 3 a day. 12 single sends and 4 batches naming the number, all at once.
    const singles = Array.from({ length: 12 }, () => send(a.auth, '13700000001', 'marketing'));
    const batches = Array.from({ length: 4 }, (_, i) =>
      batch(a.auth, ['13700000001', `1370000009${i}`], 'marketing'),
    );
    const [s, b] = await Promise.all([Promise.all(singles), Promise.all(batches)]);
    const singleOk = s.filter((r) => r.statusCode === 202).length;
    const batchOk = b.filter((r) => r.json().results[0].accepted).length;
    expect(singleOk + batchOk).toBe(3);
    for (const r of s.filter((x) => x.statusCode !== 202)) {
      expect(r.statusCode).toBe(429);
      expect(r.json().error).toMatchObject({
        code: 'limit.recipient_frequency',
        details: { window: 'day', limit: 3, type: 'marketing' },
      });
    }
    for (const r of b) expect(r.json().results[1].accepted).toBe(true);
    for (const r of b.filter((x) => !x.json().results[0].accepted))
      expect(r.json().results[0].error).toMatchObject({
        code: 'limit.recipient_frequency',
        details: { window: 'day', limit: 3 },
      });
    const rows = await t.db.pool.query(
      `select count(*)::int as n from messages where tenant_id = $1 and recipient = '+8613700000001'`,
      [a.tenantId],
    );
    expect(rows.rows[0].n).toBe(3);
  });

  it('verification: 1 a minute, 10 an hour, each window rolling with the clock', async () => {
    const a = await sendingTenant(ctx, t.db, 'caps-rolling');
    const parallel = await Promise.all(
      Array.from({ length: 5 }, () => send(a.auth, '13700000002', 'verification')),
    );
    expect(parallel.filter((r) => r.statusCode === 202)).toHaveLength(1);
    expect(parallel.find((r) => r.statusCode === 429)!.json().error.details.window).toBe('minute');
    for (let i = 2; i <= 10; i++) {
      clock.advance(61_000);
      expect((await send(a.auth, '13700000002', 'verification')).statusCode).toBe(202);
    }
    clock.advance(61_000);
    const eleventh = await send(a.auth, '13700000002', 'verification');
    expect(eleventh.json().error.details).toMatchObject({ window: 'hour', limit: 10 });
    clock.advance(3_600_000);
    expect((await send(a.auth, '13700000002', 'verification')).statusCode).toBe(202);
    // Another type has its own count.
    expect((await send(a.auth, '13700000002', 'notification')).statusCode).toBe(202);
    // A day later the earlier messages have left every window: counted from `messages`, by time.
    clock.advance(86_400_000 + 1000);
    expect((await send(a.auth, '13700000002', 'verification')).statusCode).toBe(202);
    const again = await send(a.auth, '13700000002', 'verification');
    expect(again.json().error.details).toMatchObject({ window: 'minute', limit: 1 });
  });

  it('counts the rows of a request that read the clock after it but took the locks first', async () => {
    // Each request reads its clock before it waits for its recipients' locks, and its rows carry
    // that reading: the one that read later can commit first. Its rows are in the window all the
    // same (three concurrent batches once admitted past a cap of two this way).
    const a = await sendingTenant(ctx, t.db, 'caps-later-reading');
    clock.advance(2_000);
    expect((await send(a.auth, '13700000011', 'verification')).statusCode).toBe(202);
    expect((await batch(a.auth, ['13700000012'], 'verification')).json().accepted).toBe(1);
    clock.advance(-2_000);
    const single = await send(a.auth, '13700000011', 'verification');
    expect(single.statusCode, single.body).toBe(429);
    expect(single.json().error.details).toMatchObject({ window: 'minute', limit: 1 });
    const grouped = await batch(a.auth, ['13700000012'], 'verification');
    expect(grouped.json()).toMatchObject({ accepted: 0, rejected: 1 });
    expect(grouped.json().results[0].error.details).toMatchObject({ window: 'minute', limit: 1 });
    clock.advance(2_000);
  });

  it('counts what was sent, not what was canceled: a canceled scheduled send frees its place in the cap', async () => {
    const a = await sendingTenant(ctx, t.db, 'caps-canceled');
    const later = new Date(clock.now().getTime() + 3 * 3_600_000).toISOString();
    const scheduled = await send(a.auth, '13700000009', 'verification', { send_at: later });
    expect(scheduled.statusCode, scheduled.body).toBe(202);
    const refused = await send(a.auth, '13700000009', 'verification');
    expect(refused.json().error).toMatchObject({
      code: 'limit.recipient_frequency',
      details: { window: 'minute' },
    });
    const cancel = await app.inject({
      method: 'POST',
      url: `/v1/messages/${scheduled.json().id}/cancel`,
      headers: json(a.auth),
      payload: {},
    });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect((await send(a.auth, '13700000009', 'verification')).statusCode).toBe(202);
  });

  it('exempts the tenant’s allowlisted test numbers, and follows the caps the operator sets', async () => {
    const a = await sendingTenant(ctx, t.db, 'caps-settings');
    await add(a.auth, '/v1/compliance/allowlist', { phone: '13700000003', note: 'QA handset' });
    const tests = await Promise.all(
      Array.from({ length: 5 }, () => send(a.auth, '13700000003', 'verification')),
    );
    expect(tests.map((r) => r.statusCode)).toEqual([202, 202, 202, 202, 202]);

    // The clock moved on: a fresh staff session.
    operator = await operatorAdmin(app, t.db);
    const patch = await app.inject({
      method: 'PATCH',
      url: `/v1/operator/tenants/${a.tenantId}/protection`,
      headers: json(operator),
      payload: { caps: { notification: { day: 1 } } },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json().caps.notification).toEqual({ minute: null, hour: null, day: 1 });
    expect((await send(a.auth, '13700000004')).statusCode).toBe(202);
    expect((await send(a.auth, '13700000004')).json().error.details).toMatchObject({
      window: 'day',
      limit: 1,
    });
  });
});

describe('list import and export', () => {
  const importCsv = (auth: Auth, url: string, csv: string) =>
    app.inject({ method: 'POST', url, headers: { ...auth, 'content-type': 'text/csv' }, payload: csv });

  it('refuses a CSV with bad lines, naming each line, and imports nothing', async () => {
    const a = await sendingTenant(ctx, t.db, 'import-bad');
    const res = await importCsv(
      a.auth,
      '/v1/compliance/blacklist/import',
      'phone,reason\n13800000001\nabc\n13800000002,spam\n',
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'protection.import_invalid',
      details: { invalid: 2, lines: [{ line: 3 }, { line: 4 }] },
    });
    const list = await app.inject({ method: 'GET', url: '/v1/compliance/blacklist', headers: a.auth });
    expect(list.json().data).toEqual([]);
  });

  it('imports numbers normalised to E.164, exports them, and keeps each tenant’s own', async () => {
    const a = await sendingTenant(ctx, t.db, 'import-good');
    const b = await sendingTenant(ctx, t.db, 'import-other');
    const csv = '13800000011,complaint,投诉\n+86 138 0000 0012\n008613800000011\n';
    const res = await importCsv(a.auth, '/v1/compliance/blacklist/import', csv);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ imported: 2, already_listed: 0, duplicates: 1 });
    const again = await importCsv(a.auth, '/v1/compliance/blacklist/import', csv);
    expect(again.json()).toMatchObject({ imported: 0, already_listed: 2 });

    // Export is an owner's or admin's act, not an API key's.
    const keyExport = await app.inject({
      method: 'GET',
      url: '/v1/compliance/blacklist/export',
      headers: a.auth,
    });
    expect(keyExport.statusCode).toBe(403);
    const owner = await newMember(t.db, a.tenantId, 'owner@import-good.cn', 'owner');
    const { browser } = await loginAs(app, owner.email, owner.password);
    const exported = await app.inject({
      method: 'GET',
      url: '/v1/compliance/blacklist/export',
      headers: withSession(browser!),
    });
    expect(exported.headers['content-type']).toMatch(/text\/csv/);
    const lines = exported.body.trim().split('\r\n');
    expect(lines[0]).toBe('phone,reason,note,source,created_at');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual([
      '+8613800000011,complaint,投诉',
      '+8613800000012,other,',
    ]);
    expect((await batch(a.auth, ['13800000012'])).json().results[0].error.code).toBe(
      'compliance.blacklisted',
    );
    const bList = await app.inject({ method: 'GET', url: '/v1/compliance/blacklist', headers: b.auth });
    expect(bList.json().data).toEqual([]);
    const removed = await app.inject({
      method: 'DELETE',
      url: '/v1/compliance/blacklist?phone=13800000012',
      headers: a.auth,
    });
    expect(removed.statusCode).toBe(204);
    expect((await batch(a.auth, ['13800000012'])).json().accepted).toBe(1);
    const audited = await t.db.pool.query<{ action: string }>(
      "select action from audit_log where tenant_id = $1 and action like 'compliance.%' order by id",
      [a.tenantId],
    );
    expect(audited.rows.map((r) => r.action)).toEqual([
      'compliance.tenant_blacklist_imported',
      'compliance.tenant_blacklist_imported',
      'compliance.tenant_blacklist_removed',
    ]);
    const missing = await app.inject({
      method: 'DELETE',
      url: '/v1/compliance/blacklist?phone=13800000012',
      headers: a.auth,
    });
    expect(missing.json().error.code).toBe('protection.not_found');
  });
});
