// Single sends only, with the CPU they cost: for A/B runs of the single-send path on a busy
// machine, where wall-clock rates move by 2× between runs of the same code but CPU time per
// message moves far less.
//
//   node --import tsx bench/singles-cpu.ts [--messages N] [--root DIR]
//
// Starts `hongyan start` of the checkout in DIR (default: this one) on a fresh embedded
// PostgreSQL, with one channel to bench/npm-smsc.ts (its own process, as in `--kannel`), warms up
// with 2,000 single sends, then sends N (default 10,000) from 50 keep-alive clients and waits
// until every one is final. Prints one line: accepted/s, end to end/s, p50/p99, and the CPU time
// per message of the Hongyan process and of its PostgreSQL (postmaster, its backends and the
// backends that exited, from /proc), with the load average. Alternate two checkouts (e.g. a
// `git clone` of the old commit under /tmp with node_modules linked) and compare medians.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { phone, waitAllFinal } from './e2e.ts';
import { createCleanup, stopChild } from './kannel/cleanup.ts';
import { content, createAgent, percentile, perSecond, request, runClients } from './kannel/http-load.ts';
import { SMSC_PASSWORD, SMSC_SYSTEM_ID, startSmscProcess, WINDOW } from './kannel/smsc.ts';

const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLOCK_TICKS = 100; // USER_HZ on Linux

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

/** utime+stime of a process, and of its children that exited and were waited for, in ticks. */
function procTicks(pid: number): { ppid: number; own: number; reaped: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
}

/** CPU seconds of a PostgreSQL server: the postmaster, its live children and those that exited. */
function postgresCpu(postmaster: number): number {
  const pm = procTicks(postmaster);
  let ticks = pm.own + pm.reaped;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const p = procTicks(Number(entry));
      if (p.ppid === postmaster) ticks += p.own;
    } catch {
      // exited while listed
    }
  }
  return ticks / CLOCK_TICKS;
}

function run(root: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/hongyan.js'), ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`hongyan ${args[0]} exited ${code}`)),
    );
  });
}

function startHongyan(root: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=64', path.join(root, 'bin/hongyan.js'), 'start', '--json'],
    {
      cwd: root,
      env: { ...env, HONGYAN_HTTP_PORT: '0', HONGYAN_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let buffer = '';
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`hongyan exited early with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        if (line.startsWith('{') && line.includes('"api_key"'))
          resolve({ child, url: JSON.parse(line).http });
      }
    });
  });
}

export async function runSinglesCpu({ messages, root }: { messages: number; root: string }) {
  const cleanup = createCleanup();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hongyan-singles-cpu-'));
  chmodSync(tmp, 0o755); // the embedded PostgreSQL may run as another account
  cleanup.add(() => rmSync(tmp, { recursive: true, force: true }));
  const agent = createAgent();
  cleanup.add(() => agent.destroy());
  try {
    const smsc = await startSmscProcess(cleanup);
    const dataDir = path.join(tmp, 'hongyan');
    mkdirSync(dataDir);
    const env: NodeJS.ProcessEnv = { ...process.env, HONGYAN_SIMULATOR: 'off', HONGYAN_DATA_DIR: dataDir };
    delete env.DATABASE_URL; // the default install: embedded PostgreSQL
    const { child, url } = await startHongyan(root, env);
    cleanup.add(() => stopChild(child));
    const channel = ['--name', 'npm-smsc', '--host', '127.0.0.1', '--port', String(smsc.port)];
    channel.push('--system-id', SMSC_SYSTEM_ID.hongyan, '--password', SMSC_PASSWORD);
    channel.push('--window', String(WINDOW), '--max-tps', '1000000', '--default');
    await run(root, ['channel', 'add', ...channel], env);
    const tenant = async (name: string) => {
      const parsed = JSON.parse(
        await run(
          root,
          ['tenant', 'create', '--name', name, '--signature', '鸿雁', '--free-text', '--json'],
          env,
        ),
      );
      return { id: parsed.tenant.id as number, key: parsed.api_key as string };
    };
    const db = new pg.Pool({
      connectionString: `postgresql://postgres@localhost/hongyan?host=${encodeURIComponent(path.join(dataDir, 'run'))}`,
      max: 2,
    });
    cleanup.add(() => db.end());
    const post = async (key: string, i: number) => {
      const body = { to: phone(i), content: content(i), type: 'verification' };
      const res = await request(agent, new URL('/v1/messages', url), {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(body)),
      });
      if (res.status !== 202) throw new Error(`POST /v1/messages answered ${res.status}: ${res.text}`);
    };

    // Warm-up on another tenant: the channel binds, the JIT and the statement caches warm.
    const warm = await tenant('warm-up');
    await post(warm.key, 0);
    await waitAllFinal(db, warm.id, 1, 60_000);
    await runClients({ total: 2000, send: (i) => post(warm.key, i + 1) });
    await waitAllFinal(db, warm.id, 2001, 120_000);

    const measured = await tenant('singles');
    const backend = Number((await db.query('select pg_backend_pid() as pid')).rows[0].pid);
    const postmaster = procTicks(backend).ppid;
    const hongyanCpu = () => procTicks(child.pid!).own / CLOCK_TICKS;
    const [h0, p0, load] = [hongyanCpu(), postgresCpu(postmaster), os.loadavg()[0]!];
    const t0 = Date.now();
    const latencies = await runClients({ total: messages, send: (i) => post(measured.key, i) });
    const accepted = Date.now();
    const final = await waitAllFinal(db, measured.id, messages, 600_000);
    const [h1, p1] = [hongyanCpu(), postgresCpu(postmaster)];
    const us = (seconds: number) => Math.round((seconds / messages) * 1e6);
    console.log(
      `singles ${messages}: accepted ${perSecond(messages, accepted - t0)}/s, end to end ` +
        `${perSecond(messages, final - t0)}/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(latencies, 99).toFixed(1)} ms; CPU per message: Hongyan ${us(h1 - h0)} µs, ` +
        `PostgreSQL ${us(p1 - p0)} µs; load ${load.toFixed(1)} on ${os.cpus().length} cores; ${root}`,
    );
  } finally {
    await cleanup.run();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runSinglesCpu({
    messages: Number(arg('--messages') ?? 10_000),
    root: path.resolve(arg('--root') ?? HERE),
  });
}
