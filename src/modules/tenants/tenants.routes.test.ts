// Onboarding through the real server: registration, documents typed by content, review with a
// reason and resubmission, the send gate, suspension that holds queued messages, isolation.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { type Browser, fakeClock, loginAs, newStaff, withSession } from '../accounts/accounts.testkit.ts';
import { claimNextMessages } from '../dispatch/dispatch.sql.ts';
import { creditForTests } from '../billing/billing.testkit.ts';
import { DEFAULT_COMPLIANCE_SETTINGS, reviewDueFor } from '../compliance/settings/settings.models.ts';
import { grantSending } from '../compliance/signatures/signatures.usecases.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let dataDir: string;
const clock = fakeClock();
let reviewer: Browser;
let admin: Browser;

const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(64, 1),
]);
const MAX = 2048;

const profile = (n: number) => ({
  company_name: `福州测试科技有限公司 ${n}`,
  credit_code: '91350100M000100Y43',
  contact_name: '张三',
  contact_phone: '13800138000',
  contact_email: `contact${n}@example.cn`,
  industry: 'software',
});

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'hongyan-docs-'));
  ({ app, ctx } = await buildTestApp(t.db, {
    clock,
    env: { HONGYAN_DATA_DIR: dataDir, HONGYAN_DOCUMENT_MAX_BYTES: String(MAX) },
  }));
  const r = await newStaff(t.db, 'reviewer1', 'reviewer');
  reviewer = (await loginAs(app, r.username, r.password)).browser!;
  const a = await newStaff(t.db, 'admin1', 'admin');
  admin = (await loginAs(app, a.username, a.password)).browser!;
});
afterAll(async () => {
  await app.close();
  await t.drop();
  await rm(dataDir, { recursive: true, force: true });
});

async function register(n: number) {
  const email = `owner${n}@example.cn`;
  const password = 'correct horse battery';
  const res = await app.inject({
    method: 'POST',
    url: '/v1/auth/register',
    payload: { ...profile(n), email, password },
  });
  expect(res.statusCode, res.body).toBe(201);
  const owner = (await loginAs(app, email, password)).browser!;
  // Approved, it sends: a test-kit credit so quota never refuses it here (issue 9).
  await creditForTests(t.db.pool, res.json().tenant.id as number);
  const tenantId = res.json().tenant.id as number;
  // What sendAs needs once the tenant is approved: its signature 鸿雁 and free text (issue 8).
  await grantSending({ db: t.db.pool, tenantId, signatures: ['鸿雁'], freeText: true });
  return { tenantId, owner };
}

const sendAs = (b: Browser) =>
  app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: withSession(b),
    payload: { to: '13800138000', content: '【鸿雁】您的验证码是 123456', type: 'verification' },
  });

const upload = (b: Browser, body: Buffer, contentType: string, kind = 'business_licence') =>
  app.inject({
    method: 'POST',
    url: `/v1/tenant/documents?kind=${kind}`,
    headers: { ...withSession(b), 'content-type': contentType },
    payload: body,
  });

const decide = (b: Browser, tenantId: number, action: string, payload?: object) =>
  app.inject({
    method: 'POST',
    url: `/v1/operator/tenants/${tenantId}/${action}`,
    headers: withSession(b),
    ...(payload ? { payload } : {}),
  });

