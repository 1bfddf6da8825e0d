// The verifier's credential cache with a fake repository: look-ups shared while one is in flight,
// and a revocation on this node never undone by a look-up that read the row before it.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyRingOf, seal } from '../../shared/secrets.ts';
import { canonicalString, sha256Hex, sign } from './credentials.models.ts';
import type { CredentialRow, CredentialsRepository } from './credentials.repository.ts';
import { createSignedRequestVerifier } from './credentials.verify.ts';

const ring = keyRingOf([randomBytes(32)]);
const APP_KEY = 'ak_0123456789abcdef0123';
const SECRET = 'a-secret-for-the-cache-tests-only';
const NOW = Date.parse('2026-11-30T08:00:00Z');

function fakeRepository() {
  let revokedAt: Date | null = null;
  const reads: { release: () => void }[] = [];
  let holdReads = false;
  const row = (): CredentialRow & { tenant_status: string } => ({
    id: 1,
    tenant_id: 7,
    name: 'n',
    app_key: APP_KEY,
    secret_sealed: seal(ring, SECRET),
    scopes: ['send'],
    allow_cidrs: [],
    rate_limit: null,
    rotated_from: null,
    created_at: new Date(NOW),
    last_used_at: null,
    last_used_address: null,
    revoked_at: revokedAt,
    twilio_account_sid: `AC${'0'.repeat(32)}`,
    tenant_status: 'active',
  });
  const repository = {
    async findCredentialByAppKey() {
      // The row is read now; the answer is held back while `holdReads` (a slow query).
      const read = row();
      if (holdReads) await new Promise<void>((release) => reads.push({ release }));
      return read;
    },
    async rememberNonces(rows: readonly unknown[]) {
      return rows.map(() => true);
    },
    async recordLastUse() {},
    async forgetNoncesBefore() {
      return 0;
    },
  } as unknown as CredentialsRepository;
  return {
    repository,
    reads,
    hold: (on: boolean) => (holdReads = on),
    revoke: () => (revokedAt = new Date(NOW)),
  };
}

function request() {
  const timestamp = String(Math.floor(NOW / 1000));
  const nonce = randomBytes(12).toString('base64url');
  const canonical = canonicalString({
    method: 'GET',
    url: '/v1/replies',
    bodySha256: sha256Hex(''),
    timestamp,
    nonce,
  });
  return {
    method: 'GET',
    url: '/v1/replies',
    body: undefined,
    address: '127.0.0.1',
    headers: {
      'x-hy-key': APP_KEY,
      'x-hy-timestamp': timestamp,
      'x-hy-nonce': nonce,
      'x-hy-signature': sign(SECRET, canonical),
    },
  };
}

function verifier(repository: CredentialsRepository) {
  return createSignedRequestVerifier({
    repository,
    keyRing: () => ring,
    windowSeconds: 300,
    defaultRateLimit: 1000,
    now: () => NOW,
  });
}

describe('credential cache of the signed-request verifier', () => {
  it('requests that find no cached credential share the one look-up in flight', async () => {
    const fake = fakeRepository();
    let lookUps = 0;
    const find = fake.repository.findCredentialByAppKey;
    fake.repository.findCredentialByAppKey = (appKey) => {
      lookUps++;
      return find(appKey);
    };
    const v = verifier(fake.repository);
    const principals = await Promise.all(Array.from({ length: 20 }, () => v.verify(request())));
    expect(principals.map((p) => p.tenantId)).toEqual(Array(20).fill(7));
    expect(lookUps).toBe(1);
  });

  it('a look-up in flight when the credential is revoked here does not cache the row it read before', async () => {
    const fake = fakeRepository();
    const v = verifier(fake.repository);
    fake.hold(true);
    const before = v.verify(request()); // reads the row while it is still valid
    await expect.poll(() => fake.reads.length).toBe(1);
    fake.revoke();
    v.forget(APP_KEY); // what POST /v1/credentials/:id/revoke does on this node
    fake.hold(false);
    fake.reads[0]!.release();
    // The request that raced the revocation is answered from what it read...
    await expect(before).resolves.toMatchObject({ tenantId: 7 });
    // ...but the next one looks the credential up again and finds it revoked.
    await expect(v.verify(request())).rejects.toMatchObject({ code: 'auth.credential_revoked' });
  });
});
