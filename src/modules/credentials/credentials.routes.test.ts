// Signed requests through the real server (Fastify inject with real headers and source addresses).
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { canonicalString, sha256Hex, sign } from './credentials.models.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let tenantA: Awaited<ReturnType<typeof newTenant>>;
let tenantB: Awaited<ReturnType<typeof newTenant>>;
let nowMs = Date.parse('2026-11-30T05:00:00Z');
const clock = { now: () => new Date(nowMs) };
const MASTER_KEY = randomBytes(32).toString('base64');

interface Pair {
  id: number;
  appKey: string;
  secret: string;
}

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock, env: { HONGYAN_MASTER_KEY: MASTER_KEY } }));
  tenantA = await newTenant(ctx, 'A');
  tenantB = await newTenant(ctx, 'B');
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

async function createPair(
  body: Record<string, unknown>,
  auth: Record<string, string> = tenantA.auth,
): Promise<Pair> {
  const res = await app.inject({ method: 'POST', url: '/v1/credentials', headers: auth, payload: body });
  expect(res.statusCode).toBe(201);
  const json = res.json();
  return { id: json.credential.id, appKey: json.credential.app_key, secret: json.app_secret };
}

function signedHeaders(
  pair: Pair,
  {
    method,
    url,
    body = '',
    timestamp,
    nonce,
  }: { method: string; url: string; body?: string; timestamp?: string; nonce?: string },
) {
  const ts = timestamp ?? String(Math.floor(nowMs / 1000));
  const n = nonce ?? randomBytes(12).toString('base64url');
  const canonical = canonicalString({ method, url, bodySha256: sha256Hex(body), timestamp: ts, nonce: n });
  return {
    'x-hy-key': pair.appKey,
    'x-hy-timestamp': ts,
    'x-hy-nonce': n,
    'x-hy-signature': sign(pair.secret, canonical),
  };
}

// A new recipient each send: recipient protection caps the sends to one number.
let recipients = 0;
const sms = () =>
  JSON.stringify({
    to: String(13_800_000_000 + ++recipients),
    content: '【鸿雁】您的验证码是 123456',
    type: 'verification',
  });

function signedSend(
  pair: Pair,
  opts: {
    body?: string;
    signedBody?: string;
    nonce?: string;
    timestamp?: string;
    remoteAddress?: string;
  } = {},
) {
  const body = opts.body ?? sms();
  const headers = signedHeaders(pair, {
    method: 'POST',
    url: '/v1/messages',
    body: opts.signedBody ?? body,
    ...(opts.nonce ? { nonce: opts.nonce } : {}),
    ...(opts.timestamp ? { timestamp: opts.timestamp } : {}),
  });
  return app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: { ...headers, 'content-type': 'application/json' },
    payload: body,
    ...(opts.remoteAddress ? { remoteAddress: opts.remoteAddress } : {}),
  });
}

const code = (res: { json(): { error?: { code: string } } }) => res.json().error?.code;

