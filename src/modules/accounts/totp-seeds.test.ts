// TOTP seeds at rest through the real server: sealed in the table yet usable at login; seeds stored
// in plain text before sealing are sealed once (a second run changes nothing) and still work;
// `hongyan secrets rotate` re-seals them under the new key.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { isSealed, loadKeyRing, open } from '../../shared/secrets.ts';
import { rotateSecrets } from '../credentials/credentials.cli.ts';
import { fakeClock, loginAs, newMember, withSession } from './accounts.testkit.ts';
import { base32Decode, newTotpSecret, totp } from './totp.models.ts';
import { sealTotpSeeds } from './totp-seeds.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let tenantId: number;
const clock = fakeClock();
const codeAt = (secret: string) => totp(base32Decode(secret), Math.floor(clock.now().getTime() / 1000));
let dataDir: string;
let legacy: { email: string; password: string };

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'hy-totp-seeds-'));
  ({ app, ctx } = await buildTestApp(t.db, { clock, env: { HONGYAN_DATA_DIR: dataDir } }));
  tenantId = (await newTenant(ctx, 'Seeds')).tenantId;
});
afterAll(async () => {
  await app.close();
  await t.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

const seedOf = async (email: string) =>
  (
    await t.db.pool.query<{ totp_secret: string | null; totp_pending_secret: string | null }>(
      'select totp_secret, totp_pending_secret from members where email = $1',
      [email],
    )
  ).rows[0]!;

async function loginWithCode(email: string, password: string, secret: string) {
  const step1 = await loginAs(app, email, password);
  expect(step1.res.json().stage).toBe('two_factor');
  return app.inject({
    method: 'POST',
    url: '/v1/auth/login/two-factor',
    payload: { challenge: step1.res.json().challenge, code: codeAt(secret) },
  });
}

describe('TOTP seeds', () => {
  it('are sealed in the table while pending and once on, yet a code from the shown secret logs in', async () => {
    const m = await newMember(t.db, tenantId, 'sealed@s.cn', 'admin');
    const b = (await loginAs(app, m.email, m.password)).browser!;
    const { secret } = (
      await app.inject({ method: 'POST', url: '/v1/auth/two-factor', headers: withSession(b) })
    ).json();
    const pending = (await seedOf(m.email)).totp_pending_secret!;
    expect(isSealed(pending)).toBe(true);
    expect(pending).not.toContain(secret);
    expect(open(ctx.keyRing(), pending)).toBe(secret);
    const confirm = await app.inject({
      method: 'POST',
      url: '/v1/auth/two-factor/confirm',
      headers: withSession(b),
      payload: { code: codeAt(secret) },
    });
    expect(confirm.statusCode).toBe(200);
    const stored = (await seedOf(m.email)).totp_secret!;
    expect(isSealed(stored)).toBe(true);
    expect(open(ctx.keyRing(), stored)).toBe(secret);
    clock.advance(30_000);
    expect((await loginWithCode(m.email, m.password, secret)).statusCode).toBe(200);
  });

  it('stored in plain text are sealed once at start: a second run changes nothing, and login still works', async () => {
    const m = await newMember(t.db, tenantId, 'legacy@s.cn', 'owner');
    legacy = m;
    const secret = newTotpSecret();
    await t.db.pool.query('update members set totp_secret = $2 where email = $1', [m.email, secret]);
    clock.advance(30_000);
    // A plain seed (from before sealing) still logs in before the start seals it.
    expect((await loginWithCode(m.email, m.password, secret)).statusCode).toBe(200);

    expect(await sealTotpSeeds({ db: t.db.pool, keyRing: ctx.keyRing() })).toBe(1);
    const sealed = (await seedOf(m.email)).totp_secret!;
    expect(isSealed(sealed)).toBe(true);
    expect(open(ctx.keyRing(), sealed)).toBe(secret);
    expect(await sealTotpSeeds({ db: t.db.pool, keyRing: ctx.keyRing() })).toBe(0);
    expect((await seedOf(m.email)).totp_secret).toBe(sealed);
    clock.advance(30_000);
    expect((await loginWithCode(m.email, m.password, secret)).statusCode).toBe(200);
  });

  it('are re-sealed by `hongyan secrets rotate` under the new key, and login still works', async () => {
    const before = (await seedOf('legacy@s.cn')).totp_secret!;
    const secret = open(ctx.keyRing(), before);
    const oldKeyId = loadKeyRing({ masterKey: null, dataDir }).current;
    const result = await rotateSecrets({ masterKey: null, dataDir, pool: t.db.pool, kysely: t.db.kysely });
    expect(result.keyId).not.toBe(oldKeyId);
    // Both members' active seeds (the pending one of the first was cleared at confirmation).
    expect(result.totpSeeds).toBe(2);
    const after = (await seedOf('legacy@s.cn')).totp_secret!;
    expect(after.split(':')[1]).toBe(result.keyId);
    expect(open(loadKeyRing({ masterKey: null, dataDir }), after)).toBe(secret);
    clock.advance(30_000);
    // The running server's ring reloads on a key id it does not know yet.
    expect((await loginWithCode(legacy.email, legacy.password, secret)).statusCode).toBe(200);
  });
});
