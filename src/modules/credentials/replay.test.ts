// Replay protection and revocation under concurrency, through the real server (Fastify inject),
// on one node and on two nodes sharing one database (two apps, each its own pool, nonce group
// commit and credential cache, as two Hongyan processes have).
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { canonicalString, sha256Hex, sign } from './credentials.models.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let nodeA: FastifyInstance;
let nodeB: FastifyInstance;
let tenant: Awaited<ReturnType<typeof newTenant>>;
let nowMs = Date.parse('2026-11-30T08:00:00Z');
const clock = { now: () => new Date(nowMs) };
const env = { HONGYAN_MASTER_KEY: randomBytes(32).toString('base64') };

beforeAll(async () => {
  t = await createTestDatabase();
  const a = await buildTestApp(t.db, { clock, env });
  nodeA = a.app;
  nodeB = (await buildTestApp(t.db, { clock, env })).app;
  tenant = await newTenant(a.ctx, 'replay');
});
afterAll(async () => {
  await nodeA.close();
  await nodeB.close();
  await t.drop();
});

interface Pair {
  id: number;
  appKey: string;
  secret: string;
}

async function createPair(name: string, scopes = ['send']): Promise<Pair> {
  const res = await nodeA.inject({
    method: 'POST',
    url: '/v1/credentials',
    headers: tenant.auth,
    payload: { name, scopes },
  });
  expect(res.statusCode).toBe(201);
  const json = res.json();
  return { id: json.credential.id, appKey: json.credential.app_key, secret: json.app_secret };
}

let recipients = 0;
/** One signed POST /v1/messages, to a recipient of its own, ready to inject as often as wanted. */
function signedSend(pair: Pair, clientRef: string) {
  const body = JSON.stringify({
    to: String(13_900_000_000 + ++recipients),
    content: '【鸿雁】您的验证码是 123456',
    type: 'verification',
    client_ref: clientRef,
  });
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = randomBytes(12).toString('base64url');
  const canonical = canonicalString({
    method: 'POST',
    url: '/v1/messages',
    bodySha256: sha256Hex(body),
    timestamp,
    nonce,
  });
  return {
    method: 'POST' as const,
    url: '/v1/messages',
    headers: {
      'x-hy-key': pair.appKey,
      'x-hy-timestamp': timestamp,
      'x-hy-nonce': nonce,
      'x-hy-signature': sign(pair.secret, canonical),
      'content-type': 'application/json',
    },
    payload: body,
  };
}

const code = (res: { json(): { error?: { code: string } } }) => res.json().error?.code;

async function storedWithRef(clientRef: string): Promise<number> {
  const { rows } = await t.db.pool.query('select count(*)::int as n from messages where client_ref = $1', [
    clientRef,
  ]);
  return rows[0].n;
}