describe('signed requests', () => {
  it("a good signature sends as the credential's tenant, and the secret is stored sealed", async () => {
    const pair = await createPair({ name: 'backend', scopes: ['send', 'read'] });
    const res = await signedSend(pair);
    expect(res.statusCode).toBe(202);
    const row = await t.db.pool.query('select tenant_id from messages where id = $1', [res.json().id]);
    expect(Number(row.rows[0].tenant_id)).toBe(tenantA.tenantId);
    const stored = await t.db.pool.query('select secret_sealed from api_credentials where id = $1', [
      pair.id,
    ]);
    expect(stored.rows[0].secret_sealed).toMatch(/^v1:[0-9a-f]{8}:/);
    expect(stored.rows[0].secret_sealed).not.toContain(pair.secret);
  });

  it('a GET with a query string in any order verifies against the sorted query', async () => {
    const pair = await createPair({ name: 'reader', scopes: ['read'] });
    const headers = signedHeaders(pair, { method: 'GET', url: '/v1/messages?limit=2&phone=13800138000' });
    const res = await app.inject({ method: 'GET', url: '/v1/messages?limit=2&phone=13800138000', headers });
    expect(res.statusCode).toBe(200);
  });

  it('the same nonce a second time is refused as a replay', async () => {
    const pair = await createPair({ name: 'replay', scopes: ['send'] });
    const nonce = 'replayed-nonce-0001';
    expect((await signedSend(pair, { nonce })).statusCode).toBe(202);
    const again = await signedSend(pair, { nonce });
    expect(again.statusCode).toBe(401);
    expect(code(again)).toBe('auth.nonce_replayed');
  });

  it('the same nonce sent at once to this node and to another node is accepted once', async () => {
    const pair = await createPair({ name: 'two-nodes', scopes: ['send'] });
    const other = await buildTestApp(t.db, { clock, env: { HONGYAN_MASTER_KEY: MASTER_KEY } });
    try {
      const nonce = 'two-nodes-nonce-0001';
      const body = sms();
      const headers = {
        ...signedHeaders(pair, { method: 'POST', url: '/v1/messages', body, nonce }),
        'content-type': 'application/json',
      };
      const request = { method: 'POST' as const, url: '/v1/messages', headers, payload: body };
      const answers = await Promise.all([
        app.inject(request),
        app.inject(request),
        other.app.inject(request),
        other.app.inject(request),
      ]);
      const statuses = answers.map((r) => r.statusCode).sort();
      expect(statuses).toEqual([202, 401, 401, 401]);
      for (const r of answers.filter((a) => a.statusCode === 401))
        expect(code(r)).toBe('auth.nonce_replayed');
    } finally {
      await other.app.close();
    }
  });

  it('a timestamp 301 s off either way is refused as skewed; 299 s is accepted', async () => {
    const pair = await createPair({ name: 'skew', scopes: ['send'] });
    const s = Math.floor(nowMs / 1000);
    for (const off of [301, -301]) {
      const res = await signedSend(pair, { timestamp: String(s + off) });
      expect(res.statusCode).toBe(401);
      expect(code(res)).toBe('auth.timestamp_skewed');
    }
    expect((await signedSend(pair, { timestamp: String(s - 299) })).statusCode).toBe(202);
  });

  it('a body other than the one signed is refused and nothing is stored', async () => {
    const pair = await createPair({ name: 'tamper', scopes: ['send'] });
    const before = (await t.db.pool.query('select count(*)::int as n from messages')).rows[0].n;
    const body = sms();
    const res = await signedSend(pair, { signedBody: body, body: body.replace('123456', '999999') });
    expect(res.statusCode).toBe(401);
    expect(code(res)).toBe('auth.signature_invalid');
    expect((await t.db.pool.query('select count(*)::int as n from messages')).rows[0].n).toBe(before);
  });

  it('a wrong secret and an unknown AppKey both answer signature_invalid', async () => {
    const pair = await createPair({ name: 'wrong', scopes: ['send'] });
    const wrongSecret = await signedSend({ ...pair, secret: 'not-the-secret' });
    expect(code(wrongSecret)).toBe('auth.signature_invalid');
    const unknown = await signedSend({ ...pair, appKey: 'ak_00000000000000000000' });
    expect(code(unknown)).toBe('auth.signature_invalid');
  });

  it('the allowlist admits its IPv4 and IPv6 ranges and refuses another address', async () => {
    const pair = await createPair({
      name: 'office',
      scopes: ['send'],
      allow: ['203.0.113.0/24', '2001:db8::/32'],
    });
    expect((await signedSend(pair, { remoteAddress: '203.0.113.77' })).statusCode).toBe(202);
    expect((await signedSend(pair, { remoteAddress: '2001:db8:1::9' })).statusCode).toBe(202);
    const outside = await signedSend(pair, { remoteAddress: '198.51.100.7' });
    expect(outside.statusCode).toBe(403);
    expect(code(outside)).toBe('auth.ip_not_allowed');
    const outside6 = await signedSend(pair, { remoteAddress: '2001:db9::1' });
    expect(code(outside6)).toBe('auth.ip_not_allowed');
  });

  it("PATCH replaces a live credential's allowlist, checked at once; a bad CIDR, a revoked or another tenant's credential is refused", async () => {
    const pair = await createPair({ name: 'moved', scopes: ['send'], allow: ['203.0.113.0/24'] });
    const patchAllow = (allow: unknown, id = pair.id, auth = tenantA.auth) =>
      app.inject({ method: 'PATCH', url: `/v1/credentials/${id}`, headers: auth, payload: { allow } });
    expect(code(await signedSend(pair, { remoteAddress: '198.51.100.7' }))).toBe('auth.ip_not_allowed');
    const moved = await patchAllow([' 198.51.100.0/24 ', '2001:db8::/32']);
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({ id: pair.id, allow: ['198.51.100.0/24', '2001:db8::/32'] });
    expect((await signedSend(pair, { remoteAddress: '198.51.100.7' })).statusCode).toBe(202);
    expect(code(await signedSend(pair, { remoteAddress: '203.0.113.77' }))).toBe('auth.ip_not_allowed');

    const bad = await patchAllow(['10.0.0.0/33']);
    expect([bad.statusCode, code(bad)]).toEqual([400, 'credentials.invalid']);
    expect((await patchAllow([])).json().allow).toEqual([]);
    expect((await signedSend(pair, { remoteAddress: '203.0.113.77' })).statusCode).toBe(202);

    const bPair = await createPair({ name: 'b-allow', scopes: ['send'] }, tenantB.auth);
    expect(code(await patchAllow(['192.0.2.0/24'], bPair.id))).toBe('credentials.not_found');
    await app.inject({ method: 'POST', url: `/v1/credentials/${pair.id}/revoke`, headers: tenantA.auth });
    expect(code(await patchAllow(['192.0.2.0/24']))).toBe('credentials.not_found');
  });

  it('a credential without the send scope cannot send, yet reads', async () => {
    const pair = await createPair({ name: 'read-only', scopes: ['read'] });
    const res = await signedSend(pair);
    expect(res.statusCode).toBe(403);
    expect(code(res)).toBe('auth.scope_denied');
    const headers = signedHeaders(pair, { method: 'GET', url: '/v1/replies' });
    expect((await app.inject({ method: 'GET', url: '/v1/replies', headers })).statusCode).toBe(200);
  });

  it('no scope opens credential management to a signed credential', async () => {
    const pair = await createPair({
      name: 'all',
      scopes: ['send', 'read', 'templates', 'billing', 'webhooks'],
    });
    const headers = signedHeaders(pair, { method: 'GET', url: '/v1/credentials' });
    const res = await app.inject({ method: 'GET', url: '/v1/credentials', headers });
    expect(res.statusCode).toBe(403);
    expect(code(res)).toBe('auth.scope_denied');
  });

  it('rotation: old and new both work until the old is revoked, then only the new', async () => {
    const old = await createPair({ name: 'rotating', scopes: ['send'] });
    const rotated = await app.inject({
      method: 'POST',
      url: `/v1/credentials/${old.id}/rotate`,
      headers: tenantA.auth,
    });
    expect(rotated.statusCode).toBe(201);
    const json = rotated.json();
    expect(json.credential).toMatchObject({ name: 'rotating', scopes: ['send'], rotated_from: old.id });
    const fresh: Pair = { id: json.credential.id, appKey: json.credential.app_key, secret: json.app_secret };
    expect(fresh.appKey).not.toBe(old.appKey);
    // A rotated credential has a Twilio form of its own, shown in the API (migration 0024).
    expect(json.credential.twilio_account_sid).toMatch(/^AC[0-9a-f]{32}$/);
    const listed = (
      await app.inject({ method: 'GET', url: '/v1/credentials', headers: tenantA.auth })
    ).json();
    const twilioSids = listed.data ?? listed;
    expect(JSON.stringify(twilioSids)).toContain(json.credential.twilio_account_sid);
    expect((await signedSend(old)).statusCode).toBe(202);
    expect((await signedSend(fresh)).statusCode).toBe(202);

    const revoked = await app.inject({
      method: 'POST',
      url: `/v1/credentials/${old.id}/revoke`,
      headers: tenantA.auth,
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revoked_at).not.toBeNull();
    const refused = await signedSend(old);
    expect(refused.statusCode).toBe(401);
    expect(code(refused)).toBe('auth.credential_revoked');
    expect((await signedSend(fresh)).statusCode).toBe(202);
  });

  it('above its rate limit a credential gets 429 with Retry-After, and recovers a second later', async () => {
    const pair = await createPair({ name: 'limited', scopes: ['read'], rate_limit: 2 });
    const get = () =>
      app.inject({
        method: 'GET',
        url: '/v1/replies',
        headers: signedHeaders(pair, { method: 'GET', url: '/v1/replies' }),
      });
    expect((await get()).statusCode).toBe(200);
    expect((await get()).statusCode).toBe(200);
    const third = await get();
    expect(third.statusCode).toBe(429);
    expect(code(third)).toBe('auth.rate_limited');
    expect(third.headers['retry-after']).toBe('1');
    nowMs += 1000;
    expect((await get()).statusCode).toBe(200);
  });

  it("a suspended tenant's credential is refused once its 10 s cache has passed", async () => {
    const own = await newTenant(ctx, 'to-suspend');
    const pair = await createPair({ name: 's', scopes: ['send'] }, own.auth);
    expect((await signedSend(pair)).statusCode).toBe(202);
    await t.db.pool.query("update tenants set status = 'suspended' where id = $1", [own.tenantId]);
    nowMs += 10_001;
    const res = await signedSend(pair);
    expect(res.statusCode).toBe(403);
    expect(code(res)).toBe('auth.tenant_suspended');
  });

  it('records the last use time and address', async () => {
    const pair = await createPair({ name: 'used', scopes: ['send'] });
    expect((await signedSend(pair, { remoteAddress: '192.0.2.10' })).statusCode).toBe(202);
    await expect
      .poll(async () => {
        const list = await app.inject({ method: 'GET', url: '/v1/credentials', headers: tenantA.auth });
        return list.json().data.find((c: { id: number }) => c.id === pair.id);
      })
      .toMatchObject({ last_used_at: new Date(nowMs).toISOString(), last_used_address: '192.0.2.10' });
  });

  it('bearer keys keep working beside signed requests', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...tenantA.auth, 'content-type': 'application/json' },
      payload: sms(),
    });
    expect(res.statusCode).toBe(202);
  });
});

