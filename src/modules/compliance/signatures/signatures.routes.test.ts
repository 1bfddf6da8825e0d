// Signatures and templates through the HTTP API: the tenant applies, the operator reviews, and
// sends use only what was approved (issue 8).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { fakeClock, loginAs, newStaff, withSession } from '../../accounts/accounts.testkit.ts';
import { createTenant } from '../../accounts/accounts.usecases.ts';
import { creditForTests } from '../../billing/billing.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let reviewer: Record<string, string>;
// Monday 2026-03-02 10:00 in Beijing.
const clock = fakeClock('2026-03-02T02:00:00Z');

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
  await newStaff(t.db, 'reviewer', 'reviewer');
});
// A fresh session for each test: the fake clock moves past a session's idle limit.
const reviewerLogin = async () => withSession((await loginAs(app, 'reviewer', 'staff password 1')).browser!);
beforeEach(async () => {
  reviewer = await reviewerLogin();
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

/** A tenant as an operator creates it: no signature, no free text yet. */
async function bareTenant(name: string) {
  const { tenant, apiKey } = await createTenant({ name, repository: ctx.accounts });
  await creditForTests(t.db.pool, tenant.id);
  return { id: tenant.id, auth: { authorization: `Bearer ${apiKey.key}` } };
}

const call = (
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  url: string,
  headers: object,
  payload?: object,
) =>
  app.inject({
    method,
    url,
    headers: headers as Record<string, string>,
    ...(payload === undefined ? {} : { payload }),
  });

describe('signatures', () => {
  it('go pending → rejected with a reason → edited → approved, and only then sign messages', async () => {
    const tenant = await bareTenant('Sig Co');
    await call('PUT', `/v1/operator/tenants/${tenant.id}/free-text`, reviewer, { allowed: true });
    const admin = await newStaff(t.db, 'admin1', 'admin');
    const adminSession = withSession((await loginAs(app, admin.username, admin.password)).browser!);
    expect(
      (
        await call('PUT', `/v1/operator/tenants/${tenant.id}/free-text`, adminSession, { allowed: true })
      ).json(),
    ).toEqual({ tenant_id: String(tenant.id), free_text: true });

    const applied = await call('POST', '/v1/signatures', tenant.auth, { name: '雁书', source: 'trademark' });
    expect(applied.statusCode, applied.body).toBe(201);
    const sig = applied.json();
    expect(sig).toMatchObject({
      status: 'pending',
      extension_code: '01',
      is_default: false,
      // 2 review hours after 10:00 Beijing.
      decision_expected_by: '2026-03-02T04:00:00.000Z',
    });
    expect(
      (await call('POST', '/v1/signatures', tenant.auth, { name: '雁 书', source: 'app' })).json().error.code,
    ).toBe('signatures.invalid_name');

    // Pending: not usable, by name or by a leading 【…】.
    const byName = await call('POST', '/v1/messages', tenant.auth, {
      to: '13800138000',
      content: 'hi',
      sign_name: '雁书',
    });
    expect([byName.statusCode, byName.json().error.code]).toEqual([422, 'compliance.signature_not_approved']);
    const leading = await call('POST', '/v1/messages', tenant.auth, {
      to: '13800138000',
      content: '【雁书】hi',
    });
    expect(leading.json().error.code).toBe('compliance.signature_not_approved');
    const unsigned = await call('POST', '/v1/messages', tenant.auth, { to: '13800138000', content: 'hi' });
    expect(unsigned.json().error.code).toBe('compliance.signature_required');

    // The queue shows its age against the target; 3 hours later it is overdue.
    clock.advance(3 * 3_600_000);
    reviewer = await reviewerLogin();
    const listed = await call('GET', '/v1/operator/signatures', reviewer);
    expect(listed.statusCode, listed.body).toBe(200);
    const queue = listed.json().data;
    expect(queue.find((q: { id: string }) => q.id === sig.id)).toMatchObject({
      tenant_id: String(tenant.id),
      age_minutes: 180,
      review_minutes: 180,
      target_review_minutes: 120,
      overdue: true,
    });
    expect(
      (await call('PATCH', `/v1/signatures/${sig.id}`, tenant.auth, { name: '雁书二' })).json().error.code,
    ).toBe('signatures.not_editable');
    expect((await call('POST', `/v1/operator/signatures/${sig.id}/reject`, reviewer, {})).statusCode).toBe(
      400,
    );
    const rejected = await call('POST', `/v1/operator/signatures/${sig.id}/reject`, reviewer, {
      reason: '请提供商标证书',
    });
    expect(rejected.json()).toMatchObject({ status: 'rejected', reason: '请提供商标证书' });
    expect((await call('GET', `/v1/signatures/${sig.id}`, tenant.auth)).json().reason).toBe('请提供商标证书');

    const edited = await call('PATCH', `/v1/signatures/${sig.id}`, tenant.auth, {
      name: '雁书科技',
      source: 'company',
    });
    expect(edited.json()).toMatchObject({
      status: 'pending',
      reason: null,
      name: '雁书科技',
      extension_code: '01',
    });
    const approved = await call('POST', `/v1/operator/signatures/${sig.id}/approve`, reviewer);
    expect(approved.json()).toMatchObject({ status: 'approved', is_default: true });
    expect(
      (await call('POST', `/v1/operator/signatures/${sig.id}/approve`, reviewer)).json().error.code,
    ).toBe('signatures.not_pending');

    // Approved and the default: a text without one gets it, and its parts count it.
    const sent = await call('POST', '/v1/messages', tenant.auth, {
      to: '13800138000',
      content: 'a'.repeat(60),
    });
    expect(sent.statusCode, sent.body).toBe(202);
    expect(sent.json()).toMatchObject({ encoding: 'ucs2', parts: 1 });
    const row = (
      await t.db.pool.query('select content, signature_id, template_id from messages where id = $1', [
        sent.json().id,
      ])
    ).rows[0];
    expect(row).toEqual({
      content: `【雁书科技】${'a'.repeat(60)}`,
      signature_id: Number(sig.id),
      template_id: null,
    });
    const long = await call('POST', '/v1/messages', tenant.auth, {
      to: '13800138000',
      content: 'a'.repeat(65),
    });
    expect(long.json().parts).toBe(2); // 65 + 6 signature characters > 70
  });

  it('refuse a second 【…】 in any message, and a sign_name with a leading one', async () => {
    const tenant = await bareTenant('Double Co');
    await t.db.pool.query('update tenants set free_text = true where id = $1', [tenant.id]);
    const sig = (
      await call('POST', '/v1/signatures', tenant.auth, { name: '鸿雁', source: 'company' })
    ).json();
    await call('POST', `/v1/operator/signatures/${sig.id}/approve`, reviewer);
    for (const body of [
      { content: '【鸿雁】您好【鸿雁】' },
      { content: '您好【别的】' },
      { content: '【鸿雁】您好', sign_name: '鸿雁' },
    ]) {
      const res = await call('POST', '/v1/messages', tenant.auth, { to: '13800138000', ...body });
      expect([res.statusCode, res.json().error.code], JSON.stringify(body)).toEqual([
        422,
        'compliance.double_signature',
      ]);
    }
    const batch = await call('POST', '/v1/batches', tenant.auth, {
      content: '您好{name}',
      recipients: [
        { to: '13800138000', vars: { name: '张三' } },
        { to: '13800138001', vars: { name: '【假冒】' } },
      ],
    });
    expect(
      batch.json().results.map((r: { accepted: boolean; error?: { code: string } }) => r.error?.code ?? 'ok'),
    ).toEqual(['ok', 'compliance.double_signature']);
  });
});

describe('templates', () => {
  it('are checked by the rules on submit, reviewed, sent by id with params, and stop at deletion', async () => {
    const tenant = await bareTenant('Tpl Co');
    const sig = (
      await call('POST', '/v1/signatures', tenant.auth, { name: '鸿雁', source: 'company' })
    ).json();
    await call('POST', `/v1/operator/signatures/${sig.id}/approve`, reviewer);

    // Free text is not open to this tenant.
    const free = await call('POST', '/v1/messages', tenant.auth, { to: '13800138000', content: 'hi' });
    expect([free.statusCode, free.json().error.code]).toEqual([422, 'templates.required']);

    // A blocking finding rejects the template at once, with the finding stored.
    const blocked = await call('POST', '/v1/templates', tenant.auth, {
      name: 'diversion',
      type: 'notification',
      content: '订单{order}已发货，加微信了解更多',
    });
    expect(blocked.statusCode).toBe(201);
    expect(blocked.json()).toMatchObject({ status: 'rejected' });
    expect(blocked.json().findings.some((f: { rule: string }) => f.rule === 'contact_diversion')).toBe(true);

    const submitted = await call('POST', '/v1/templates', tenant.auth, {
      name: '验证码',
      type: 'verification',
      content: '您的验证码是{code}，{minutes}分钟内有效',
      variables: [
        { name: 'code', kind: 'code' },
        { name: 'minutes', kind: 'number', max_length: 2 },
      ],
    });
    expect(submitted.json()).toMatchObject({ status: 'pending', findings: [] });
    const tpl = submitted.json();
    const send = (params: object, extra: object = {}) =>
      call('POST', '/v1/messages', tenant.auth, { to: '13800138000', template_id: tpl.id, params, ...extra });
    expect((await send({ code: '1234', minutes: 5 })).json().error.code).toBe('templates.not_approved');

    const queue = (await call('GET', '/v1/operator/templates', reviewer)).json().data;
    expect(queue.map((q: { id: string }) => q.id)).toContain(tpl.id);
    await call('POST', `/v1/operator/templates/${tpl.id}/approve`, reviewer);

    const sent = await send({ code: '4321', minutes: 5 }, { type: 'marketing' });
    expect(sent.statusCode, sent.body).toBe(202);
    expect(sent.json().type).toBe('verification'); // the template's type wins
    const row = (
      await t.db.pool.query('select content, template_id, signature_id from messages where id = $1', [
        sent.json().id,
      ])
    ).rows[0];
    expect(row).toEqual({
      content: '【鸿雁】您的验证码是4321，5分钟内有效',
      template_id: Number(tpl.id),
      signature_id: Number(sig.id),
    });
    expect((await send({ code: '12', minutes: 5 })).json().error.code).toBe('templates.invalid_param');
    expect((await send({ code: '1234' })).json().error.code).toBe('templates.missing_param');
    expect(
      (
        await call('POST', '/v1/messages', tenant.auth, {
          to: '13800138000',
          template_id: tpl.id,
          content: 'x',
        })
      ).json().error.code,
    ).toBe('templates.content_and_template');

    // A batch: each recipient its own params and its own outcome.
    const batch = await call('POST', '/v1/batches', tenant.auth, {
      template_id: tpl.id,
      recipients: [
        { to: '13900139000', params: { code: '1111', minutes: 5 } },
        { to: '13900139001', params: { code: '22', minutes: 5 } },
        { to: '13900139002', params: { minutes: 5 } },
        { to: '13900139003', params: { code: '44444444', minutes: 10 } },
      ],
    });
    expect(batch.statusCode, batch.body).toBe(202);
    expect(batch.json()).toMatchObject({ accepted: 2, rejected: 2, type: 'verification' });
    expect(batch.json().results.map((r: { error?: { code: string } }) => r.error?.code ?? 'ok')).toEqual([
      'ok',
      'templates.invalid_param',
      'templates.missing_param',
      'ok',
    ]);

    // Deleted: the next send is refused.
    expect((await call('DELETE', `/v1/templates/${tpl.id}`, tenant.auth)).statusCode).toBe(204);
    expect((await send({ code: '4321', minutes: 5 })).json().error.code).toBe('templates.not_approved');
    expect((await call('GET', `/v1/templates/${tpl.id}`, tenant.auth)).statusCode).toBe(404);
  });

  it('only a rejected one can be edited, and resubmission runs the rules again', async () => {
    const tenant = await bareTenant('Edit Co');
    const tpl = (
      await call('POST', '/v1/templates', tenant.auth, {
        name: 'n',
        type: 'notification',
        content: '订单{order}已发货',
      })
    ).json();
    expect(
      (await call('PATCH', `/v1/templates/${tpl.id}`, tenant.auth, { content: '订单{order}已签收' })).json()
        .error.code,
    ).toBe('templates.not_editable');
    await call('POST', `/v1/operator/templates/${tpl.id}/reject`, reviewer, { reason: '主题不明确' });
    const edited = await call('PATCH', `/v1/templates/${tpl.id}`, tenant.auth, {
      content: '订单{order}已签收，感谢惠顾',
    });
    expect(edited.json()).toMatchObject({
      status: 'pending',
      reason: null,
      content: '订单{order}已签收，感谢惠顾',
    });
  });
});