describe('replayed signed requests', () => {
  it('the same signed request sent 50 times at once is accepted exactly once', async () => {
    const pair = await createPair('fifty');
    const request = signedSend(pair, 'fifty-at-once');
    const answers = await Promise.all(Array.from({ length: 50 }, () => nodeA.inject(request)));
    const accepted = answers.filter((r) => r.statusCode === 202);
    const refused = answers.filter((r) => r.statusCode !== 202);
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(49);
    for (const r of refused) {
      expect(r.statusCode).toBe(401);
      expect(code(r)).toBe('auth.nonce_replayed');
    }
    expect(await storedWithRef('fifty-at-once')).toBe(1);
  });

  it('the same signed request sent 50 times at once, half to each of two nodes, is accepted exactly once', async () => {
    const pair = await createPair('two-nodes');
    const request = signedSend(pair, 'fifty-two-nodes');
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? nodeA : nodeB).inject(request)),
    );
    const accepted = answers.filter((r) => r.statusCode === 202);
    const refused = answers.filter((r) => r.statusCode !== 202);
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(49);
    for (const r of refused) {
      expect(r.statusCode).toBe(401);
      expect(code(r)).toBe('auth.nonce_replayed');
    }
    expect(await storedWithRef('fifty-two-nodes')).toBe(1);
  });

  it('a signed send replayed later, with an Idempotency-Key or without, and a replayed GET are refused', async () => {
    const pair = await createPair('later', ['send', 'read']);
    const plain = signedSend(pair, 'later-plain');
    expect((await nodeA.inject(plain)).statusCode).toBe(202);
    const again = await nodeB.inject(plain);
    expect([again.statusCode, code(again)]).toEqual([401, 'auth.nonce_replayed']);
    // With an Idempotency-Key the stored answer is not given to a replay of the same request.
    const idempotent = signedSend(pair, 'later-idempotent');
    const withKey = { ...idempotent, headers: { ...idempotent.headers, 'idempotency-key': 'later-1' } };
    expect((await nodeA.inject(withKey)).statusCode).toBe(202);
    const replayed = await nodeA.inject(withKey);
    expect([replayed.statusCode, code(replayed)]).toEqual([401, 'auth.nonce_replayed']);
    expect(await storedWithRef('later-plain')).toBe(1);
    expect(await storedWithRef('later-idempotent')).toBe(1);
    // A route that admits no message spends its nonce in the pre-handler, as before.
    const timestamp = String(Math.floor(nowMs / 1000));
    const nonce = randomBytes(12).toString('base64url');
    const url = '/v1/messages?limit=1';
    const get = {
      method: 'GET' as const,
      url,
      headers: {
        'x-hy-key': pair.appKey,
        'x-hy-timestamp': timestamp,
        'x-hy-nonce': nonce,
        'x-hy-signature': sign(
          pair.secret,
          canonicalString({ method: 'GET', url, bodySha256: sha256Hex(''), timestamp, nonce }),
        ),
      },
    };
    expect((await nodeA.inject(get)).statusCode).toBe(200);
    const getAgain = await nodeB.inject(get);
    expect([getAgain.statusCode, code(getAgain)]).toEqual([401, 'auth.nonce_replayed']);
  });

  it('50 different signed requests at once, half to each node, are each accepted once', async () => {
    const pair = await createPair('distinct');
    const requests = Array.from({ length: 50 }, (_, i) => signedSend(pair, `distinct-${i}`));
    const answers = await Promise.all(requests.map((r, i) => (i % 2 === 0 ? nodeA : nodeB).inject(r)));
    expect(answers.map((r) => r.statusCode)).toEqual(Array(50).fill(202));
    for (let i = 0; i < 50; i++) expect(await storedWithRef(`distinct-${i}`)).toBe(1);
  });
});

describe('revocation', () => {
  it('a revoked credential is refused at once on the node that revoked it, and on another node once its 10 s cache has passed', async () => {
    const pair = await createPair('revoked');
    // Both nodes have the credential cached.
    expect((await nodeA.inject(signedSend(pair, 'before-a'))).statusCode).toBe(202);
    expect((await nodeB.inject(signedSend(pair, 'before-b'))).statusCode).toBe(202);

    const revoked = await nodeA.inject({
      method: 'POST',
      url: `/v1/credentials/${pair.id}/revoke`,
      headers: tenant.auth,
    });
    expect(revoked.statusCode).toBe(200);

    const onA = await nodeA.inject(signedSend(pair, 'after-a'));
    expect(onA.statusCode).toBe(401);
    expect(code(onA)).toBe('auth.credential_revoked');
    // Node B learns it when its cached copy expires: 10 s (docs/api-signing.md).
    nowMs += 9_000;
    expect((await nodeB.inject(signedSend(pair, 'within-10s-b'))).statusCode).toBe(202);
    nowMs += 1_001;
    const onB = await nodeB.inject(signedSend(pair, 'after-10s-b'));
    expect(onB.statusCode).toBe(401);
    expect(code(onB)).toBe('auth.credential_revoked');
    expect(await storedWithRef('after-a')).toBe(0);
    expect(await storedWithRef('after-10s-b')).toBe(0);
  });
});
