// Tenant isolation generated from the route table (issue 7): every /v1 route with a path parameter
// that names a tenant-owned resource is tried by tenant A on a resource of tenant B, with A's bearer
// key, A's owner session and A's signed credential holding every scope. Each must get 404 (or 403
// where that principal lacks the route's permission: a refusal that says nothing about B either), and
// B's resource must be untouched: B's own owner still finds it afterwards. A route whose path
// parameters this file cannot fill fails the test, so a new route cannot slip past it.
// Operator routes (/v1/operator/…) take a tenant's id by design and are staff-only; the 403 every
// tenant principal gets on them is asserted in src/modules/accounts/permissions.routes.test.ts.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../test/helpers/app.ts';
import { createTestDatabase } from '../../test/helpers/db.ts';
import { loginAs, newMember, withSession } from '../modules/accounts/accounts.testkit.ts';
import { type Actor, allows, type Permission } from '../modules/accounts/permissions.models.ts';
import { canonicalString, SCOPES, sha256Hex, sign } from '../modules/credentials/credentials.models.ts';
import { insertPackage } from '../modules/billing/commerce/commerce.repository.ts';
import { claimDueRun } from '../modules/campaigns/campaign-runs.ts';
import { campaignDeps } from '../modules/campaigns/campaigns.start.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db));
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

interface Side {
  tenantId: number;
  bearer: Record<string, string>;
  owner: Record<string, string>;
  login: { email: string; password: string };
  signed: { appKey: string; secret: string };
}

async function newSide(name: string): Promise<Side> {
  const tenant = await newTenant(ctx, name);
  const m = await newMember(t.db, tenant.tenantId, `owner@${name.toLowerCase()}.cn`, 'owner');
  const { browser } = await loginAs(app, m.email, m.password);
  const created = await app.inject({
    method: 'POST',
    url: '/v1/credentials',
    headers: tenant.auth,
    payload: { name: 'all scopes', scopes: [...SCOPES] },
  });
  expect(created.statusCode, created.body).toBe(201);
  return {
    tenantId: tenant.tenantId,
    bearer: tenant.auth,
    owner: withSession(browser!),
    login: { email: m.email, password: m.password },
    signed: { appKey: created.json().credential.app_key, secret: created.json().app_secret },
  };
}

/** Creates one resource of tenant B for a path parameter and answers its id. */
type Fixture = (b: Side) => Promise<string>;

async function created(
  res: { statusCode: number; body: string; json: () => unknown },
  pick: (j: never) => unknown,
) {
  expect(res.statusCode, res.body).toBeLessThan(300);
  return String(pick(res.json() as never));
}

const message: Fixture = async (b) =>
  created(
    await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: b.bearer,
      payload: {
        to: '13800138000',
        content: '【鸿雁】isolation',
        send_at: new Date(ctx.clock.now().getTime() + 86_400_000).toISOString(),
      },
    }),
    (j: { id: number }) => j.id,
  );
const batch: Fixture = async (b) =>
  created(
    await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: b.bearer,
      payload: {
        content: '【鸿雁】isolation',
        recipients: [{ to: '13800138000' }],
        send_at: new Date(ctx.clock.now().getTime() + 86_400_000).toISOString(),
      },
    }),
    (j: { id: number }) => j.id,
  );
let memberSeq = 0;
const member: Fixture = async (b) =>
  String((await newMember(t.db, b.tenantId, `m${++memberSeq}@b.cn`, 'viewer')).id);
const credential: Fixture = async (b) =>
  created(
    await app.inject({
      method: 'POST',
      url: '/v1/credentials',
      headers: b.bearer,
      payload: { name: 'target', scopes: ['read'] },
    }),
    (j: { credential: { id: number } }) => j.credential.id,
  );
const smppAccount: Fixture = async (b) =>
  created(
    await app.inject({ method: 'POST', url: '/v1/smpp-accounts', headers: b.bearer, payload: {} }),
    (j: { account: { id: number } }) => j.account.id,
  );
