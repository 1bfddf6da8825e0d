// `hongyan credential create|list|rotate|revoke` and `hongyan secrets rotate` with --json, run
// in-process against a real database (the subprocess path is the same runOperatorCommand).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { loadConfig } from '../../app/config.ts';
import { runOperatorCommand } from '../../app/operator-cli.ts';
import { loadKeyRing, open } from '../../shared/secrets.ts';
import { createAccountsRepository } from '../accounts/accounts.repository.ts';
import { createTenant } from '../accounts/accounts.usecases.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let dataDir: string;
let tenantId: number;

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'hy-cred-cli-'));
  tenantId = (await createTenant({ name: 'cli', repository: createAccountsRepository(t.db.kysely) })).tenant
    .id;
});
afterAll(async () => {
  await t.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function hongyan(
  command: string,
  sub: string,
  rest: string[],
  values: Record<string, string | boolean>,
) {
  const config = loadConfig({
    env: { DATABASE_URL: t.url, HONGYAN_DATA_DIR: dataDir, HONGYAN_LOG_LEVEL: 'silent' },
    configFile: null,
  });
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  const err = vi.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
  try {
    const code = await runOperatorCommand({ config, command, sub, rest, values: { json: true, ...values } });
    return { code, output: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('hongyan credential', () => {
  it('creates with scopes and an allowlist, rotates, lists and revokes, with --json', async () => {
    const created = await hongyan('credential', 'create', [], {
      tenant: String(tenantId),
      name: 'erp',
      scopes: 'send,read',
      allow: '10.0.0.0/8,2001:db8::/32',
      'rate-limit': '50',
    });
    expect(created.code).toBe(0);
    const c = JSON.parse(created.output);
    expect(c.credential).toMatchObject({
      name: 'erp',
      scopes: ['send', 'read'],
      allow: ['10.0.0.0/8', '2001:db8::/32'],
      rate_limit: 50,
    });
    expect(c.app_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The Twilio SDK's form of the credential (docs/compatible-apis.md): its auth token is the AppSecret.
    expect(c.credential.twilio_account_sid).toMatch(/^AC[0-9a-f]{32}$/);
    const sealed = (
      await t.db.pool.query('select secret_sealed from api_credentials where id = $1', [c.credential.id])
    ).rows[0].secret_sealed;
    expect(open(loadKeyRing({ masterKey: null, dataDir }), sealed)).toBe(c.app_secret);

    const rotated = JSON.parse(
      (await hongyan('credential', 'rotate', [String(c.credential.id)], { tenant: String(tenantId) })).output,
    );
    expect(rotated.credential).toMatchObject({ rotated_from: c.credential.id, scopes: ['send', 'read'] });
    expect(rotated.app_secret).not.toBe(c.app_secret);

    const revoked = JSON.parse(
      (await hongyan('credential', 'revoke', [String(c.credential.id)], { tenant: String(tenantId) })).output,
    );
    expect(revoked.revoked_at).not.toBeNull();
    const listed = JSON.parse((await hongyan('credential', 'list', [], { tenant: String(tenantId) })).output);
    expect(
      listed.map((x: { id: number; revoked_at: string | null }) => [x.id, x.revoked_at !== null]),
    ).toEqual([
      [c.credential.id, true],
      [rotated.credential.id, false],
    ]);
  });

  it('says what is wrong: a bad scope is credentials.invalid, a missing --tenant a usage error', async () => {
    const bad = await hongyan('credential', 'create', [], { tenant: String(tenantId), scopes: 'root' });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.output).error.code).toBe('credentials.invalid');
    const usage = await hongyan('credential', 'create', [], { scopes: 'send' });
    expect(usage.code).toBe(2);
    expect(usage.output).toContain('--tenant');
  });
});

describe('hongyan secrets rotate', () => {
  it('adds a new master key and re-seals the credentials under it', async () => {
    const before = loadKeyRing({ masterKey: null, dataDir });
    const res = await hongyan('secrets', 'rotate', [], {});
    expect(res.code).toBe(0);
    const out = JSON.parse(res.output);
    expect(out.key_id).not.toBe(before.current);
    expect(out.resealed.credentials).toBe(2);
    const kids = (await t.db.pool.query('select secret_sealed from api_credentials')).rows.map(
      (r) => r.secret_sealed.split(':')[1],
    );
    expect(new Set(kids)).toEqual(new Set([out.key_id]));
  });
});
