// The operator CLI through its real interface: `node bin/hongyan.js ...` as a child process.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/db.ts';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../bin/hongyan.js');
let t: Awaited<ReturnType<typeof createTestDatabase>>;

async function hongyan(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, DATABASE_URL: t.url, HONGYAN_LOG_LEVEL: 'silent', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t.drop());

// Each command is a new Node process loading TypeScript: seconds apiece on a loaded machine.
describe('hongyan CLI', { timeout: 180_000 }, () => {
  it('creates a tenant and keys, and manages channels, with --json', async () => {
    const created = await hongyan(['tenant', 'create', '--name', 'Acme 物流', '--json']);
    expect(created.code).toBe(0);
    const tenant = JSON.parse(created.stdout);
    expect(tenant.tenant.name).toBe('Acme 物流');
    expect(tenant.api_key).toMatch(/^hy_[0-9a-f]{16}_/);
    const key = JSON.parse(
      (await hongyan(['key', 'create', '--tenant', String(tenant.tenant.id), '--json'])).stdout,
    );
    expect(key.api_key).not.toBe(tenant.api_key);

    const added = await hongyan([
      'channel',
      'add',
      '--name',
      'cmcc',
      '--host',
      '127.0.0.1',
      '--port',
      '7777',
      '--system-id',
      'acct1',
      '--password',
      'pw',
      '--bind-mode',
      'transmitter_receiver',
      '--window',
      '20',
      '--max-tps',
      '300',
      '--json',
    ]);
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      name: 'cmcc',
      port: 7777,
      bind_mode: 'transmitter_receiver',
      window: 20,
      max_tps: 300,
      is_default: true,
    });
    expect(JSON.parse(added.stdout)).not.toHaveProperty('password');
    const list = JSON.parse((await hongyan(['channel', 'list', '--json'])).stdout);
    expect(list.map((c: { name: string }) => c.name)).toEqual(['cmcc']);
    const dup = await hongyan([
      'channel',
      'add',
      '--name',
      'cmcc',
      '--host',
      'h',
      '--port',
      '1',
      '--system-id',
      's',
      '--json',
    ]);
    expect(dup.code).toBe(1);
    expect(JSON.parse(dup.stdout).error.code).toBe('channels.name_taken');
    const bad = await hongyan([
      'channel',
      'add',
      '--name',
      'x',
      '--host',
      'h',
      '--port',
      '99999',
      '--system-id',
      's',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/channels.invalid: port: 1..65535/);
    expect((await hongyan(['channel', 'remove', 'cmcc', '--json'])).code).toBe(0);
    expect(JSON.parse((await hongyan(['channel', 'list', '--json'])).stdout)).toEqual([]);
  });

  it('says what send-rate cap a channel added without --max-tps gets: in channel add --help and channel list', async () => {
    const help = await hongyan(['channel', 'add', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--max-tps N +messages per second sent on this channel \(default 1000\)/);
    expect((await hongyan(['--help'])).stdout).toContain('[--max-tps N (default 1000 messages/s)]');

    const plain = await hongyan([
      'channel',
      'add',
      '--name',
      'plain',
      '--host',
      'h',
      '--system-id',
      's',
      '--json',
    ]);
    expect(JSON.parse(plain.stdout)).toMatchObject({ name: 'plain', max_tps: 1000 });
    await hongyan([
      'channel',
      'add',
      '--name',
      'capped',
      '--host',
      'h',
      '--system-id',
      's',
      '--max-tps',
      '300',
    ]);
    const lines = (await hongyan(['channel', 'list'])).stdout.trim().split('\n');
    expect(lines.find((l) => l.includes('\tplain\t'))).toContain('max 1000 msg/s (default cap)');
    expect(lines.find((l) => l.includes('\tcapped\t'))).toContain('max 300 msg/s\t');
    for (const name of ['plain', 'capped']) await hongyan(['channel', 'remove', name]);
  });

  it('member add: a member with an initial password shown once; a taken email and an unknown role refused', async () => {
    const tenant = JSON.parse((await hongyan(['tenant', 'create', '--name', 'Members Co', '--json'])).stdout);
    const args = [
      'member',
      'add',
      '--tenant',
      String(tenant.tenant.id),
      '--email',
      'boss@m.cn',
      '--role',
      'owner',
    ];
    const added = JSON.parse((await hongyan([...args, '--json'])).stdout);
    expect(added.member).toMatchObject({ email: 'boss@m.cn', role: 'owner', tenant_id: tenant.tenant.id });
    expect(added.initial_password).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const again = await hongyan(args);
    expect([again.code, again.stdout + again.stderr]).toEqual([
      1,
      expect.stringContaining('members.email_taken'),
    ]);
    const badRole = await hongyan(['member', 'add', '--tenant', '1', '--email', 'x@m.cn', '--role', 'boss']);
    expect([badRole.code, badRole.stdout + badRole.stderr]).toEqual([
      2,
      expect.stringContaining('--role must be one of'),
    ]);
  });

  it('gets a message with its history, and says clearly what is wrong', async () => {
    const missing = await hongyan(['message', 'get', '999999', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error.code).toBe('messages.not_found');
    const usage = await hongyan(['tenant', 'create']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--name is required/);
    const unknown = await hongyan(['frobnicate']);
    expect(unknown.code).toBe(2);
    const badConfig = await hongyan(['tenant', 'list'], { HONGYAN_HTTP_PORT: 'eighty' });
    expect(badConfig.code).toBe(78);
    expect(badConfig.stderr).toMatch(/HONGYAN_HTTP_PORT: expected an integer/);
  });

  it('refuses a bench count that is not a whole number ≥ 1, before starting anything', async () => {
    for (const args of [
      ['--kannel', '--rounds', 'x'],
      ['--messages', 'abc'],
      ['--messages', '0'],
      ['--carrier', '--messages', '1e3'],
    ]) {
      const res = await hongyan(['bench', ...args]);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(/^hongyan bench: --(messages|rounds) must be a whole number ≥ 1, not "/);
      expect(res.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    }
  });
});