const document: Fixture = async (b) =>
  created(
    await app.inject({
      method: 'POST',
      url: '/v1/tenant/documents?kind=business_licence',
      headers: { ...b.owner, 'content-type': 'application/pdf' },
      payload: Buffer.from('%PDF-1.7\nisolation\n'),
    }),
    (j: { id: number }) => j.id,
  );

let billingPackageId: number | undefined;
/** An order of B's (its owner orders; keys cannot). */
const order: Fixture = async (b) => {
  billingPackageId ??= (
    await insertPackage(t.db.pool, { name: 'isolation', parts: 1000, price: '10.00', validity_days: 365 })
  ).id;
  return created(
    await app.inject({
      method: 'POST',
      url: '/v1/billing/orders',
      headers: b.owner,
      payload: { package_id: billingPackageId },
    }),
    (j: { id: number }) => j.id,
  );
};

let complianceSeq = 0;
/**
 * A signature B applied for and a template B submitted, then decided as the operator would: a
 * rejected one can be edited (PATCH), an approved signature made the default.
 */
const signatureIn =
  (status: 'approved' | 'rejected'): Fixture =>
  async (b) => {
    const id = await created(
      await app.inject({
        method: 'POST',
        url: '/v1/signatures',
        headers: b.owner,
        payload: { name: `隔离${++complianceSeq}`, source: 'company' },
      }),
      (j: { id: string }) => j.id,
    );
    await t.db.pool.query('update signatures set status = $2 where id = $1', [id, status]);
    return id;
  };
/** A proof document of the signature the `id` fixture just made (B's newest). */
const signatureDocument: Fixture = async (b) => {
  const { rows } = await t.db.pool.query<{ id: string }>(
    'select id::text from signatures where tenant_id = $1 order by id desc limit 1',
    [b.tenantId],
  );
  return created(
    await app.inject({
      method: 'POST',
      url: `/v1/signatures/${rows[0]!.id}/documents`,
      headers: { ...b.owner, 'content-type': 'application/pdf' },
      payload: Buffer.from('%PDF-1.7\nisolation\n'),
    }),
    (j: { id: string }) => j.id,
  );
};
const template: Fixture = async (b) => {
  const id = await created(
    await app.inject({
      method: 'POST',
      url: '/v1/templates',
      headers: b.owner,
      payload: {
        name: `isolation ${++complianceSeq}`,
        type: 'notification',
        content: '您的订单{order}已发货',
      },
    }),
    (j: { id: string }) => j.id,
  );
  await t.db.pool.query(`update templates set status = 'rejected' where id = $1`, [id]);
  return id;
};

/** A webhook endpoint of B's (a public address literal: registration looks nothing up). */
const webhookEndpoint: Fixture = async (b) =>
  created(
    await app.inject({
      method: 'POST',
      url: '/v1/webhooks/endpoints',
      headers: b.bearer,
      payload: { url: 'https://93.184.216.34/hooks', events: ['message.status'] },
    }),
    (j: { endpoint: { id: string } }) => j.endpoint.id,
  );
/** A dead-lettered delivery of B's (so that B may replay it): a canceled message's status event. */
const webhookDelivery: Fixture = async (b) => {
  await webhookEndpoint(b);
  const id = await message(b);
  await app.inject({ method: 'POST', url: `/v1/messages/${id}/cancel`, headers: b.bearer });
  const { rows } = await t.db.pool.query<{ id: string }>(
    `update webhook_deliveries set state = 'dead' where message_id = $1 returning id::text`,
    [id],
  );
  return rows[0]!.id;
};

/** A verification code sent to one of B's numbers (a new number each time: resends cool down). */
let verificationSeq = 0;
const verification: Fixture = async (b) =>
  created(
    await app.inject({
      method: 'POST',
      url: '/v1/verifications',
      headers: b.bearer,
      payload: { to: `1370013${String(++verificationSeq).padStart(4, '0')}` },
    }),
    (j: { id: string }) => j.id,
  );

