// The README's path on the embedded server: `hongyan start` on an empty data folder, operator
// commands against the same folder while it runs, a message delivered, a kill -9, a restart that
// adopts the server the crash left running, and a clean stop that stops PostgreSQL.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = path.resolve(import.meta.dirname, '../bin/hongyan.js');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hy-embedded-'));
chmodSync(dataDir, 0o755); // as root, the postgres account must reach the folder
const env: NodeJS.ProcessEnv = {
  ...process.env,
  HONGYAN_DATA_DIR: dataDir,
  HONGYAN_HTTP_PORT: '0',
  HONGYAN_SIMULATOR_PORT: '0',
  HONGYAN_LOG_LEVEL: 'info',
};
delete env.DATABASE_URL;
const children: ChildProcess[] = [];

function start(extra: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string; first: any }> {
  const child = spawn(process.execPath, [BIN, 'start', '--json'], {
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no start:\n${out}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const welcome = out.split('\n').find((l) => l.startsWith('{') && l.includes('"api_key"'));
      const started = /"httpUrl":"(http:[^"]+)"/.exec(out);
      if (welcome || started) {
        clearTimeout(timer);
        resolve({
          child,
          url: welcome ? JSON.parse(welcome).http : started![1]!,
          first: welcome ? JSON.parse(welcome) : null,
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

async function waitDelivered(url: string, key: string, id: string) {
  for (let i = 0; i < 200; i++) {
    const m = (await (
      await fetch(`${url}/v1/messages/${id}`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as any;
    if (m.status === 'delivered') return m;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('not delivered');
}

function postmasterPid(): number | null {
  const file = path.join(dataDir, 'pg', 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  const pid = postmasterPid();
  if (pid && alive(pid)) process.kill(pid, 'SIGINT');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('hongyan start on the embedded PostgreSQL', () => {
  it('starts from nothing, shares the data folder with the CLI, survives kill -9, stops cleanly', async () => {
    const a = await start();
    expect(a.first.api_key).toMatch(/^hy_/);
    // An operator command on the same data folder while `start` runs.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [BIN, 'tenant', 'create', '--name', 'Acme', '--json'],
      { env },
    );
    const key = JSON.parse(stdout).api_key as string;
    const sent = (await (
      await fetch(`${a.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          to: '+8613800138000',
          content: '【鸿雁】您的验证码是 123456，5分钟内有效',
          type: 'verification',
        }),
      })
    ).json()) as any;
    await waitDelivered(a.url, key, sent.id);

    const pgPid = postmasterPid()!;
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    expect(alive(pgPid)).toBe(true); // the crash left the server running

    const b = await start();
    expect(b.first).toBeNull(); // not a first start: nothing printed twice
    expect(postmasterPid()).toBe(pgPid); // adopted, not a second server
    const again = await waitDelivered(b.url, key, sent.id);
    expect(again.events.map((e: any) => e.status)).toEqual([
      'accepted',
      'queued',
      'sending',
      'sent',
      'delivered',
    ]);

    b.child.kill('SIGTERM');
    const code = await new Promise((r) => b.child.once('exit', r));
    expect(code).toBe(0);
    expect(alive(pgPid)).toBe(false);

    // HONGYAN_SIMULATOR=off disables the simulator's channel (no bind retried forever).
    const c = await start({ HONGYAN_SIMULATOR: 'off' });
    const list = await promisify(execFile)(process.execPath, [BIN, 'channel', 'list', '--json'], { env });
    expect(JSON.parse(list.stdout)).toMatchObject([{ name: 'simulator', enabled: false }]);
    c.child.kill('SIGTERM');
    await new Promise((r) => c.child.once('exit', r));
  }, 120_000);
});
