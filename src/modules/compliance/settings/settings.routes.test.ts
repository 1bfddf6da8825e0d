// Compliance settings through the HTTP API: the operator reads and changes them (audited), a
// tenant's signature application obeys the name length, and the review queues (signatures,
// templates, marketing batches) answer each item's age, due time in working hours and overdue
// flag under the hours, holidays and targets set. A fake clock moves between working days.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { fakeClock, loginAs, newStaff, withSession } from '../../accounts/accounts.testkit.ts';
import { operatorAdmin, sendingTenant } from '../protection/protection.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
// Friday 2026-03-06 19:00 in Beijing.
const clock = fakeClock('2026-03-06T11:00:00Z');
const setTime = (iso: string) => clock.advance(new Date(iso).getTime() - clock.now().getTime());
/** A Beijing wall-clock time as an ISO instant. */
const bj = (local: string) => new Date(`${local}+08:00`).toISOString();

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

type Auth = Record<string, string>;
const call = (method: 'GET' | 'POST' | 'PATCH', url: string, auth: Auth, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: payload === undefined ? auth : { ...auth, 'content-type': 'application/json' },
    ...(payload === undefined ? {} : { payload: payload as never }),
  });
const settings = '/v1/operator/compliance/settings';

describe('compliance settings', () => {
  it('are read and changed by the operator, audited, and refused when they cannot work', async () => {
    const admin = await operatorAdmin(app, t.db);
    const read = await call('GET', settings, admin);
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toMatchObject({
      signature_name: { min: 2, max: 12 },
      review: {
        time_zone: 'Asia/Shanghai',
        holidays: [],
        signature: { days: [1, 2, 3, 4, 5], open: '09:00', close: '20:00', target_minutes: 120 },
        marketing: { open: '09:00', close: '23:00', intake_until: '20:00', target_minutes: 30 },
      },
    });

    const changed = await call('PATCH', settings, admin, { signature_name: { max: 8 } });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json().signature_name).toEqual({ min: 2, max: 8 });
    expect((await call('GET', settings, admin)).json().review.signature.target_minutes).toBe(120);
    const audit = await t.db.pool.query<{ actor: string; before: unknown; after: unknown }>(
      `select actor, before, after from audit_log where action = 'compliance.settings_changed' order by id`,
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({
      actor: expect.stringMatching(/^staff:/),
      before: { signature_name: { min: 2, max: 12 } },
      after: { signature_name: { min: 2, max: 8 } },
    });

    for (const [body, code] of [
      [{ signature_name: { min: 9 } }, 'compliance.invalid_settings'],
      [{ review: { time_zone: 'Mars/Olympus' } }, 'compliance.invalid_settings'],
      [{ review: { holidays: ['2026-02-30'] } }, 'compliance.invalid_settings'],
      [{ review: { signature: { open: '21:00' } } }, 'compliance.invalid_settings'],
      [{ review: { signature: { open: '25:00' } } }, 'request.invalid'],
    ] as const) {
      const res = await call('PATCH', settings, admin, body);
      expect({ body, status: res.statusCode, code: res.json().error?.code }).toEqual({
        body,
        status: 400,
        code,
      });
    }
    expect((await call('GET', settings, admin)).json().signature_name).toEqual({ min: 2, max: 8 });

    // Support staff read them but may not change them; a tenant's key reaches neither.
    const support = await newStaff(t.db, 'support-settings', 'support');
    const supportSession = withSession((await loginAs(app, support.username, support.password)).browser!);
    expect((await call('GET', settings, supportSession)).statusCode).toBe(200);
    expect((await call('PATCH', settings, supportSession, { signature_name: { max: 10 } })).statusCode).toBe(
      403,
    );
    const tenant = await sendingTenant(ctx, t.db, 'settings-tenant');
    expect((await call('GET', settings, tenant.auth)).statusCode).toBe(403);
  });

  it("hold a tenant's signature application to the name length the operator set", async () => {
    const admin = await operatorAdmin(app, t.db);
    await call('PATCH', settings, admin, { signature_name: { min: 3, max: 8 } });
    const tenant = await sendingTenant(ctx, t.db, 'length-tenant');
    const apply = (name: string) => call('POST', '/v1/signatures', tenant.auth, { name, source: 'company' });

    const long = await apply('一二三四五六七八九');
    expect(long.statusCode).toBe(400);
    expect(long.json().error).toMatchObject({
      code: 'signatures.name_length',
      details: { min: 3, max: 8, length: 9 },
    });
    expect((await apply('雁书')).json().error).toMatchObject({
      code: 'signatures.name_length',
      details: { min: 3, length: 2 },
    });
    expect((await apply('一二三四五六七八')).statusCode).toBe(201);
    // A rejected one edited to a name too long is refused the same way.
    const rejected = await apply('三个字');
    await call('POST', `/v1/operator/signatures/${rejected.json().id}/reject`, admin, { reason: 'proof' });
    const edited = await call('PATCH', `/v1/signatures/${rejected.json().id}`, tenant.auth, {
      name: '一二三四五六七八九十',
    });
    expect(edited.json().error.code).toBe('signatures.name_length');

    // Back to the clouds' 2–12: the 9-character name is accepted.
    await call('PATCH', settings, admin, { signature_name: { min: 2, max: 12 } });
    expect((await apply('一二三四五六七八九')).statusCode).toBe(201);
  });

  it('give each queued item its due time in working hours, skipping weekends and holidays', async () => {
    setTime(bj('2026-03-06T19:00')); // Friday 19:00
    const admin = await operatorAdmin(app, t.db);
    const tenant = await sendingTenant(ctx, t.db, 'hours-tenant');
    const sig = await call('POST', '/v1/signatures', tenant.auth, { name: '周五签名', source: 'company' });
    expect(sig.statusCode, sig.body).toBe(201);
    // One working hour on Friday, the second on Monday from 9:00.
    expect(sig.json().decision_expected_by).toBe(bj('2026-03-09T10:00'));
    const tpl = await call('POST', '/v1/templates', tenant.auth, {
      name: 'weekend',
      type: 'notification',
      content: '您的订单{order}已发货',
    });
    expect(tpl.statusCode, tpl.body).toBe(201);
    expect(tpl.json().decision_expected_by).toBe(bj('2026-03-09T10:00'));

    // Monday is made a holiday, and templates get a 4-hour target: the answers follow at once.
    const changed = await call('PATCH', settings, admin, {
      review: { holidays: ['2026-03-09'], template: { target_minutes: 240 } },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect((await call('GET', `/v1/signatures/${sig.json().id}`, tenant.auth)).json()).toMatchObject({
      decision_expected_by: bj('2026-03-10T10:00'),
    });

    setTime(bj('2026-03-10T09:30')); // Tuesday 9:30: 60 + 30 working minutes
    const reviewer = await operatorAdmin(app, t.db);
    const sigQueue = (await call('GET', '/v1/operator/signatures', reviewer)).json().data;
    expect(sigQueue.find((i: { id: string }) => i.id === sig.json().id)).toMatchObject({
      age_minutes: 4 * 24 * 60 - 9 * 60 - 30,
      review_minutes: 90,
      target_review_minutes: 120,
      due_at: bj('2026-03-10T10:00'),
      decision_expected_by: bj('2026-03-10T10:00'),
      overdue: false,
    });
    const tplQueue = (await call('GET', '/v1/operator/templates', reviewer)).json().data;
    expect(tplQueue.find((i: { id: string }) => i.id === tpl.json().id)).toMatchObject({
      review_minutes: 90,
      target_review_minutes: 240,
      due_at: bj('2026-03-10T12:00'),
      overdue: false,
    });

    setTime(bj('2026-03-10T10:01'));
    const later = await operatorAdmin(app, t.db);
    const overdue = (await call('GET', '/v1/operator/signatures', later)).json().data;
    expect(overdue.find((i: { id: string }) => i.id === sig.json().id)).toMatchObject({
      review_minutes: 121,
      overdue: true,
    });
  });

  it('decide within a day what arrives on a weekend (节假日1天内), and work a weekend made a working day', async () => {
    setTime(bj('2026-03-14T10:00')); // Saturday 10:00
    const admin = await operatorAdmin(app, t.db);
    const tenant = await sendingTenant(ctx, t.db, 'weekend-tenant');
    const apply = async (name: string) => {
      const res = await call('POST', '/v1/signatures', tenant.auth, { name, source: 'company' });
      expect(res.statusCode, res.body).toBe(201);
      return res.json().decision_expected_by as string;
    };
    expect(await apply('周六签名')).toBe(bj('2026-03-15T10:00'));

    // Saturday 2026-03-21 is made a working day (调休); the next Saturday applies the weekend rule.
    const moved = await call('PATCH', settings, admin, {
      review: { workdays: ['2026-03-21'], signature: { holiday_target_minutes: 720 } },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json().review).toMatchObject({
      workdays: ['2026-03-21'],
      signature: { holiday_target_minutes: 720 },
      template: { holiday_target_minutes: 1440 },
    });
    setTime(bj('2026-03-21T10:00'));
    expect(await apply('调休签名')).toBe(bj('2026-03-21T12:00'));
    setTime(bj('2026-03-28T10:00'));
    expect(await apply('下周六签名')).toBe(bj('2026-03-28T22:00'));

    // Null turns the weekend rule off: a Sunday application waits for Monday. (A new session: the
    // clock moved past the first one's life.)
    setTime(bj('2026-03-29T10:00'));
    const later = await operatorAdmin(app, t.db);
    const off = await call('PATCH', settings, later, {
      review: { signature: { holiday_target_minutes: null } },
    });
    expect(off.statusCode, off.body).toBe(200);
    expect(await apply('周日签名')).toBe(bj('2026-03-30T11:00'));

    for (const body of [
      { review: { workdays: ['2026-03-21'], holidays: ['2026-03-21'] } },
      { review: { workdays: ['2026-02-30'] } },
    ]) {
      const res = await call('PATCH', settings, later, body);
      expect({ status: res.statusCode, code: res.json().error?.code }).toEqual({
        status: 400,
        code: 'compliance.invalid_settings',
      });
    }
    const zero = await call('PATCH', settings, admin, {
      review: { signature: { holiday_target_minutes: 0 } },
    });
    expect(zero.json().error?.code).toBe('request.invalid');
  });

  it('tell the tenant when a marketing batch will be reviewed, and the queue when it is due', async () => {
    setTime(bj('2026-03-11T20:30')); // Wednesday 20:30: after the marketing desk's intake
    const admin = await operatorAdmin(app, t.db);
    await call('PATCH', settings, admin, { review: { marketing: { target_minutes: 60 } } });
    const tenant = await sendingTenant(ctx, t.db, 'marketing-tenant');
    const res = await call('POST', '/v1/batches', tenant.auth, {
      content: '【鸿雁】春季上新，全场满减，回T退订',
      type: 'marketing',
      recipients: [{ to: '13900000001' }],
    });
    expect(res.statusCode, res.body).toBe(202);
    // From 9:00 the next day, plus the 60-minute target.
    expect(res.json().review).toMatchObject({ status: 'pending', expected_by: bj('2026-03-12T10:00') });

    setTime(bj('2026-03-12T10:30'));
    const reviewer = await operatorAdmin(app, t.db);
    const queue = (await call('GET', '/v1/operator/marketing-reviews', reviewer)).json().data;
    expect(queue.find((i: { batch_id: string }) => i.batch_id === String(res.json().id))).toMatchObject({
      expected_by: bj('2026-03-12T10:00'),
      age_minutes: 14 * 60,
      review_minutes: 90,
      target_review_minutes: 60,
      due_at: bj('2026-03-12T10:00'),
      overdue: true,
    });
  });
});