describe('registration and review', () => {
  it('register → pending → send refused → upload → approve → send accepted', async () => {
    const { tenantId, owner } = await register(1);
    const status = await app.inject({ method: 'GET', url: '/v1/tenant', headers: withSession(owner) });
    expect(status.json()).toMatchObject({
      id: tenantId,
      status: 'pending_review',
      credit_code: '91350100M000100Y43',
    });

    const refused = await sendAs(owner);
    expect([refused.statusCode, refused.json().error.code]).toEqual([403, 'accounts.tenant_not_approved']);

    const png = await upload(owner, PNG, 'image/png');
    expect(png.statusCode, png.body).toBe(201);
    expect(png.json()).toMatchObject({
      kind: 'business_licence',
      content_type: 'image/png',
      size_bytes: PNG.length,
    });

    clock.advance(10 * 60_000);
    const queue = await app.inject({
      method: 'GET',
      url: '/v1/operator/reviews/tenants',
      headers: withSession(reviewer),
    });
    const item = queue.json().data.find((x: { id: number }) => x.id === tenantId);
    expect(item).toMatchObject({
      status: 'pending_review',
      age_seconds: 600,
      documents: [{ id: png.json().id }],
    });
    // Aged against the qualification desk (seed 000: 1–3 working days): 3 working days of 9 hours.
    expect(item).toMatchObject({ target_review_minutes: 3 * 9 * 60, overdue: false });
    const submitted = new Date(item.submitted_at);
    expect(item.due_at).toBe(
      reviewDueFor(DEFAULT_COMPLIANCE_SETTINGS, 'qualification', submitted).toISOString(),
    );
    expect(new Date(item.due_at).getTime() - submitted.getTime()).toBeGreaterThanOrEqual(2 * 86_400_000);
    const download = await app.inject({
      method: 'GET',
      url: `/v1/operator/tenants/${tenantId}/documents/${png.json().id}`,
      headers: withSession(reviewer),
    });
    expect([download.statusCode, download.headers['content-type']]).toEqual([200, 'image/png']);
    expect(download.rawPayload.equals(PNG)).toBe(true);

    const approved = await decide(reviewer, tenantId, 'approve');
    expect([approved.statusCode, approved.json().status]).toEqual([200, 'active']);
    expect((await sendAs(owner)).statusCode).toBe(202);
    const log = await t.db.pool.query(
      'select actor, action from audit_log where tenant_id = $1 order by id',
      [tenantId],
    );
    expect(log.rows.filter((r) => r.action === 'tenant.approved')).toEqual([
      { actor: expect.stringMatching(/^staff:/), action: 'tenant.approved' },
    ]);
  });

  it('a text file named and declared as a PDF is refused, and so is a file over the size limit', async () => {
    const { owner } = await register(2);
    const lying = await upload(owner, Buffer.from('this is only text, not a PDF at all'), 'application/pdf');
    expect([lying.statusCode, lying.json().error.code]).toEqual([415, 'tenants.document_type']);
    const big = await upload(
      owner,
      Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(MAX)]),
      'application/pdf',
    );
    expect([big.statusCode, big.json().error.code]).toEqual([413, 'request.too_large']);
    const listed = await app.inject({ method: 'GET', url: '/v1/tenant', headers: withSession(owner) });
    expect(listed.json().documents).toEqual([]);
  });

  it('a rejection shows its reason; the tenant fixes the profile and resubmits', async () => {
    const { tenantId, owner } = await register(3);
    const noReason = await decide(reviewer, tenantId, 'reject', {});
    expect(noReason.statusCode).toBe(400);
    const rejected = await decide(reviewer, tenantId, 'reject', { reason: '营业执照不清晰' });
    expect(rejected.json()).toMatchObject({ status: 'rejected', status_reason: '营业执照不清晰' });
    const seen = await app.inject({ method: 'GET', url: '/v1/tenant', headers: withSession(owner) });
    expect(seen.json()).toMatchObject({ status: 'rejected', status_reason: '营业执照不清晰' });
    expect((await sendAs(owner)).json().error.code).toBe('accounts.tenant_not_approved');

    const badCode = await app.inject({
      method: 'PATCH',
      url: '/v1/tenant',
      headers: withSession(owner),
      payload: { credit_code: '91350100M000100Y44' },
    });
    expect([badCode.statusCode, badCode.json().error.code]).toEqual([400, 'tenants.invalid_credit_code']);
    const fixed = await app.inject({
      method: 'PATCH',
      url: '/v1/tenant',
      headers: withSession(owner),
      payload: { industry: 'education' },
    });
    expect(fixed.json()).toMatchObject({ industry: 'education', status: 'rejected' });
    const again = await app.inject({
      method: 'POST',
      url: '/v1/tenant/resubmit',
      headers: withSession(owner),
    });
    expect(again.json()).toMatchObject({ status: 'pending_review', status_reason: null });
    const twice = await app.inject({
      method: 'POST',
      url: '/v1/tenant/resubmit',
      headers: withSession(owner),
    });
    expect([twice.statusCode, twice.json().error.code]).toEqual([409, 'tenants.invalid_transition']);
  });

  it('a registration with a wrong check character creates nothing', async () => {
    const before = Number((await t.db.pool.query('select count(*) from tenants')).rows[0].count);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: {
        ...profile(9),
        credit_code: '91350100M000100Y44',
        email: 'x9@example.cn',
        password: 'correct horse battery',
      },
    });
    expect([res.statusCode, res.json().error.code]).toEqual([400, 'tenants.invalid_credit_code']);
    expect(Number((await t.db.pool.query('select count(*) from tenants')).rows[0].count)).toBe(before);
  });
});

