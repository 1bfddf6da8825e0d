// Issue 6: generated hostile values (fast-check) in every field of every /v1 route of the real
// route table (`app.v1Routes`, with each route's schema), one field at a time over a valid request,
// while another tenant's well-formed single sends run through the same app. Every hostile answer
// is below 500 and, when an error, in the documented shape with a code docs/errors.md lists; every
// good send gets 202 and its own message stored. test/http-hostile.test.ts goes deeper into the
// message routes (idempotency keys, batch recipients, many more runs).
//
// Who asks: /v1/operator routes a staff admin session, other routes a tenant owner session (cookie
// and CSRF header), public routes nobody. No route is skipped. Those that end or weaken the
// principal (logout, DELETE /v1/auth/sessions/:id, password change, two-factor enrolment) run as
// any other: when an answer is 401 or 403 and the principal no longer passes its probe, a new one
// is made and the request sent again. Path parameters that could name the principal's own
// resources name throw-away ones instead: a second member, a throw-away staff account, and a
// separate tenant for the operator's tenant routes (suspend, reject, require two-factor). A route
// never answered with anything but 401/403 fails the test, so a broken fixture cannot pass it; so
// does one never answered with a success, unless ONLY_REFUSED says why it cannot be: a base request
// that a business rule refuses (a name taken, a schedule too far ahead, a signature already
// approved) would keep every hostile value in its other fields away from the handler's writes.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoutePermissionEntry } from '../src/http/auth.ts';
import { AWKWARD, anyCodeUnits, percentEncoded, UNSTORABLE } from './helpers/hostile-values.ts';
import { loginAs, newMember, newStaff, withSession } from '../src/modules/accounts/accounts.testkit.ts';
import { PUBLIC } from '../src/modules/accounts/permissions.models.ts';
import { buildTestApp, newTenant } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';
import { validBodies, validQueries } from './helpers/valid-requests.ts';

type Ctx = Awaited<ReturnType<typeof buildTestApp>>['ctx'];
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Ctx;

/** The codes docs/errors.md lists: the only codes an error answer may carry. */
const DOCUMENTED_CODES = new Set(
  [
    ...readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8').matchAll(
      /^\| `([a-z_]+\.[a-z_]+)` \| \d{3} \|/gm,
    ),
  ].map((m) => m[1]!),
);

// ---------------------------------------------------------------------------------------------
// Principals. Each is refreshed (a new account, logged in) when a request finds it no longer
// works: a hostile pass may log it out, change its password or start its two-factor enrolment.

const PASSWORD = 'correct horse battery';
let seq = 0;
const unique = () => `${Date.now().toString(36)}${++seq}`;

interface Principal {
  headers: Record<string, string>;
  /** A request the principal answers 200 to while it still works. */
  probe: { method: Method; url: string };
  refresh(): Promise<void>;
}

let owner: Principal;
let staff: Principal;
const anonymous: Principal = {
  headers: {},
  probe: { method: 'GET', url: '/healthz' },
  refresh: async () => {},
};
let tenant: Awaited<ReturnType<typeof newTenant>>;
let victim: Awaited<ReturnType<typeof newTenant>>;
let target: Awaited<ReturnType<typeof newTenant>>;
let refreshes = 0;

async function sessionHeaders(login: string, password: string) {
  const { res, browser } = await loginAs(app, login, password);
  if (!browser) throw new Error(`login of ${login} failed: ${res.statusCode} ${res.body}`);
  return withSession(browser);
}

async function ownerPrincipal(tenantId: number): Promise<Principal> {
  const p: Principal = {
    headers: {},
    probe: { method: 'GET', url: '/v1/messages?limit=1' },
    async refresh() {
      refreshes++;
      const m = await newMember(t.db, tenantId, `owner-${unique()}@hostile.test`, 'owner', PASSWORD);
      p.headers = await sessionHeaders(m.email, PASSWORD);
    },
  };
  await p.refresh();
  return p;
}

async function staffPrincipal(): Promise<Principal> {
  const p: Principal = {
    headers: {},
    probe: { method: 'GET', url: '/v1/operator/tenants?limit=1' },
    async refresh() {
      refreshes++;
      // A hostile PUT /v1/operator/security may have required two-factor of every staff account.
      await t.db.pool.query('update security_settings set staff_require_two_factor = false');
      const s = await newStaff(t.db, `admin-${unique()}`, 'admin', PASSWORD);
      p.headers = await sessionHeaders(s.username, PASSWORD);
    },
  };
  await p.refresh();
  return p;
}

