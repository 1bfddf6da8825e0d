import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { createDb } from '../../db/pool.ts';
import { reviewDueFor } from '../compliance/settings/settings.models.ts';
import { readComplianceSettings } from '../compliance/settings/settings.sql.ts';
import { createApprovedTemplate } from '../compliance/templates/templates.usecases.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let tenantA: Awaited<ReturnType<typeof newTenant>>;
let tenantB: Awaited<ReturnType<typeof newTenant>>;

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db));
  tenantA = await newTenant(ctx, 'A');
  tenantB = await newTenant(ctx, 'B');
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const send = (body: unknown, headers: Record<string, string> = tenantA.auth) =>
  app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: { ...headers, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });

async function count() {
  return Number((await t.db.pool.query('select count(*) from messages')).rows[0].count);
}

describe('POST /v1/messages', () => {
  it('accepts a verification code and returns id, parts and status', async () => {
    const res = await send({
      to: '13800138000',
      content: '【鸿雁】您的验证码是 123456，5分钟内有效',
      type: 'verification',
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({
      to: '+8613800138000',
      status: 'queued',
      parts: 1,
      encoding: 'ucs2',
      type: 'verification',
    });
    const got = await app.inject({ method: 'GET', url: `/v1/messages/${body.id}`, headers: tenantA.auth });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({
      id: body.id,
      status: 'queued',
      content: '【鸿雁】您的验证码是 123456，5分钟内有效',
    });
    expect(got.json().events.map((e: { status: string }) => e.status)).toEqual(['accepted', 'queued']);
  });

  it("shows the code a message ended with on its timeline's final state", async () => {
    const { id } = (await send({ to: '13800138000', content: 'will fail' })).json();
    // What a receipt of UNDELIV (err 034) leaves on the row (receipts.sql.ts).
    await t.db.pool.query(`update messages set status = 'sending', sending_at = now() where id = $1`, [id]);
    await t.db.pool.query(
      `update messages set status = 'sent', sent_at = now(), carrier_message_id = 'c-1' where id = $1`,
      [id],
    );
    await t.db.pool.query(
      `update messages set status = 'undelivered', done_at = now(), error_code = 'carrier.UNDELIV.034',
         error_detail = 'stat UNDELIV err 034' where id = $1`,
      [id],
    );
    const got = (
      await app.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: tenantA.auth })
    ).json();
    expect(got.events.map((e: { status: string; code?: string }) => [e.status, e.code])).toEqual([
      ['accepted', undefined],
      ['queued', undefined],
      ['sending', undefined],
      ['sent', undefined],
      ['undelivered', 'carrier.UNDELIV.034'],
    ]);
    expect(got.events.at(-1).detail).toBe('stat UNDELIV err 034');
  });

  it('counts parts with the signature and rejects content over the part limit', async () => {
    const long = await send({ to: '+8613800138000', content: `【鸿雁】${'字'.repeat(67)}` });
    expect(long.json()).toMatchObject({ parts: 2 });
    const before = await count();
    const tooLong = await send({ to: '+8613800138000', content: '字'.repeat(67 * 10 + 1) });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error.code).toBe('messages.content_too_long');
    const tooManyParts = await send({ to: '+8613800138000', content: 'a'.repeat(153 * 10 + 1) });
    expect(tooManyParts.statusCode).toBe(400);
    expect(tooManyParts.json().error.code).toBe('messages.content_too_long');
    expect(await count()).toBe(before);
  });

  it('rejects bad input with stable codes and writes nothing', async () => {
    const before = await count();
    const cases: [unknown, string, number][] = [
      [{ to: 'abc', content: 'hi' }, 'messages.invalid_recipient', 400],
      [{ to: '+8613800138000', content: '   ' }, 'messages.content_empty', 400],
      [{ to: '+8613800138000', content: 'hi', extra: 1 }, 'request.invalid', 400],
      [{ to: '+8613800138000' }, 'request.invalid', 400],
      [{ to: '+8613800138000', content: 'hi', type: 'spam' }, 'request.invalid', 400],
      [{ to: '+8613800138000', content: 'hi', send_at: 'tomorrow' }, 'messages.invalid_send_at', 400],
    ];
    for (const [body, code, status] of cases) {
      const res = await send(body);
      expect({ status: res.statusCode, code: res.json().error.code }).toEqual({ status, code });
    }
    const malformed = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...tenantA.auth, 'content-type': 'application/json' },
      payload: '{"to": "+86138',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('request.malformed_json');
    const big = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...tenantA.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ to: '+8613800138000', content: 'x'.repeat(70_000) }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('request.too_large');
    const text = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...tenantA.auth, 'content-type': 'text/plain' },
      payload: 'hi',
    });
    expect(text.statusCode).toBe(415);
    expect(await count()).toBe(before);
  });

  it('requires a valid key, and a tenant never sees another tenant’s messages', async () => {
    expect((await send({ to: '+8613800138000', content: 'hi' }, {})).json().error.code).toBe(
      'auth.unauthenticated',
    );
    expect(
      (
        await send(
          { to: '+8613800138000', content: 'hi' },
          { authorization: 'Bearer hy_0000000000000000_xxx' },
        )
      ).statusCode,
    ).toBe(401);
    const mine = (await send({ to: '+8613800138000', content: 'mine' })).json();
    const other = await app.inject({ method: 'GET', url: `/v1/messages/${mine.id}`, headers: tenantB.auth });
    expect(other.statusCode).toBe(404);
    expect(other.json().error.code).toBe('messages.not_found');
    const cancel = await app.inject({
      method: 'POST',
      url: `/v1/messages/${mine.id}/cancel`,
      headers: tenantB.auth,
    });
    expect(cancel.statusCode).toBe(404);
    const list = await app.inject({ method: 'GET', url: '/v1/messages?limit=500', headers: tenantB.auth });
    expect(list.json().data.every((m: { id: string }) => m.id !== mine.id)).toBe(true);
  });

  it('replays the same Idempotency-Key and body, and refuses it with another body', async () => {
    const headers = { ...tenantA.auth, 'idempotency-key': 'order-42' };
    const before = await count();
    const [first, second] = await Promise.all([
      send({ to: '+8613800138001', content: 'once' }, headers),
      send({ to: '+8613800138001', content: 'once' }, headers),
    ]);
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(second.json().id).toBe(first.json().id);
    expect(await count()).toBe(before + 1);
    const conflict = await send({ to: '+8613800138001', content: 'twice' }, headers);
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe('idempotency.conflict');
    // Keys are per tenant.
    const b = await send(
      { to: '+8613800138001', content: 'twice' },
      { ...tenantB.auth, 'idempotency-key': 'order-42' },
    );
    expect(b.statusCode).toBe(202);
  });

  it('holds a scheduled message and cancels it until it starts', async () => {
    const sendAt = new Date(Date.now() + 3600_000).toISOString();
    const res = await send({ to: '+8613800138000', content: 'later', send_at: sendAt });
    expect(res.json()).toMatchObject({ status: 'held', send_at: sendAt });
    const id = res.json().id;
    const canceled = await app.inject({
      method: 'POST',
      url: `/v1/messages/${id}/cancel`,
      headers: tenantA.auth,
    });
    expect(canceled.json()).toMatchObject({ status: 'canceled' });
    const now = (await send({ to: '+8613800138000', content: 'now' })).json();
    const refused = await app.inject({
      method: 'POST',
      url: `/v1/messages/${now.id}/cancel`,
      headers: tenantA.auth,
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('messages.not_cancelable');
  });
});

