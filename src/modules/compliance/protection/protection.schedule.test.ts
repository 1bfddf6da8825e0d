// Time rules through the routes: marketing batches wait for the operator's second review (and the
// API says when to expect it), marketing waits for the recipient's daytime, and a scheduled send's
// time changes only while it is at least an hour away. A fake clock moves between the cases.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { fakeClock } from '../../accounts/accounts.testkit.ts';
import { operatorAdmin, sendingTenant } from './protection.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
const clock = fakeClock('2026-03-02T04:00:00Z');
const setTime = (iso: string) => clock.advance(new Date(iso).getTime() - clock.now().getTime());

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

type Auth = Record<string, string>;
const json = (auth: Auth) => ({ ...auth, 'content-type': 'application/json' });
const call = (method: 'GET' | 'POST' | 'PATCH', url: string, auth: Auth, payload?: unknown) =>
  app.inject({ method, url, headers: payload === undefined ? auth : json(auth), payload: payload as never });
const marketing = '【鸿雁】春季上新，全场满减，回T退订';
const statuses = async (batchId: string) =>
  (
    await t.db.pool.query<{
      status: string;
      send_at: Date | null;
      error_code: string | null;
      error_detail: string | null;
    }>('select status, send_at, error_code, error_detail from messages where batch_id = $1 order by id', [
      batchId,
    ])
  ).rows;

describe('marketing review (seed 002)', () => {
  it('holds a marketing batch for review, says when to expect it, and approval releases it', async () => {
    setTime('2026-03-02T02:00:00Z'); // 10:00 in Beijing
    const a = await sendingTenant(ctx, t.db, 'review-approve');
    const operator = await operatorAdmin(app, t.db);
    const res = await call('POST', '/v1/batches', a.auth, {
      content: marketing,
      type: 'marketing',
      recipients: [{ to: '13900000001' }, { to: '13900000002' }],
    });
    expect(res.statusCode, res.body).toBe(202);
    const body = res.json();
    expect(body.results.map((r: { status: string }) => r.status)).toEqual(['held', 'held']);
    expect(body.review).toMatchObject({ status: 'pending', expected_by: '2026-03-02T02:30:00.000Z' });
    // Notification batches are not reviewed.
    const plain = await call('POST', '/v1/batches', a.auth, {
      content: marketing,
      recipients: [{ to: '13900000003' }],
    });
    expect(plain.json()).toMatchObject({ review: null, results: [{ status: 'queued' }] });

    const queue = await call('GET', '/v1/operator/marketing-reviews', operator);
    expect(queue.json().data).toMatchObject([{ batch_id: body.id, tenant_id: a.tenantId, total: 2 }]);
    const view = await call('GET', `/v1/batches/${body.id}`, a.auth);
    expect(view.json()).toMatchObject({ review: { status: 'pending' }, counts: { held: 2 } });

    clock.advance(10 * 60_000);
    const approved = await call('POST', `/v1/operator/marketing-reviews/${body.id}/approve`, operator);
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'approved', queued: 2, held: 0 });
    expect((await statuses(body.id)).map((m) => m.status)).toEqual(['queued', 'queued']);
    expect((await call('GET', `/v1/batches/${body.id}`, a.auth)).json().review).toMatchObject({
      status: 'approved',
      decided_at: '2026-03-02T02:10:00.000Z',
    });
    const again = await call('POST', `/v1/operator/marketing-reviews/${body.id}/approve`, operator);
    expect(again.json().error.code).toBe('protection.review_decided');
  });

  it('after 20:00 expects the review from 9:00 the next day; rejection cancels with the reason', async () => {
    setTime('2026-03-02T12:30:00Z'); // 20:30 in Beijing
    const a = await sendingTenant(ctx, t.db, 'review-reject');
    const operator = await operatorAdmin(app, t.db);
    const res = await call('POST', '/v1/batches', a.auth, {
      content: marketing,
      type: 'marketing',
      recipients: [{ to: '13900000011' }, { to: '13900000012' }],
    });
    expect(res.json().review.expected_by).toBe('2026-03-03T01:30:00.000Z'); // 9:30 the next morning
    const rejected = await call('POST', `/v1/operator/marketing-reviews/${res.json().id}/reject`, operator, {
      reason: '内容涉及金融推广',
    });
    expect(rejected.json()).toMatchObject({ status: 'rejected', canceled: 2 });
    expect(await statuses(res.json().id)).toMatchObject([
      {
        status: 'canceled',
        error_code: 'compliance.marketing_review_rejected',
        error_detail: '内容涉及金融推广',
      },
      { status: 'canceled', error_code: 'compliance.marketing_review_rejected' },
    ]);
  });

  it('a scheduled marketing batch approved early waits for its own time', async () => {
    setTime('2026-03-02T03:00:00Z'); // 11:00 in Beijing
    const a = await sendingTenant(ctx, t.db, 'review-scheduled');
    const operator = await operatorAdmin(app, t.db);
    const res = await call('POST', '/v1/batches', a.auth, {
      content: marketing,
      type: 'marketing',
      send_at: '2026-03-02T06:00:00Z',
      recipients: [{ to: '13900000021' }],
    });
    await call('POST', `/v1/operator/marketing-reviews/${res.json().id}/approve`, operator);
    expect(await statuses(res.json().id)).toMatchObject([
      { status: 'held', send_at: new Date('2026-03-02T06:00:00Z') },
    ]);
  });
});