function principalFor(r: RoutePermissionEntry): Principal {
  if (r.permission === PUBLIC) return anonymous;
  return r.url.startsWith('/v1/operator/') ? staff : owner;
}

// ---------------------------------------------------------------------------------------------
// Valid requests: the shared tables, plus what this test needs that they lack or that must name
// this test's own fixtures (a login that exists, the owner's real password).

/** Decoy account for the public login routes: failed logins may lock it, never a principal. */
const DECOY = { email: 'decoy@hostile.test', password: PASSWORD };

/** A number no earlier request used: per-recipient cooldowns and caps must not refuse the base. */
const freshPhone = () => `+86137${String(++seq).padStart(8, '0')}`;

function bodyFor(key: string): unknown {
  const local: Record<string, unknown> = {
    // Unique per request, so the base request is not refused as taken and hostile values in the
    // other fields reach the write.
    'POST /v1/signatures': { name: `sig${++seq}`, source: 'company' },
    'POST /v1/operator/channels': { name: `c${unique()}`, host: 'h', system_id: 's' },
    'POST /v1/contacts': { phone: freshPhone() },
    'POST /v1/contacts/groups': { name: `g${unique()}` },
    'POST /v1/contacts/segments': {
      name: `s${unique()}`,
      filter: { match: 'all', conditions: [{ type: 'engaged', days: 1 }] },
    },
    'POST /v1/verifications': { to: freshPhone() },
    'POST /v1/auth/phone': { phone: freshPhone() },
    'POST /v1/auth/login': { login: DECOY.email, password: DECOY.password },
    'POST /v1/auth/login/two-factor': { challenge: 'x'.repeat(43), code: '000000' },
    'POST /v1/auth/reset': { email: DECOY.email, reset_code: '00000000', new_password: 'a-new-password-1' },
    'POST /v1/auth/reset-request': { login: DECOY.email },
    'POST /v1/auth/register': {
      company_name: 'Hostile Co',
      credit_code: '91350100M000100Y43',
      contact_name: 'n',
      contact_phone: '13800138000',
      contact_email: 'c@hostile.test',
      industry: 'retail',
      email: `reg-${unique()}@hostile.test`,
      password: 'a-new-password-1',
    },
    'POST /v1/auth/password': { current_password: PASSWORD, new_password: 'a-new-password-1' },
    'POST /v1/auth/two-factor/disable': { password: PASSWORD },
    'POST /v1/operator/billing/orders/:id/confirm': { reference: 'r' },
    'POST /v1/operator/tenants/:id/suspend': { reason: 'r' },
    'POST /v1/operator/short-links/:code/disable': { reason: 'r' },
    'POST /v1/operator/short-links/:code/enable': { reason: 'r' },
    'PATCH /v1/operator/compliance/settings': {},
    'PATCH /v1/operator/tenants/:id/protection': {},
    'POST /v1/smpp-accounts': { system_id: `hs${seq % 1000}` },
    'PATCH /v1/signatures/:id': { name: 'scope2' },
    'PATCH /v1/templates/:id': { name: 'scope2' },
    'PATCH /v1/contacts/:id': { name: 'n' },
    'PATCH /v1/contacts/groups/:id': { name: 'g2' },
    'PATCH /v1/contacts/segments/:id': { name: 's2' },
    'PATCH /v1/webhooks/endpoints/:id': { enabled: true },
    'PATCH /v1/operator/billing/packages/:id': { enabled: true },
    'PUT /v1/operator/security': { staff_require_two_factor: false },
  };
  return local[key] ?? validBodies[key];
}

/** A multipart form with one CSV file. */
const csvForm = (rows: string) => ({
  contentType: 'multipart/form-data; boundary=XyZ',
  payload: Buffer.from(
    `--XyZ\r\ncontent-disposition: form-data; name="file"; filename="a.csv"\r\n\r\n${rows}\r\n--XyZ--\r\n`,
  ),
});

const PDF = { contentType: 'application/pdf', payload: Buffer.from('%PDF-1.7\nhostile\n') };

/** Routes whose body is a file, not JSON: the body their valid request sends. */
const RAW_BODIES: Record<string, { contentType: string; payload: Buffer }> = {
  'POST /v1/contacts/imports': csvForm('phone\n13700138001\n'),
  'POST /v1/campaigns/audience-files': csvForm('phone\n13700138001\n1\n'),
  'POST /v1/tenant/documents': PDF,
  'POST /v1/signatures/:id/documents': PDF,
};

/** Values for path parameters: fixtures made in beforeAll, by URL prefix; "1" otherwise. */
const fixtureIds = new Map<string, string>();

