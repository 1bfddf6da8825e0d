// Secrets at rest on a real database: channel passwords sealed in the table yet the connector
// binds with the plain password; plain rows sealed once at start; `secrets rotate` re-seals all.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { loadConfig } from '../../app/config.ts';
import { createContext } from '../../app/context.ts';
import { CommandStatus } from '../../smpp/constants.ts';
import { createSmppServer } from '../../smpp/server.ts';
import { isSealed, keyRingOf, loadKeyRing, open } from '../../shared/secrets.ts';
import { createAccountsRepository } from '../accounts/accounts.repository.ts';
import { createTenant } from '../accounts/accounts.usecases.ts';
import { createChannelsRepository } from '../channels/channels.repository.ts';
import { startWorker } from '../dispatch/worker.ts';
import { rotateSecrets } from './credentials.cli.ts';
import { createCredentialsRepository } from './credentials.repository.ts';
import { createCredential } from './credentials.usecases.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let dataDir: string;

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'hy-secrets-db-'));
});
afterAll(async () => {
  await t.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

const passwordsInTable = async () =>
  new Map(
    (
      await t.db.pool.query<{ name: string; password: string }>('select name, password from channels')
    ).rows.map((r) => [r.name, r.password]),
  );

describe('channel passwords', () => {
  it('are sealed in the table, yet the connector binds with the plain password', async () => {
    const seen: string[] = [];
    const smsc = createSmppServer({
      onBind: (_session, pdu) => {
        seen.push(pdu.password);
        return pdu.password === 'pw-8char'
          ? { status: CommandStatus.ESME_ROK, systemId: 'smsc' }
          : { status: CommandStatus.ESME_RINVPASWD };
      },
    });
    const address = await smsc.listen(0, '127.0.0.1');
    const config = loadConfig({
      env: {
        HONGYAN_MASTER_KEY: randomBytes(32).toString('base64'),
        HONGYAN_LOG_LEVEL: 'silent',
        HONGYAN_CHANNEL_SYNC_INTERVAL_MS: '50',
      },
      configFile: null,
    });
    const ctx = createContext({ config, db: t.db, logger: pino({ level: 'silent' }) });
    await createChannelsRepository(t.db.kysely, ctx.keyRing).addChannel({
      name: 'sealed',
      host: '127.0.0.1',
      port: address.port,
      systemId: 'hy',
      password: 'pw-8char',
    });
    const stored = (await passwordsInTable()).get('sealed')!;
    expect(isSealed(stored)).toBe(true);
    expect(stored).not.toContain('pw-8char');
    expect(open(ctx.keyRing(), stored)).toBe('pw-8char');

    const worker = await startWorker({ ctx, nodeId: 'secrets-test', roles: ['worker'] });
    try {
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(seen[0]).toBe('pw-8char');
    } finally {
      await worker.stop();
      await smsc.close();
      await t.db.pool.query("delete from channels where name = 'sealed'");
    }
  });

  it('stored in plain text are sealed once at start: a second run changes nothing', async () => {
    await t.db.pool.query(
      `insert into channels (name, host, port, system_id, password) values ('legacy', '127.0.0.1', 2775, 'hy', 'oldpw'),
         ('nopw', '127.0.0.1', 2775, 'hy', '')`,
    );
    const ring = keyRingOf([randomBytes(32)]);
    const channels = createChannelsRepository(t.db.kysely, () => ring);
    expect(await channels.sealPasswords()).toBe(1);
    const first = (await passwordsInTable()).get('legacy')!;
    expect(isSealed(first)).toBe(true);
    expect((await passwordsInTable()).get('nopw')).toBe('');
    expect(await channels.sealPasswords()).toBe(0);
    expect((await passwordsInTable()).get('legacy')).toBe(first);
    const listed = (await channels.listChannels()).find((c) => c.name === 'legacy');
    expect(listed?.password).toBe('oldpw');
    await t.db.pool.query("delete from channels where name in ('legacy', 'nopw')");
  });
});

describe('hongyan secrets rotate', () => {
  it('re-seals credentials and channel passwords under a new key that still opens them', async () => {
    const oldRing = loadKeyRing({ masterKey: null, dataDir });
    const { tenant } = await createTenant({ name: 'rot', repository: createAccountsRepository(t.db.kysely) });
    const repository = createCredentialsRepository(t.db.pool);
    const { credential, appSecret } = await createCredential({
      tenantId: tenant.id,
      name: 'rot',
      scopes: ['send'],
      repository,
      keyRing: () => oldRing,
    });
    await createChannelsRepository(t.db.kysely, () => oldRing).addChannel({
      name: 'rot-ch',
      host: '127.0.0.1',
      port: 2775,
      systemId: 'hy',
      password: 'rotpw',
    });

    const result = await rotateSecrets({ masterKey: null, dataDir, pool: t.db.pool, kysely: t.db.kysely });
    expect(result.keyId).not.toBe(oldRing.current);
    expect(result).toMatchObject({ credentials: 1, channels: 1, generated: true });

    const newRing = loadKeyRing({ masterKey: null, dataDir });
    expect(newRing.current).toBe(result.keyId);
    const row = await repository.findCredentialByAppKey(credential.app_key);
    expect(row!.secret_sealed.split(':')[1]).toBe(result.keyId);
    expect(open(newRing, row!.secret_sealed)).toBe(appSecret);
    const ch = (await passwordsInTable()).get('rot-ch')!;
    expect(ch.split(':')[1]).toBe(result.keyId);
    expect(open(newRing, ch)).toBe('rotpw');

    const again = await rotateSecrets({
      masterKey: newRing.keys.get(newRing.current)!.toString('base64'),
      dataDir,
      pool: t.db.pool,
      kysely: t.db.kysely,
    });
    expect(again).toMatchObject({ keyId: newRing.current, credentials: 0, channels: 0, generated: false });
  });
});