describe('quiet hours', () => {
  it('holds marketing sent at night until 08:00 local, or refuses it for a tenant that chose so', async () => {
    setTime('2026-03-02T15:00:00Z'); // 23:00 in Beijing
    const a = await sendingTenant(ctx, t.db, 'quiet');
    const operator = await operatorAdmin(app, t.db);
    const held = await call('POST', '/v1/messages', a.auth, {
      to: '13900000031',
      content: marketing,
      type: 'marketing',
    });
    expect(held.statusCode, held.body).toBe(202);
    expect(held.json().status).toBe('held');
    const view = await call('GET', `/v1/messages/${held.json().id}`, a.auth);
    expect(view.json().send_at).toBe('2026-03-03T00:00:00.000Z'); // 08:00 in Beijing
    // Notifications are not marketing: they go now.
    const note = await call('POST', '/v1/messages', a.auth, {
      to: '13900000032',
      content: '【鸿雁】您的快递已到',
    });
    expect(note.json().status).toBe('queued');

    const set = await call('PATCH', `/v1/operator/tenants/${a.tenantId}/protection`, operator, {
      quiet_hours: { action: 'reject' },
    });
    expect(set.statusCode, set.body).toBe(200);
    const refused = await call('POST', '/v1/messages', a.auth, {
      to: '13900000033',
      content: marketing,
      type: 'marketing',
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error).toMatchObject({
      code: 'compliance.quiet_hours',
      details: { opens_at: '2026-03-03T00:00:00.000Z' },
    });
  });
});

describe('quiet hours of a batch', () => {
  it('holds each recipient until its own country’s window opens, and sends those in daytime now', async () => {
    setTime('2026-03-02T15:00:00Z'); // 23:00 in Beijing, 10:00 in New York, 07:00 in Los Angeles
    const a = await sendingTenant(ctx, t.db, 'quiet-batch');
    const operator = await operatorAdmin(app, t.db);
    const set = await call('PATCH', `/v1/operator/tenants/${a.tenantId}/protection`, operator, {
      marketing_review: false,
    });
    expect(set.statusCode, set.body).toBe(200);
    const numbers = [
      '13900000041',
      '+12127364000',
      '+447400123456',
      '+819012345678',
      '13900000042',
      '+14155552671',
    ];
    const res = await call('POST', '/v1/batches', a.auth, {
      content: marketing,
      type: 'marketing',
      recipients: numbers.map((to) => ({ to })),
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().accepted).toBe(6);
    const rows = await statuses(res.json().id);
    expect(rows.map((r) => [r.status, r.send_at?.toISOString() ?? null])).toEqual([
      ['held', '2026-03-03T00:00:00.000Z'], // 08:00 in Beijing
      ['held', '2026-03-02T16:00:00.000Z'], // 08:00 in Los Angeles, the last of the US zones
      ['queued', null], // 15:00 in London
      ['held', '2026-03-02T23:00:00.000Z'], // 08:00 in Tokyo
      ['held', '2026-03-03T00:00:00.000Z'],
      ['held', '2026-03-02T16:00:00.000Z'],
    ]);
  });
});

describe('changing a scheduled send’s time', () => {
  it('moves a message or a batch while it is at least an hour away, and refuses after', async () => {
    setTime('2026-03-04T02:00:00Z');
    const a = await sendingTenant(ctx, t.db, 'reschedule');
    const msg = await call('POST', '/v1/messages', a.auth, {
      to: '13900000041',
      content: '【鸿雁】会议提醒',
      send_at: '2026-03-04T05:00:00Z',
    });
    const moved = await call('PATCH', `/v1/messages/${msg.json().id}`, a.auth, {
      send_at: '2026-03-04T07:00:00Z',
    });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json().send_at).toBe('2026-03-04T07:00:00.000Z');

    const b = await call('POST', '/v1/batches', a.auth, {
      content: '【鸿雁】会议提醒',
      send_at: '2026-03-04T04:00:00Z',
      recipients: [{ to: '13900000042' }, { to: '13900000043' }],
    });
    const movedBatch = await call('PATCH', `/v1/batches/${b.json().id}`, a.auth, {
      send_at: '2026-03-04T08:00:00Z',
    });
    expect(movedBatch.statusCode, movedBatch.body).toBe(200);
    expect(movedBatch.json().send_at).toBe('2026-03-04T08:00:00.000Z');
    expect((await statuses(b.json().id)).map((m) => m.send_at)).toEqual([
      new Date('2026-03-04T08:00:00Z'),
      new Date('2026-03-04T08:00:00Z'),
    ]);

    setTime('2026-03-04T06:15:00Z'); // the message is 45 minutes away
    const late = await call('PATCH', `/v1/messages/${msg.json().id}`, a.auth, {
      send_at: '2026-03-05T07:00:00Z',
    });
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('schedule.too_late');
    // The batch is still 1 h 45 min away.
    expect(
      (await call('PATCH', `/v1/batches/${b.json().id}`, a.auth, { send_at: '2026-03-05T08:00:00Z' }))
        .statusCode,
    ).toBe(200);

    const now = await call('POST', '/v1/messages', a.auth, {
      to: '13900000044',
      content: '【鸿雁】会议提醒',
    });
    const notScheduled = await call('PATCH', `/v1/messages/${now.json().id}`, a.auth, {
      send_at: '2026-03-05T07:00:00Z',
    });
    expect(notScheduled.json().error.code).toBe('schedule.not_scheduled');
  });
});