describe('POST /v1/batches', () => {
  it('renders variables, rejects bad recipients one by one, and counts by state', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: tenantA.auth,
      payload: {
        content: '【鸿雁】{name}，您的订单{order}已发货',
        type: 'notification',
        recipients: [
          { to: '13800138000', vars: { name: '张三', order: 'A1' } },
          { to: 'not-a-phone', vars: { name: '李四', order: 'A2' } },
          { to: '13800138002', vars: { name: '王五' } },
          { to: '+14155552671', vars: { name: 'Ann', order: 7 } },
        ],
      },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ total: 4, accepted: 2, rejected: 2 });
    expect(
      body.results.map((r: { accepted: boolean; error?: { code: string } }) => r.accepted || r.error?.code),
    ).toEqual([true, 'messages.invalid_recipient', 'messages.missing_variable', true]);
    const msg = await app.inject({
      method: 'GET',
      url: `/v1/messages/${body.results[0].id}`,
      headers: tenantA.auth,
    });
    expect(msg.json().content).toBe('【鸿雁】张三，您的订单A1已发货');
    const batch = await app.inject({ method: 'GET', url: `/v1/batches/${body.id}`, headers: tenantA.auth });
    expect(batch.json()).toMatchObject({ accepted: 2, counts: { queued: 2 } });
    const list = await app.inject({
      method: 'GET',
      url: `/v1/messages?batch_id=${body.id}`,
      headers: tenantA.auth,
    });
    expect(list.json().data).toHaveLength(2);
  });

  it('sends to an uploaded audience file, its columns as variables over the batch-wide params', async () => {
    const boundary = 'batchfileboundary';
    const csv = ['phone,city', '13800138010,北京', '13800138011,上海', '12345,广州'].join('\r\n');
    const upload = await app.inject({
      method: 'POST',
      url: '/v1/campaigns/audience-files',
      headers: { ...tenantA.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="list.csv"\r\n\r\n${csv}\r\n--${boundary}--\r\n`,
      ),
    });
    expect(upload.statusCode, upload.body).toBe(201);
    expect(upload.json()).toMatchObject({ recipients: 2, invalid: 1 });
    const batch = (payload: Record<string, unknown>, headers = tenantA.auth) =>
      app.inject({ method: 'POST', url: '/v1/batches', headers, payload });
    const res = await batch({
      content: '{city}门店{event}',
      params: { event: '开业', city: '某地' },
      audience_file_id: upload.json().id,
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ total: 2, accepted: 2, rejected: 0 });
    const listed = await app.inject({
      method: 'GET',
      url: `/v1/messages?batch_id=${res.json().id}`,
      headers: tenantA.auth,
    });
    expect(
      listed
        .json()
        .data.map((m: { to: string; content: string }) => `${m.to} ${m.content}`)
        .sort(),
    ).toEqual(['+8613800138010 【鸿雁】北京门店开业', '+8613800138011 【鸿雁】上海门店开业']);
    // Pasted recipients take the batch-wide params too; their own values win.
    const pasted = await batch({
      content: '{city}门店{event}',
      params: { event: '开业' },
      recipients: [{ to: '13800138012', vars: { city: '深圳' } }],
    });
    expect(pasted.json()).toMatchObject({ accepted: 1 });
    // Both sources, or another tenant's file, are refused.
    const both = await batch({
      content: 'x',
      audience_file_id: upload.json().id,
      recipients: [{ to: '13800138000' }],
    });
    expect(both.json().error.code).toBe('request.invalid');
    const other = await batch({ content: 'x', audience_file_id: upload.json().id }, tenantB.auth);
    expect(other.statusCode).toBe(404);
    expect(other.json().error.code).toBe('campaigns.audience_file_not_found');
  });

  it('forecasts whether a marketing batch sent now is reviewed, and by when', async () => {
    const settings = await readComplianceSettings(t.db.pool);
    const before = reviewDueFor(settings, 'marketing', new Date());
    const forecast = await app.inject({
      method: 'GET',
      url: '/v1/batches/review-forecast',
      headers: tenantA.auth,
    });
    const after = reviewDueFor(settings, 'marketing', new Date());
    expect(forecast.statusCode, forecast.body).toBe(200);
    const body = forecast.json();
    expect(body).toMatchObject({
      review: true,
      hours: { time_zone: 'Asia/Shanghai', open: '09:00', close: '23:00', intake_until: '20:00' },
    });
    const expected = new Date(body.expected_by).getTime();
    expect(expected).toBeGreaterThanOrEqual(before.getTime());
    expect(expected).toBeLessThanOrEqual(after.getTime());
    // A tenant the operator exempted from the review: none, and no time.
    await t.db.pool.query(
      `insert into protection_settings (tenant_id, settings, updated_at) values ($1, '{"marketing_review": false}', now())`,
      [tenantB.tenantId],
    );
    const exempt = await app.inject({
      method: 'GET',
      url: '/v1/batches/review-forecast',
      headers: tenantB.auth,
    });
    expect(exempt.json()).toMatchObject({ review: false, expected_by: null });
  });

  it('refuses a batch over 10,000 recipients and writes nothing', async () => {
    const before = await count();
    const recipients = Array.from({ length: 10_001 }, () => ({ to: '13800138000' }));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: tenantA.auth,
      payload: { content: 'x', recipients },
    });
    expect(res.statusCode).toBe(400);
    expect(await count()).toBe(before);
  });

  it('accepts 10,000 recipients in one request', async () => {
    const recipients = Array.from({ length: 10_000 }, (_, i) => ({
      to: `1380000${String(i).padStart(4, '0')}`,
    }));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: tenantA.auth,
      payload: { content: 'hello, 回T退订', recipients, type: 'marketing' },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json().accepted).toBe(10_000);
  });

  it('cancels a scheduled batch', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: tenantA.auth,
      payload: {
        content: 'later',
        send_at: new Date(Date.now() + 7200_000).toISOString(),
        recipients: [{ to: '13800138000' }, { to: '13800138001' }],
      },
    });
    const id = res.json().id;
    const canceled = await app.inject({
      method: 'POST',
      url: `/v1/batches/${id}/cancel`,
      headers: tenantA.auth,
    });
    expect(canceled.statusCode).toBe(200);
    expect(canceled.json()).toMatchObject({ canceled_now: 2, counts: { canceled: 2 } });
  });
});

describe('GET /v1/messages', () => {
  it('filters by phone and paginates with a cursor', async () => {
    for (let i = 0; i < 5; i++)
      await send({ to: '+8613911112222', content: `page ${i}`, client_ref: `ref-${i}` });
    const page1 = await app.inject({
      method: 'GET',
      url: '/v1/messages?phone=13911112222&limit=3',
      headers: tenantA.auth,
    });
    expect(page1.json().data).toHaveLength(3);
    const page2 = await app.inject({
      method: 'GET',
      url: `/v1/messages?phone=13911112222&limit=3&cursor=${page1.json().next_cursor}`,
      headers: tenantA.auth,
    });
    expect(page2.json().data).toHaveLength(2);
    expect(page2.json().next_cursor).toBeNull();
    const byRef = await app.inject({
      method: 'GET',
      url: '/v1/messages?client_ref=ref-3',
      headers: tenantA.auth,
    });
    expect(byRef.json().data.map((m: { content: string }) => m.content)).toEqual(['【鸿雁】page 3']); // the default signature
    const template = await createApprovedTemplate({
      db: t.db.pool,
      tenantId: tenantA.tenantId,
      input: {
        name: 'Shipped',
        type: 'notification',
        content: '您的订单{order}已发货',
        variables: [{ name: 'order', kind: 'number' }],
      },
    });
    const templated = (
      await send({ to: '+8613911112222', template_id: template.id, params: { order: '917' } })
    ).json();
    const byTemplate = await app.inject({
      method: 'GET',
      url: `/v1/messages?template_id=${template.id}`,
      headers: tenantA.auth,
    });
    expect(byTemplate.json().data.map((m: { id: string }) => m.id)).toEqual([templated.id]);
    const otherTenant = await app.inject({
      method: 'GET',
      url: `/v1/messages?template_id=${template.id}`,
      headers: tenantB.auth,
    });
    expect(otherTenant.json().data).toEqual([]);
    const bad = await app.inject({ method: 'GET', url: '/v1/messages?cursor=zzz', headers: tenantA.auth });
    expect(bad.json().error.code).toBe('messages.invalid_cursor');
  });
});

describe('GET /v1/replies', () => {
  it('lists only the tenant’s own replies', async () => {
    await t.db.pool.query(
      `insert into inbound_messages (tenant_id, sender, destination, content) values ($1, '+8613800138000', '1069001001', 'TD'),
         ($2, '+8613900139000', '1069001002', '退订')`,
      [tenantA.tenantId, tenantB.tenantId],
    );
    const a = await app.inject({ method: 'GET', url: '/v1/replies', headers: tenantA.auth });
    expect(a.json().data.map((r: { content: string }) => r.content)).toEqual(['TD']);
    const b = await app.inject({ method: 'GET', url: '/v1/replies', headers: tenantB.auth });
    expect(b.json().data.map((r: { from: string }) => r.from)).toEqual(['+8613900139000']);
    expect((await app.inject({ method: 'GET', url: '/v1/replies' })).statusCode).toBe(401);
  });
});

describe('service endpoints', () => {
  it('serves health, readiness and the OpenAPI document', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready' });
    const doc = (await app.inject('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/messages', '/v1/batches', '/v1/messages/{id}']),
    );
    expect((await app.inject('/docs/')).statusCode).toBe(200);
    expect((await app.inject('/nope')).json().error.code).toBe('request.not_found');
  });

  it('answers 503 with Retry-After when the database is down, and accepts nothing', async () => {
    const dead = createDb({ connectionString: 'postgres://postgres@127.0.0.1:1/none', max: 2 });
    const { app: deadApp } = await buildTestApp(dead);
    // The key check itself needs the database, so it is the first thing to fail.
    const res = await deadApp.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...tenantA.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ to: '+8613800138000', content: 'hi' }),
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json().error.code).toBe('service.unavailable');
    expect((await deadApp.inject('/readyz')).statusCode).toBe(503);
    await deadApp.close();
    await dead.close();
  });
});