/**
 * Path parameters of single routes, over the prefixes above: the signature and template routes
 * that edit need one still in review (the shared ones are approved by the operator's routes
 * first), and a document of it.
 */
const routeParams = new Map<string, Record<string, string>>();

function paramValue(key: string, url: string, name: string): string {
  const own = routeParams.get(key)?.[name];
  if (own !== undefined) return own;
  const prefix = url.slice(0, url.indexOf(`:${name}`) - 1);
  const special: Record<string, string> = {
    setId: 'prohibited_industries',
    number: '+8613800138000',
    code: 'abcdef',
  };
  if (special[name]) return special[name];
  return fixtureIds.get(prefix) ?? fixtureIds.get(prefix.replace('/v1/operator/', '/v1/')) ?? '1';
}

async function createFixtures() {
  /** A request that must succeed; the id of what it made or changed. A file body is `raw`. */
  const call = async (
    p: Principal,
    method: Method,
    url: string,
    payload?: unknown,
    raw?: { contentType: string; payload: Buffer },
  ) => {
    const res = await app.inject({
      method,
      url,
      headers: raw ? { ...p.headers, 'content-type': raw.contentType } : p.headers,
      ...(raw ? { payload: raw.payload } : payload === undefined ? {} : { payload: payload as object }),
    });
    const json = res.json() as Record<string, { id?: unknown }> & { id?: unknown };
    // The id at the top, or of the one object the answer wraps ({"endpoint":{"id":…},"secret":…}).
    const id =
      json.id ?? Object.values(json).find((v) => v !== null && typeof v === 'object' && 'id' in v)?.id;
    if (res.statusCode >= 300 || id === undefined)
      throw new Error(`fixture ${method} ${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    return String(id);
  };
  /** The same, its id the fixture of the URL's routes (fixtureIds). */
  const api = async (p: Principal, method: Method, url: string, payload?: unknown) => {
    const id = await call(p, method, url, payload);
    fixtureIds.set(url, id);
    return id;
  };
  const send = (url: string) => api(owner, 'POST', url, bodyFor(`POST ${url}`));
  await api(owner, 'POST', '/v1/messages', {
    to: '+8613800138000',
    content: 'seed',
    send_at: new Date(Date.now() + 86_400_000).toISOString(),
  });
  await api(owner, 'POST', '/v1/batches', {
    content: 'seed',
    send_at: new Date(Date.now() + 86_400_000).toISOString(),
    recipients: [{ to: '+8613800138000' }],
  });
  fixtureIds.set('/v1/operator/marketing-reviews', fixtureIds.get('/v1/batches')!);
  for (const url of [
    '/v1/signatures',
    '/v1/templates',
    '/v1/credentials',
    '/v1/smpp-accounts',
    '/v1/webhooks/endpoints',
    '/v1/verifications',
    '/v1/contacts',
    '/v1/contacts/groups',
    '/v1/contacts/segments',
  ])
    await send(url);
  await api(owner, 'POST', '/v1/campaigns', bodyFor('POST /v1/campaigns'));
  // Files: a tenant document, a contact import and an audience file, so the routes that read
  // them by id are reached with a real one.
  for (const [url, query] of [
    ['/v1/tenant/documents', '?kind=business_licence'],
    ['/v1/contacts/imports', ''],
    ['/v1/campaigns/audience-files', ''],
  ] as const)
    fixtureIds.set(url, await call(owner, 'POST', url + query, undefined, RAW_BODIES[`POST ${url}`]));
  routeParams.set('GET /v1/operator/tenants/:id/documents/:docId', {
    id: String(tenant.tenantId),
    docId: fixtureIds.get('/v1/tenant/documents')!,
  });
  // Signatures and templates for the routes that need one in a given state (the shared ones are
  // approved by the operator's routes before these run): in review (documents; the operator's
  // reject), rejected (the tenant's edit), and a document of the one in review.
  const newSignature = () => call(owner, 'POST', '/v1/signatures', bodyFor('POST /v1/signatures'));
  const newTemplate = () =>
    call(owner, 'POST', '/v1/templates', {
      ...(validBodies['POST /v1/templates'] as object),
      name: `t${unique()}`,
    });
  const [inReview, toReject, template, templateToReject] = [
    await newSignature(),
    await newSignature(),
    await newTemplate(),
    await newTemplate(),
  ];
  await call(staff, 'POST', `/v1/operator/signatures/${toReject}/reject`, { reason: 'r' });
  await call(staff, 'POST', `/v1/operator/templates/${templateToReject}/reject`, { reason: 'r' });
  const docId = await call(
    owner,
    'POST',
    `/v1/signatures/${inReview}/documents`,
    undefined,
    RAW_BODIES['POST /v1/signatures/:id/documents'],
  );
  for (const key of [
    'POST /v1/signatures/:id/documents',
    'GET /v1/signatures/:id/documents/:docId',
    'DELETE /v1/signatures/:id/documents/:docId',
    'GET /v1/operator/signatures/:id/documents/:docId',
    'POST /v1/operator/signatures/:id/reject',
  ])
    routeParams.set(key, { id: inReview, docId });
  routeParams.set('PATCH /v1/signatures/:id', { id: toReject });
  routeParams.set('PATCH /v1/templates/:id', { id: templateToReject });
  routeParams.set('POST /v1/operator/templates/:id/reject', { id: template });
  // Another member of the owner's tenant, for the member routes (so no pass removes the owner).
  const member = await newMember(t.db, tenant.tenantId, `member-${unique()}@hostile.test`, 'viewer');
  fixtureIds.set('/v1/members', String(member.id));
  fixtureIds.set('/v1/operator/tenants', String(target.tenantId));
  fixtureIds.set('/v1/operator/billing/tenants', String(target.tenantId));
  await newStaff(t.db, 'throwaway-staff', 'support');
  const s = await t.db.pool.query<{ id: string }>(
    `select id::text from operators where username = 'throwaway-staff'`,
  );
  fixtureIds.set('/v1/operator/staff', s.rows[0]!.id);
  // The shared bodies: the route names the channel "c" the shared channel body creates.
  for (const url of ['/v1/operator/channels', '/v1/operator/routes', '/v1/operator/billing/packages']) {
    await api(staff, 'POST', url, validBodies[`POST ${url}`]);
  }
  // Orders: the shared one (the operator's confirm takes it), and one for each cancel route.
  const order = () =>
    call(owner, 'POST', '/v1/billing/orders', {
      package_id: Number(fixtureIds.get('/v1/operator/billing/packages')),
    });
  const [cancelOwn, cancelStaff] = [await order(), await order()];
  fixtureIds.set('/v1/billing/orders', await order());
  routeParams.set('POST /v1/billing/orders/:id/cancel', { id: cancelOwn });
  routeParams.set('POST /v1/operator/billing/orders/:id/cancel', { id: cancelStaff });
  await newMember(t.db, target.tenantId, DECOY.email, 'viewer', DECOY.password);

  // Tenants for the operator's decisions: two registered (under review), one suspended.
  const registered = () => call(anonymous, 'POST', '/v1/auth/register', bodyFor('POST /v1/auth/register'));
  routeParams.set('POST /v1/operator/tenants/:id/approve', { id: await registered() });
  routeParams.set('POST /v1/operator/tenants/:id/reject', { id: await registered() });
  const suspended = await newTenant(ctx, 'suspended');
  await call(staff, 'POST', `/v1/operator/tenants/${suspended.tenantId}/suspend`, { reason: 'r' });
  routeParams.set('POST /v1/operator/tenants/:id/activate', { id: String(suspended.tenantId) });

  // Marketing batches held for review, one for each decision.
  const review = (on: boolean) =>
    app.inject({
      method: 'PATCH',
      url: `/v1/operator/tenants/${tenant.tenantId}/protection`,
      headers: staff.headers,
      // Quiet hours off meanwhile: a batch sent outside the sending hours would be held for them.
      payload: { marketing_review: on, quiet_hours: { enabled: !on } },
    });
  if ((await review(true)).statusCode !== 200) throw new Error('fixture: marketing review on');
  const heldBatch = async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: owner.headers,
      payload: {
        type: 'marketing',
        content: 'Sale today, reply STOP to opt out',
        recipients: [{ to: freshPhone() }],
      },
    });
    const { id, review } = res.json() as { id?: unknown; review?: unknown };
    if (res.statusCode >= 300 || id === undefined || review === null)
      throw new Error(`fixture marketing batch: ${res.statusCode} ${res.body.slice(0, 300)}`);
    return String(id);
  };
  routeParams.set('POST /v1/operator/marketing-reviews/:batchId/approve', { batchId: await heldBatch() });
  routeParams.set('POST /v1/operator/marketing-reviews/:batchId/reject', { batchId: await heldBatch() });
  if ((await review(false)).statusCode !== 200) throw new Error('fixture: marketing review off');
}

// ---------------------------------------------------------------------------------------------
// Hostile values.

const nasty = fc.constantFrom(...UNSTORABLE, ...AWKWARD);
const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nasty },
  { weight: 3, arbitrary: anyCodeUnits },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme' }) },
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 2 ** 31, 2 ** 53 + 1, 1e308, -1e308, 0.5),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(anyCodeUnits, fc.integer(), fc.constant(null)), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), anyCodeUnits, { maxKeys: 3 }),
);
/** Every one of these, in every body field, on every run. */
const FIXED_JSON: unknown[] = [
  '\u0000',
  'x\udfffy',
  'x'.repeat(70_000),
  // Digits as text: a name-or-id field looks them up as an id (CI found one that reached
  // PostgreSQL as 1e40 and answered 500).
  '9'.repeat(40),
  '9007199254740993',
  '2147483648',
  2 ** 31,
  1e308,
  -1e308,
  0.5,
  true,
  null,
  [],
  {},
];

/** Query and path text as it travels: percent-encoded UTF-8, or escapes that decode to nothing valid. */
const FIXED_URL_TEXT = [
  '%00',
  '%ED%A0%80',
  '%ff',
  '%',
  'Infinity',
  '1e400',
  '-1',
  '2147483648',
  '9'.repeat(40),
  'x'.repeat(2000),
];
const urlText = fc.oneof(
  anyCodeUnits.map(percentEncoded),
  nasty.filter((s) => s.length < 10_000).map(percentEncoded),
  fc.constantFrom(
    ...FIXED_URL_TEXT,
    '%zz',
    '2027-02-30T00:00:00Z',
    '%%',
    '%C0%80',
    'a%2',
    '+',
    '[]',
    '%2F..%2F',
    '1&limit=2',
    '%3F%23',
  ),
);
const rawBody = fc.oneof(
  // Bytes that are not UTF-8, or not JSON at all.
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.constantFrom(
    Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
    Buffer.from('{"a":"\\ud800"}'),
    Buffer.from('{"__proto__":{"x":1}}'),
    Buffer.from('{"constructor":{"prototype":{"x":1}}}'),
    Buffer.from('[1,2'),
    Buffer.from('"just a string"'),
    Buffer.from('null'),
    Buffer.from('[]'),
    Buffer.from(''),
  ),
);

// ---------------------------------------------------------------------------------------------
// Requests.

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
}

type Part = 'body' | 'query' | 'param' | 'extra key' | 'raw body' | 'whole body' | 'multipart';
type Path = (string | number)[];

interface Hostile {
  part: Part;
  field: string;
  value: unknown;
}

interface Field {
  part: 'body' | 'query' | 'param';
  path: Path;
}

/** A route's fields: body properties (and one level into objects and arrays of objects), query, params. */
function fieldsOf(r: RoutePermissionEntry): Field[] {
  const out: Field[] = [];
  const body = r.schema?.body as Schema | undefined;
  for (const [name, prop] of Object.entries(body?.properties ?? {})) {
    out.push({ part: 'body', path: [name] });
    for (const sub of Object.keys(prop.properties ?? {})) out.push({ part: 'body', path: [name, sub] });
    for (const sub of Object.keys(prop.items?.properties ?? {}))
      out.push({ part: 'body', path: [name, 0, sub] });
  }
  for (const name of Object.keys((r.schema?.querystring as Schema | undefined)?.properties ?? {}))
    out.push({ part: 'query', path: [name] });
  const params = (r.schema?.params as Schema | undefined)?.properties ?? {};
  const inUrl = [...r.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!);
  for (const name of new Set([...Object.keys(params), ...inUrl])) out.push({ part: 'param', path: [name] });
  return out;
}

function setPath(target: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (typeof head === 'number') {
    const list = Array.isArray(target) ? [...(target as unknown[])] : [];
    list[head] = setPath(list[head], rest, value);
    return list;
  }
  const obj =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  obj[head!] = setPath(obj[head!], rest, value);
  return obj;
}

const hasBody = (r: RoutePermissionEntry) => r.method !== 'GET' && r.method !== 'DELETE';
const isMultipartRoute = (r: RoutePermissionEntry) =>
  /\/(imports?|documents|audience-files)(\/|$)/.test(r.url) && r.method === 'POST' && !r.schema?.body;

interface Built {
  url: string;
  payload?: Buffer | string;
  contentType?: string;
}

function build(r: RoutePermissionEntry, hostile: Hostile | null): Built {
  const key = `${r.method} ${r.url}`;
  let url = r.url.replace(/:([A-Za-z_]+)/g, (_, name: string) =>
    hostile?.part === 'param' && hostile.field === name
      ? String(hostile.value)
      : encodeURIComponent(paramValue(key, r.url, name)),
  );
  const query = new URLSearchParams(validQueries[key]?.replace(/^\?/, '') ?? '');
  let queryText = query.toString();
  if (hostile?.part === 'query') {
    query.delete(hostile.field);
    queryText = [query.toString(), `${hostile.field}=${String(hostile.value)}`].filter(Boolean).join('&');
  }
  if (queryText) url += `?${queryText}`;
  const base = bodyFor(key);
  const json = (value: unknown): Built => ({
    url,
    payload: JSON.stringify(value),
    contentType: 'application/json',
  });
  switch (hostile?.part) {
    case 'body':
      return json(
        setPath(
          base ?? {},
          hostile.field.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
          hostile.value,
        ),
      );
    case 'extra key':
      return json({ ...((base ?? {}) as object), [String(hostile.value)]: 1 });
    case 'whole body':
      return json(hostile.value);
    case 'raw body':
      return { url, payload: hostile.value as Buffer, contentType: 'application/json' };
    case 'multipart':
      return { url, payload: String(hostile.value), contentType: 'multipart/form-data; boundary=XyZ' };
  }
  const raw = RAW_BODIES[key];
  if (raw) return { url, payload: raw.payload, contentType: raw.contentType };
  if (base !== undefined) return json(base);
  return { url };
}

const label = (h: Hostile) => {
  const v = h.value;
  const shown = Buffer.isBuffer(v)
    ? `<bytes ${v.toString('hex').slice(0, 80)}>`
    : (JSON.stringify(v) ?? String(v));
  return `${h.part} ${h.field} = ${shown.length > 120 ? `${shown.slice(0, 120)}…(${shown.length})` : shown}`;
};

function hostileFor(r: RoutePermissionEntry): { arbitrary: fc.Arbitrary<Hostile>; fixed: Hostile[] } {
  const fields = fieldsOf(r);
  const arbs: fc.Arbitrary<Hostile>[] = [];
  const fixed: Hostile[] = [];
  for (const f of fields) {
    const field = f.path.join('.');
    if (f.part === 'body') {
      arbs.push(jsonValue.map((value) => ({ part: 'body', field, value })));
      for (const value of FIXED_JSON) fixed.push({ part: 'body', field, value });
    } else {
      arbs.push(urlText.map((value) => ({ part: f.part, field, value })));
      for (const value of FIXED_URL_TEXT) fixed.push({ part: f.part, field, value });
    }
  }
  if (r.schema?.body) {
    arbs.push(
      fc.oneof(anyCodeUnits, nasty).map((value) => ({ part: 'extra key', field: '(unknown)', value })),
    );
    fixed.push({ part: 'extra key', field: '(unknown)', value: '__proto__' });
    arbs.push(jsonValue.map((value) => ({ part: 'whole body', field: '(body)', value })));
    for (const value of [null, [], 'x', 1]) fixed.push({ part: 'whole body', field: '(body)', value });
  }
  if (hasBody(r)) {
    arbs.push(rawBody.map((value) => ({ part: 'raw body', field: '(bytes)', value })));
    fixed.push({ part: 'raw body', field: '(bytes)', value: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) });
  }
  if (isMultipartRoute(r)) {
    const parts = [
      '',
      '--XyZ\r\n',
      '--XyZ--\r\n',
      '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n\u0000\r\n--XyZ--\r\n',
      '--XyZ\r\nContent-Disposition: form-data; name="mapping"\r\n\r\n{"x":\r\n--XyZ--\r\n',
      '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.xlsx"\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\nPK\u0003\u0004junk\r\n--XyZ--\r\n',
      '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nphone\r\n13800138000\r\n',
    ];
    for (const value of parts) fixed.push({ part: 'multipart', field: '(form)', value });
  }
  if (arbs.length === 0) {
    // No field at all (GET /v1/billing/balance): junk in a query string the route does not take.
    arbs.push(urlText.map((value) => ({ part: 'query', field: 'x', value })));
    fixed.push({ part: 'query', field: 'x', value: '%00' });
  }
  return { arbitrary: fc.oneof(...arbs), fixed };
}

// ---------------------------------------------------------------------------------------------
// Sending and checking.

const reached = new Map<string, number>();
/** Routes that answered a success (below 400) at least once. */
const succeeded = new Set<string>();

/**
 * Routes whose valid request cannot succeed in this test, and why: each refuses it by a rule of
 * state the fixtures do not reach (a code sent by SMS or e-mail, a review already decided, a
 * resource no route here creates). Every other route must answer a success at least once.
 */
const ONLY_REFUSED: Record<string, string> = {
  'POST /v1/signatures/:id/default': 'the default must be approved; the approved one is already it',
  'POST /v1/auth/login/two-factor': 'a challenge from a login with two-factor',
  'POST /v1/auth/reset': 'a reset code sent by e-mail',
  'POST /v1/auth/two-factor/confirm': 'a code from the enrolment’s authenticator',
  'POST /v1/auth/phone/confirm': 'a code sent by SMS',
  'POST /v1/auth/two-factor/disable': 'two-factor is not on',
  'DELETE /v1/auth/sessions/:id': 'another session of the owner’s (its own would log it out)',
  'PATCH /v1/tenant': 'an approved tenant’s profile is locked',
  'POST /v1/tenant/resubmit': 'only a rejected tenant resubmits',
  'GET /v1/webhooks/deliveries/:id': 'a webhook delivery (an event to a subscribed endpoint)',
  'POST /v1/webhooks/deliveries/:id/replay': 'a webhook delivery',
  'POST /v1/campaigns/:id/runs/:runId/choose': 'an A/B run of a started campaign',
  'GET /v1/operator/short-links/:code': 'a short link (a sent campaign with a link)',
  'POST /v1/operator/short-links/:code/enable': 'a short link',
  'POST /v1/operator/short-links/:code/disable': 'a short link',
  'POST /v1/verifications/check': 'the code of a verification (sent by SMS)',
};
const failures: string[] = [];
let hostileRequests = 0;

async function inject(r: RoutePermissionEntry, p: Principal, b: Built): Promise<LightMyRequestResponse> {
  hostileRequests++;
  return app.inject({
    method: r.method as Method,
    url: b.url,
    // Failed logins and reset requests count per address: keep them away from the fixtures' logins.
    remoteAddress: '198.51.100.7',
    headers: { ...p.headers, ...(b.contentType ? { 'content-type': b.contentType } : {}) },
    ...(b.payload === undefined ? {} : { payload: b.payload }),
  });
}

async function stillWorks(p: Principal): Promise<boolean> {
  const res = await app.inject({ ...p.probe, headers: p.headers });
  return res.statusCode === 200;
}

/** Why an answer is wrong, or null. */
function problem(res: LightMyRequestResponse): string | null {
  if (res.statusCode >= 500) return `status ${res.statusCode}: ${res.body.slice(0, 300)}`;
  if (res.statusCode < 400) return null;
  let body: { error?: { code?: unknown; message?: unknown } };
  try {
    body = res.json();
  } catch {
    return `status ${res.statusCode} with a body that is not JSON: ${res.body.slice(0, 200)}`;
  }
  const e = body?.error;
  if (typeof e?.code !== 'string' || typeof e.message !== 'string')
    return `status ${res.statusCode} not in the shape {"error":{"code","message"}}: ${res.body.slice(0, 300)}`;
  if (!DOCUMENTED_CODES.has(e.code))
    return `status ${res.statusCode}, code ${e.code} is not in docs/errors.md`;
  return null;
}

async function sendHostile(r: RoutePermissionEntry, hostile: Hostile | null): Promise<void> {
  const p = principalFor(r);
  const b = build(r, hostile);
  let res = await inject(r, p, b);
  const first = problem(res);
  if (first) throw new Error(first);
  // Refused as unauthenticated or forbidden: if the principal no longer works (a hostile pass
  // logged it out, or changed what it may do), make a new one and send again.
  if ((res.statusCode === 401 || res.statusCode === 403) && p !== anonymous && !(await stillWorks(p))) {
    await p.refresh();
    res = await inject(r, p, b);
    const again = problem(res);
    if (again) throw new Error(`after refreshing the principal: ${again}`);
  }
  const code = res.statusCode >= 400 ? (res.json() as { error: { code: string } }).error.code : null;
  if (res.statusCode < 400) succeeded.add(`${r.method} ${r.url}`);
  if (res.statusCode !== 401 && res.statusCode !== 403 && code !== 'request.not_found') {
    const k = `${r.method} ${r.url}`;
    reached.set(k, (reached.get(k) ?? 0) + 1);
  }
}

/** Routes whose passes change global state another route's pass or the victim depends on. */
async function afterRoute(r: RoutePermissionEntry) {
  if (r.url === '/v1/operator/security')
    await t.db.pool.query('update security_settings set staff_require_two_factor = false');
}

// Routes that remove what later routes use go last; within each group, table order.
const order = (r: RoutePermissionEntry) =>
  r.method === 'DELETE' ? 2 : /\/(suspend|reject|revoke|disable|cancel|logout)$/.test(r.url) ? 1 : 0;

/** HOSTILE_RUNS=200 npx vitest run test/http-hostile-routes.test.ts digs deeper by hand. */
const RUNS_PER_ROUTE = Number(process.env.HOSTILE_RUNS ?? 10);
const TIMEOUT = 120_000 * Math.max(1, RUNS_PER_ROUTE / 100);

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db));
  tenant = await newTenant(ctx, 'hostile owner');
  victim = await newTenant(ctx, 'victim');
  target = await newTenant(ctx, 'operator target');
  owner = await ownerPrincipal(tenant.tenantId);
  staff = await staffPrincipal();
  await createFixtures();
  refreshes = 0;
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

describe('hostile input on every /v1 route of the route table', () => {
  it(
    'never answers 5xx, answers errors in the documented shape, and never fails another tenant’s concurrent sends',
    async () => {
      const routes = [...app.v1Routes].sort((a, b) => order(a) - order(b));
      expect(routes.length).toBeGreaterThan(200);

      // The victim: well-formed single sends, two at a time, for as long as the hostile pass runs.
      let running = true;
      const good: { id: string; content: string; status: number; body: string }[] = [];
      let n = 0;
      const sender = async () => {
        while (running) {
          const i = n++;
          const content = `good ${i}`;
          const res = await app.inject({
            method: 'POST',
            url: '/v1/messages',
            headers: victim.auth,
            // Each to its own number: recipient frequency caps must not be what refuses the victim.
            payload: { to: `+86139${String(i).padStart(8, '0')}`, content },
          });
          good.push({ id: res.json().id, content, status: res.statusCode, body: res.body.slice(0, 300) });
        }
      };
      const senders = [sender(), sender()];

      const started = Date.now();
      try {
        for (const r of routes) {
          const { arbitrary, fixed } = hostileFor(r);
          // The valid request once, so a route is reached even when every hostile value is refused.
          for (const h of [null, ...fixed]) {
            try {
              await sendHostile(r, h);
            } catch (e) {
              failures.push(
                `${r.method} ${r.url} — ${h ? label(h) : 'valid request'}: ${(e as Error).message}`,
              );
            }
          }
          const details = await fc.check(
            fc.asyncProperty(arbitrary, (h) => sendHostile(r, h)),
            { numRuns: RUNS_PER_ROUTE },
          );
          if (details.failed) {
            const h = details.counterexample?.[0];
            failures.push(
              `${r.method} ${r.url} — ${h ? label(h) : '?'} (seed ${details.seed}, path ${details.counterexamplePath}): ${String((details.errorInstance as Error | undefined)?.message ?? details.errorInstance)}`,
            );
          }
          await afterRoute(r);
        }
      } finally {
        running = false;
        await Promise.all(senders);
      }
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `${routes.length} routes, ${hostileRequests} hostile requests, ${good.length} concurrent good sends, ${refreshes} principal refreshes, ${seconds.toFixed(1)} s`,
      );

      expect.soft(failures).toEqual([]);
      // Every route answered something other than 401/403 at least once: a broken fixture or
      // principal cannot make this pass by having every request refused before the route runs.
      const unreached = routes.map((r) => `${r.method} ${r.url}`).filter((k) => !reached.has(k));
      expect.soft(unreached).toEqual([]);
      // And every route but those listed answered a success at least once: its valid request, or
      // a hostile value it took, went all the way through the handler and its writes.
      const neverSucceeded = routes.map((r) => `${r.method} ${r.url}`).filter((k) => !succeeded.has(k));
      expect.soft(neverSucceeded.sort()).toEqual(Object.keys(ONLY_REFUSED).sort());

      // Each good send accepted, and its own message stored for the victim.
      expect.soft(good.filter((g) => g.status !== 202)).toEqual([]);
      expect(good.length).toBeGreaterThan(100);
      const stored = await t.db.pool.query<{ id: string; content: string; tenant_id: string }>(
        'select id::text, content, tenant_id::text from messages where id = any($1::bigint[])',
        [good.map((g) => g.id)],
      );
      const byId = new Map(stored.rows.map((row) => [row.id, row]));
      for (const g of good) {
        const row = byId.get(g.id);
        expect({ id: g.id, tenant: row?.tenant_id, ownContent: row?.content.endsWith(g.content) }).toEqual({
          id: g.id,
          tenant: String(victim.tenantId),
          ownContent: true,
        });
      }
      // About 25 s alone on two cores; the margin is for a machine busy with other work.
    },
    TIMEOUT,
  );
});