describe('isolation and operator routes', () => {
  it("tenant A gets 404 on tenant B's document", async () => {
    const a = await register(4);
    const b = await register(5);
    const doc = (await upload(b.owner, PNG, 'application/octet-stream', 'legal_rep_id')).json();
    const own = await app.inject({
      method: 'GET',
      url: `/v1/tenant/documents/${doc.id}`,
      headers: withSession(b.owner),
    });
    expect(own.statusCode).toBe(200);
    const other = await app.inject({
      method: 'GET',
      url: `/v1/tenant/documents/${doc.id}`,
      headers: withSession(a.owner),
    });
    expect([other.statusCode, other.json().error.code]).toEqual([404, 'tenants.document_not_found']);
    const application = await app.inject({
      method: 'GET',
      url: `/v1/operator/tenants/${b.tenantId}/application`,
      headers: withSession(reviewer),
    });
    expect(application.json()).toMatchObject({
      id: b.tenantId,
      status: 'pending_review',
      documents: [{ id: doc.id, kind: 'legal_rep_id', content_type: 'image/png' }],
    });
    const missing = await app.inject({
      method: 'GET',
      url: '/v1/operator/tenants/999999/application',
      headers: withSession(reviewer),
    });
    expect([missing.statusCode, missing.json().error.code]).toEqual([404, 'tenants.not_found']);
    const viaOperatorPath = await app.inject({
      method: 'GET',
      url: `/v1/operator/tenants/${a.tenantId}/documents/${doc.id}`,
      headers: withSession(reviewer),
    });
    expect(viaOperatorPath.statusCode).toBe(404);
  });

  it('a tenant key and a tenant session get 403 on the review and suspension routes', async () => {
    const tenant = await newTenant(ctx, 'keyed');
    const { owner } = await register(6);
    for (const headers of [tenant.auth, withSession(owner)]) {
      const queue = await app.inject({ method: 'GET', url: '/v1/operator/reviews/tenants', headers });
      expect(queue.statusCode).toBe(403);
      const approve = await app.inject({
        method: 'POST',
        url: `/v1/operator/tenants/${tenant.tenantId}/suspend`,
        headers,
        payload: {},
      });
      expect(approve.statusCode).toBe(403);
    }
  });

  it('a reviewer may decide applications but not suspend; an admin suspends', async () => {
    const tenant = await newTenant(ctx, 'staffroles');
    expect((await decide(reviewer, tenant.tenantId, 'suspend', {})).statusCode).toBe(403);
    expect((await decide(admin, tenant.tenantId, 'approve')).json().error.code).toBe(
      'tenants.invalid_transition',
    );
  });
});

describe('suspension', () => {
  const claim = (now: Date) =>
    claimNextMessages(t.db.pool, {
      nodeId: 'test',
      limit: 100,
      perTenant: 100,
      now,
      deadlines: { verificationSeconds: 600, notificationSeconds: 86_400, marketingSeconds: 86_400 },
      maxAttempts: 6,
    });

  it('holds the queued messages of a suspended tenant and sends them after reactivation; its logins stop', async () => {
    const { tenantId, owner } = await register(7);
    await decide(reviewer, tenantId, 'approve');
    const sent = await sendAs(owner);
    expect(sent.statusCode).toBe(202);
    const id = sent.json().id as string;

    const suspended = await decide(admin, tenantId, 'suspend', { reason: '投诉过多' });
    expect(suspended.json()).toMatchObject({ status: 'suspended', status_reason: '投诉过多' });
    const afterSuspend = await app.inject({ method: 'GET', url: '/v1/tenant', headers: withSession(owner) });
    expect(afterSuspend.statusCode).toBe(401);
    const login = await loginAs(app, 'owner7@example.cn', 'correct horse battery');
    expect(login.res.json().error.code).toBe('auth.tenant_suspended');

    const held = await claim(clock.now());
    expect(held.some((m) => m.tenantId === tenantId)).toBe(false);
    const row = await t.db.pool.query('select status from messages where tenant_id = $1', [tenantId]);
    expect(row.rows).toEqual([{ status: 'queued' }]);

    expect((await decide(admin, tenantId, 'activate')).json().status).toBe('active');
    const resumed = await claim(clock.now());
    expect(resumed.filter((m) => m.tenantId === tenantId).map((m) => String(m.id))).toEqual([id]);
  });
});

describe('registration limit', () => {
  it('answers 429 with Retry-After past the per-address limit, and creates no tenant for it', async () => {
    const limited = await buildTestApp(t.db, {
      clock,
      env: { HONGYAN_DATA_DIR: dataDir, HONGYAN_REGISTRATIONS_PER_ADDRESS_PER_HOUR: '1' },
    });
    const attempt = (n: number) =>
      limited.app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        payload: { ...profile(n), email: `limit${n}@example.cn`, password: 'correct horse battery' },
      });
    expect((await attempt(20)).statusCode).toBe(201);
    const second = await attempt(21);
    expect([second.statusCode, second.json().error.code]).toEqual([429, 'tenants.registration_limited']);
    expect(Number(second.headers['retry-after'])).toBe(3600);
    const found = await t.db.pool.query('select count(*) from members where email = $1', [
      'limit21@example.cn',
    ]);
    expect(Number(found.rows[0].count)).toBe(0);
    await limited.app.close();
  });
});