/** A campaign of B's (recurring, not due for hours): a draft, or active, or paused. */
const campaignIn =
  (state: 'draft' | 'active' | 'paused', ab = false): Fixture =>
  async (b) => {
    const id = await created(
      await app.inject({
        method: 'POST',
        url: '/v1/campaigns',
        headers: b.bearer,
        payload: {
          name: 'isolation',
          audience: { numbers: '13700139000\n13700139001' },
          content: '隔离测试',
          draft: state === 'draft',
          ...(ab
            ? {
                ab: {
                  variants: [{ name: 'A' }, { name: 'B', content: '隔离测试B' }],
                  test_share: 1,
                  decide_after_minutes: 60,
                  metric: 'delivery_rate',
                },
              }
            : { schedule: { kind: 'recurring', rule: { kind: 'daily', time: '09:00' } } }),
        },
      }),
      (j: { id: string }) => j.id,
    );
    if (state === 'paused')
      await t.db.pool.query(`update campaigns set state = 'paused' where id = $1`, [id]);
    return id;
  };
/** The A/B test run of the campaign the `id` fixture just made, waiting for its winner. */
const campaignRun: Fixture = async (b) => {
  const { rows } = await t.db.pool.query<{ id: string }>(
    'select id::text from campaigns where tenant_id = $1 order by id desc limit 1',
    [b.tenantId],
  );
  const runId = await claimDueRun(campaignDeps(ctx), Number(rows[0]!.id));
  await t.db.pool.query(`update campaign_runs set state = 'choosing' where id = $1`, [runId]);
  return String(runId);
};

/** A second console session of B's owner, so that ending it leaves the owner's own session alive. */
const session: Fixture = async (b) => {
  const { browser } = await loginAs(app, b.login.email, b.login.password);
  const res = await app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: withSession(browser!) });
  return created(
    res,
    (j: { sessions: { id: string; current: boolean }[] }) => j.sessions.find((x) => x.current)!.id,
  );
};

/** A contact of B's, one of B's groups holding it, a segment and an import of B's. */
let bContactId = '';
const contact: Fixture = async (b) => {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/contacts/bulk',
    headers: b.bearer,
    payload: { contacts: [{ phone: '13700138000', name: 'isolation' }] },
  });
  bContactId = await created(res, (j: { results: { id: string }[] }) => j.results[0]!.id);
  return bContactId;
};
let contactGroupSeq = 0;
const contactGroup: Fixture = async (b) => {
  await contact(b);
  return created(
    await app.inject({
      method: 'POST',
      url: '/v1/contacts/groups',
      headers: b.bearer,
      payload: { name: `isolation ${++contactGroupSeq}` },
    }),
    (j: { id: string }) => j.id,
  );
};
let contactSegmentSeq = 0;
const contactSegment: Fixture = async (b) =>
  created(
    await app.inject({
      method: 'POST',
      url: '/v1/contacts/segments',
      headers: b.bearer,
      payload: {
        name: `isolation ${++contactSegmentSeq}`,
        filter: { match: 'all', conditions: [{ type: 'tag', op: 'has', value: 'vip' }] },
      },
    }),
    (j: { id: string }) => j.id,
  );
