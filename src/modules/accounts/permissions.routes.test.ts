// The permission table against the real route table: every /v1 route declares a permission, and
// tenant principals (bearer keys and member sessions of every role) get 403 on every operator route,
// and a signed credential reaches a route only through the scope its permission names.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { validBodies, validQueries } from '../../../test/helpers/valid-requests.ts';
import { canonicalString, SCOPES, sha256Hex, sign } from '../credentials/credentials.models.ts';
import {
  isPermission,
  isStaffOnly,
  type Permission,
  PUBLIC,
  scopeFor,
  TENANT_ROLES,
} from './permissions.models.ts';
import { loginAs, newMember, newStaff, withSession } from './accounts.testkit.ts';

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

const concreteUrl = (url: string) => url.replace(/:[^/]+/g, '1');

describe('route table', () => {
  it('has every /v1 route declare a known permission (or "public")', () => {
    expect(app.v1Routes.length).toBeGreaterThan(10);
    const undeclared = app.v1Routes.filter((r) => !isPermission(r.permission));
    expect(undeclared).toEqual([]);
  });

  it('gives every /v1/operator route a staff-only permission', () => {
    const operatorRoutes = app.v1Routes.filter((r) => r.url.startsWith('/v1/operator/'));
    expect(operatorRoutes.length).toBeGreaterThanOrEqual(4);
    for (const r of operatorRoutes)
      expect({ ...r, staffOnly: isStaffOnly(r.permission as Permission) }).toMatchObject({ staffOnly: true });
  });

  it('answers 403 to a bearer key and to a session of every tenant role on every operator route', async () => {
    const tenant = await newTenant(ctx, 'T');
    const principals: [string, Record<string, string>][] = [['bearer key', tenant.auth]];
    for (const role of TENANT_ROLES) {
      const m = await newMember(t.db, tenant.tenantId, `${role}@t.cn`, role);
      const { browser } = await loginAs(app, m.email, m.password);
      principals.push([`${role} session`, withSession(browser!)]);
    }
    const operatorRoutes = app.v1Routes.filter((r) => r.url.startsWith('/v1/operator/'));
    for (const [who, headers] of principals) {
      for (const r of operatorRoutes) {
        const res = await app.inject({
          method: r.method as 'GET',
          url: concreteUrl(r.url),
          headers,
          ...(r.method === 'GET' ? {} : { payload: {} }),
        });
        // Validation runs before the pre-handler; send a valid body where the schema needs one.
        const answer = res.statusCode === 400 ? await retryWithValidBody(r, headers) : res;
        expect({
          who,
          route: `${r.method} ${r.url}`,
          status: answer.statusCode,
          code: answer.json().error?.code,
        }).toEqual({
          who,
          route: `${r.method} ${r.url}`,
          status: 403,
          code: 'auth.forbidden',
        });
      }
    }
  });

  it('answers 403 to a signed credential with every scope on every operator route', async () => {
    const tenant = await newTenant(ctx, 'Signed');
    const created = await app.inject({
      method: 'POST',
      url: '/v1/credentials',
      headers: tenant.auth,
      payload: { name: 'all', scopes: ['send', 'read', 'templates', 'billing', 'webhooks'] },
    });
    const appKey: string = created.json().credential.app_key;
    const secret: string = created.json().app_secret;
    for (const r of app.v1Routes.filter((x) => x.url.startsWith('/v1/operator/'))) {
      const res = await signedInject({ appKey, secret }, r, validBodies[`${r.method} ${r.url}`] ?? {});
      expect({ route: `${r.method} ${r.url}`, status: res.statusCode }).toEqual({
        route: `${r.method} ${r.url}`,
        status: 403,
      });
    }
  });

  it('opens each route to a signed credential with one scope exactly when its permission names that scope', async () => {
    const tenant = await newTenant(ctx, 'Scoped');
    const routes = app.v1Routes.filter((r) => r.permission !== PUBLIC);
    for (const scope of SCOPES) {
      const created = await app.inject({
        method: 'POST',
        url: '/v1/credentials',
        headers: tenant.auth,
        payload: { name: `only-${scope}`, scopes: [scope] },
      });
      const pair = { appKey: created.json().credential.app_key, secret: created.json().app_secret };
      for (const r of routes) {
        const opens = scopeFor(r.permission as Permission) === scope;
        let res = await signedInject(pair, r, {});
        // Validation runs before the pre-handler; send a valid body where the schema needs one.
        if (res.statusCode === 400) {
          const payload = validBodies[`${r.method} ${r.url}`];
          if (payload === undefined) throw new Error(`no valid body known for ${r.method} ${r.url}: add one`);
          res = await signedInject(pair, r, payload);
        }
        const route = `${r.method} ${r.url}`;
        if (opens) expect({ scope, route, status: res.statusCode }).not.toMatchObject({ status: 403 });
        else
          expect({ scope, route, status: res.statusCode, code: res.json().error?.code }).toEqual({
            scope,
            route,
            status: 403,
            code: 'auth.scope_denied',
          });
      }
    }
  });

  it('lets staff read tenants and refuses them tenant routes', async () => {
    const s = await newStaff(t.db, 'reviewer1', 'reviewer');
    const { browser } = await loginAs(app, s.username, s.password);
    const tenants = await app.inject({
      method: 'GET',
      url: '/v1/operator/tenants',
      headers: withSession(browser!),
    });
    expect(tenants.statusCode).toBe(200);
    const create = await app.inject({
      method: 'POST',
      url: '/v1/operator/tenants',
      headers: withSession(browser!),
      payload: { name: 'x' },
    });
    expect(create.statusCode).toBe(403);
    const messages = await app.inject({ method: 'GET', url: '/v1/messages', headers: withSession(browser!) });
    expect(messages.statusCode).toBe(403);
  });
});