describe('/v1/credentials', () => {
  it('the secret is shown once: the list never carries it', async () => {
    const pair = await createPair({ name: 'listed', scopes: ['read'] });
    const list = await app.inject({ method: 'GET', url: '/v1/credentials', headers: tenantA.auth });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(pair.secret);
    expect(list.json().data.some((c: { app_key: string }) => c.app_key === pair.appKey)).toBe(true);
  });

  it('refuses an unknown scope and a malformed CIDR', async () => {
    const badScope = await app.inject({
      method: 'POST',
      url: '/v1/credentials',
      headers: tenantA.auth,
      payload: { name: 'x', scopes: ['root'] },
    });
    expect(badScope.statusCode).toBe(400);
    const badCidr = await app.inject({
      method: 'POST',
      url: '/v1/credentials',
      headers: tenantA.auth,
      payload: { name: 'x', scopes: ['send'], allow: ['10.0.0.0/33'] },
    });
    expect(badCidr.statusCode).toBe(400);
    expect(code(badCidr)).toBe('credentials.invalid');
  });

  it("a tenant cannot see, rotate or revoke another tenant's credential", async () => {
    const bPair = await createPair({ name: 'b-only', scopes: ['send'] }, tenantB.auth);
    for (const action of ['rotate', 'revoke']) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/credentials/${bPair.id}/${action}`,
        headers: tenantA.auth,
      });
      expect(res.statusCode).toBe(404);
      expect(code(res)).toBe('credentials.not_found');
    }
    const list = await app.inject({ method: 'GET', url: '/v1/credentials', headers: tenantA.auth });
    expect(list.json().data.some((c: { id: number }) => c.id === bPair.id)).toBe(false);
    expect((await signedSend(bPair)).statusCode).toBe(202);
  });
});