const contactImport: Fixture = async (b) => {
  const boundary = 'isolationboundary';
  const payload = Buffer.from(
    `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.csv"\r\n\r\nphone\n13700138001\n\r\n--${boundary}--\r\n`,
  );
  return created(
    await app.inject({
      method: 'POST',
      url: '/v1/contacts/imports',
      headers: { ...b.bearer, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload,
    }),
    (j: { id: string }) => j.id,
  );
};

const campaignAudienceFile: Fixture = async (b) => {
  const boundary = 'isolationboundary';
  const payload = Buffer.from(
    `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.csv"\r\n\r\nphone\n13700138001\n1\n\r\n--${boundary}--\r\n`,
  );
  return created(
    await app.inject({
      method: 'POST',
      url: '/v1/campaigns/audience-files',
      headers: { ...b.bearer, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload,
    }),
    (j: { id: string }) => j.id,
  );
};

/** How to make tenant B's resource for each path parameter of each route pattern. */
const fixtures: Record<string, Record<string, Fixture>> = {
  '/v1/messages/:id': { id: message },
  '/v1/messages/:id/cancel': { id: message },
  '/v1/batches/:id': { id: batch },
  '/v1/batches/:id/cancel': { id: batch },
  '/v1/members/:id': { id: member },
  '/v1/members/:id/password-reset': { id: member },
  '/v1/members/:id/reset-code': { id: member },
  '/v1/credentials/:id': { id: credential },
  '/v1/credentials/:id/rotate': { id: credential },
  '/v1/credentials/:id/revoke': { id: credential },
  '/v1/smpp-accounts/:id/disable': { id: smppAccount },
  '/v1/tenant/documents/:docId': { docId: document },
  '/v1/auth/sessions/:id': { id: session },
  '/v1/signatures/:id': { id: signatureIn('rejected') },
  '/v1/signatures/:id/default': { id: signatureIn('approved') },
  '/v1/signatures/:id/documents': { id: signatureIn('rejected') },
  '/v1/signatures/:id/documents/:docId': { id: signatureIn('rejected'), docId: signatureDocument },
  '/v1/templates/:id': { id: template },
  '/v1/billing/orders/:id': { id: order },
  '/v1/billing/orders/:id/cancel': { id: order },
  '/v1/webhooks/endpoints/:id': { id: webhookEndpoint },
  '/v1/webhooks/endpoints/:id/rotate-secret': { id: webhookEndpoint },
  '/v1/webhooks/deliveries/:id': { id: webhookDelivery },
  '/v1/webhooks/deliveries/:id/replay': { id: webhookDelivery },
  '/v1/verifications/:id': { id: verification },
  '/v1/contacts/:id': { id: contact },
  '/v1/contacts/groups/:id': { id: contactGroup },
  '/v1/contacts/groups/:id/members/add': { id: contactGroup },
  '/v1/contacts/groups/:id/members/remove': { id: contactGroup },
  '/v1/contacts/segments/:id': { id: contactSegment },
  '/v1/contacts/imports/:id': { id: contactImport },
  '/v1/contacts/imports/:id/errors': { id: contactImport },
  '/v1/campaigns/audience-files/:id': { id: campaignAudienceFile },
  '/v1/campaigns/audience-files/:id/errors': { id: campaignAudienceFile },
  '/v1/campaigns/:id': { id: campaignIn('draft') },
  '/v1/campaigns/:id/runs': { id: campaignIn('draft') },
  '/v1/campaigns/:id/preview': { id: campaignIn('draft') },
  '/v1/campaigns/:id/start': { id: campaignIn('draft') },
  '/v1/campaigns/:id/pause': { id: campaignIn('active') },
  '/v1/campaigns/:id/resume': { id: campaignIn('paused') },
  '/v1/campaigns/:id/cancel': { id: campaignIn('draft') },
  '/v1/campaigns/:id/report': { id: campaignIn('active') },
  '/v1/campaigns/:id/report/export': { id: campaignIn('active') },
  '/v1/campaigns/:id/runs/:runId/choose': { id: campaignIn('active', true), runId: campaignRun },
};

/** Bodies that pass a route's schema, so that the request reaches the tenant check. */
const validBodies: Record<string, unknown> = {
  'PATCH /v1/members/:id': { role: 'admin' },
  'PATCH /v1/credentials/:id': { allow: ['192.0.2.0/24'] },
  // A new time for B's scheduled send (its fixture is a day away, so at least an hour away).
  'PATCH /v1/messages/:id': { send_at: new Date(Date.now() + 2 * 86_400_000).toISOString() },
  'PATCH /v1/batches/:id': { send_at: new Date(Date.now() + 2 * 86_400_000).toISOString() },
  // Read when the request is made, after the group fixture made B's contact.
  get 'POST /v1/contacts/groups/:id/members/add'() {
    return { contact_ids: [bContactId] };
  },
  get 'POST /v1/contacts/groups/:id/members/remove'() {
    return { contact_ids: [bContactId] };
  },
  'POST /v1/campaigns/:id/runs/:runId/choose': { variant: 'B' },
};

/** Routes whose body is a raw file rather than JSON: what they are sent instead. */
const rawBodies: Record<string, { contentType: string; payload: string }> = {
  'POST /v1/signatures/:id/documents': { contentType: 'application/pdf', payload: '%PDF-1.7\nisolation\n' },
};

/**
 * Routes about the caller's own console session: an API key or credential has none, so it is refused
 * (403) before any look-up, which tells it nothing about B either.
 */
const sessionOnly = new Set(['DELETE /v1/auth/sessions/:id']);

const paramsOf = (url: string) => [...url.matchAll(/:([^/]+)/g)].map((m) => m[1]!);

function signedHeaders(pair: Side['signed'], method: string, url: string, payload: string) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(12).toString('base64url');
  const canonical = canonicalString({ method, url, bodySha256: sha256Hex(payload), timestamp, nonce });
  return {
    'x-hy-key': pair.appKey,
    'x-hy-timestamp': timestamp,
    'x-hy-nonce': nonce,
    'x-hy-signature': sign(pair.secret, canonical),
  };
}

describe('tenant isolation over the route table', () => {
  const tenantRoutes = () =>
    app.v1Routes.filter((r) => !r.url.startsWith('/v1/operator/') && paramsOf(r.url).length > 0);

  it('knows how to fill every path parameter of every tenant route', () => {
    expect(tenantRoutes().length).toBeGreaterThanOrEqual(Object.keys(fixtures).length);
    const unfilled = tenantRoutes()
      .filter((r) => paramsOf(r.url).some((p) => fixtures[r.url]?.[p] === undefined))
      .map((r) => `${r.method} ${r.url}`);
    expect(unfilled, 'add a fixture for these routes').toEqual([]);
  });

  it("answers 404 to tenant A's key, session and signed credential on each of tenant B's resources", async () => {
    const a = await newSide('A');
    const b = await newSide('B');
    const principals: [string, Actor, (m: string, u: string, p: string) => Record<string, string>][] = [
      ['bearer key', { kind: 'key', tenantId: a.tenantId }, () => a.bearer],
      ['owner session', { kind: 'member', tenantId: a.tenantId, role: 'owner' }, () => a.owner],
      [
        'signed credential',
        { kind: 'credential', tenantId: a.tenantId, scopes: SCOPES },
        (m, u, p) => signedHeaders(a.signed, m, u, p),
      ],
    ];
    for (const r of tenantRoutes()) {
      const route = `${r.method} ${r.url}`;
      let url = r.url;
      for (const p of paramsOf(r.url)) url = url.replace(`:${p}`, await fixtures[r.url]![p]!(b));
      const raw = rawBodies[route];
      const body = raw?.payload ?? (r.method === 'GET' ? '' : JSON.stringify(validBodies[route] ?? {}));
      const contentType = { 'content-type': raw?.contentType ?? 'application/json' };
      for (const [who, actor, headers] of principals) {
        const res = await app.inject({
          method: r.method as 'GET',
          url,
          headers: {
            ...headers(r.method, url, body),
            ...(body ? contentType : {}),
          },
          ...(body ? { payload: body } : {}),
        });
        const permitted =
          allows(actor, r.permission as Permission) && (actor.kind === 'member' || !sessionOnly.has(route));
        const expected = permitted ? 404 : 403;
        expect({ route, who, status: res.statusCode, body: res.body }).toMatchObject({
          route,
          who,
          status: expected,
        });
      }
      // B's resource is still there for B: the 404s above were isolation, not a bad fixture.
      const own = await app.inject({
        method: r.method as 'GET',
        url,
        headers: { ...b.owner, ...(body ? contentType : {}) },
        ...(body ? { payload: body } : {}),
      });
      expect({ route, who: "B's owner", status: own.statusCode < 300, body: own.body }).toMatchObject({
        route,
        status: true,
      });
    }
  });
});