describe('the operator tenant list', () => {
  it('pages newest first with limit and before, and filters by status and part of the name', async () => {
    const tag = randomBytes(4).toString('hex');
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await newTenant(ctx, `Paged ${tag} ${i}`));
    await t.db.pool.query(`update tenants set status = 'suspended' where id = $1`, [made[1]!.tenantId]);
    const s = await newStaff(t.db, `pager${tag}`, 'reviewer');
    const { browser } = await loginAs(app, s.username, s.password);
    const list = async (query: string) => {
      const res = await app.inject({
        method: 'GET',
        url: `/v1/operator/tenants?${query}`,
        headers: withSession(browser!),
      });
      return { status: res.statusCode, body: res.json() };
    };
    const ids = (r: { body: { data: { id: string | number }[] } }) => r.body.data.map((x) => Number(x.id));
    const mine = made.map((m) => m.tenantId).reverse();
    const first = await list(`q=${tag.toUpperCase()}&limit=2`);
    expect([first.status, ids(first)]).toEqual([200, mine.slice(0, 2)]);
    const second = await list(`q=${tag}&limit=2&before=${mine[1]}`);
    expect(ids(second)).toEqual(mine.slice(2, 4));
    const last = await list(`q=${tag}&limit=2&before=${mine[3]}`);
    expect(ids(last)).toEqual(mine.slice(4));
    expect(ids(await list(`q=${tag}&status=suspended&limit=10`))).toEqual([made[1]!.tenantId]);
    // Without limit, the whole list by id, as before.
    expect(ids(await list(`q=${tag}`))).toEqual([...mine].reverse());
    for (const bad of ['limit=0', 'limit=501', 'before=abc', 'status=gone', 'q='])
      expect((await list(bad)).body.error.code, bad).toBe('request.invalid');
  });
});

describe('OpenAPI', () => {
  it('documents the account routes and the session cookie scheme', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    for (const path of [
      '/v1/auth/login',
      '/v1/auth/two-factor/confirm',
      '/v1/members/{id}',
      '/v1/operator/tenants',
      '/v1/audit',
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
    expect(doc.components.securitySchemes.session).toMatchObject({
      type: 'apiKey',
      in: 'cookie',
      name: 'hy_session',
    });
  });
});

async function signedInject(
  { appKey, secret }: { appKey: string; secret: string },
  r: { method: string; url: string },
  body: unknown,
) {
  const url = concreteUrl(r.url) + (validQueries[`${r.method} ${r.url}`] ?? '');
  const payload = r.method === 'GET' ? '' : JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(12).toString('base64url');
  const canonical = canonicalString({
    method: r.method,
    url,
    bodySha256: sha256Hex(payload),
    timestamp,
    nonce,
  });
  return app.inject({
    method: r.method as 'GET',
    url,
    headers: {
      'x-hy-key': appKey,
      'x-hy-timestamp': timestamp,
      'x-hy-nonce': nonce,
      'x-hy-signature': sign(secret, canonical),
      ...(payload ? { 'content-type': 'application/json' } : {}),
    },
    ...(payload ? { payload } : {}),
  });
}

async function retryWithValidBody(r: { method: string; url: string }, headers: Record<string, string>) {
  const key = `${r.method} ${r.url}`;
  const query = validQueries[key];
  if (r.method === 'GET' && query !== undefined)
    return app.inject({ method: 'GET', url: concreteUrl(r.url) + query, headers });
  const payload = validBodies[key];
  if (payload === undefined) throw new Error(`no valid body known for ${key}: add one`);
  return app.inject({
    method: r.method as 'POST',
    url: concreteUrl(r.url) + (query ?? ''),
    headers,
    payload: payload as object,
  });
}
