// The Hongyan side of the side-by-side benchmark: a child `hongyan start` on the default install
// (embedded PostgreSQL, no simulator) with one channel to the same SMSC, then
//   single sends: POST /v1/messages from the 50 clients, end to end until every message is final;
//   batches:      POST /v1/batches, 10,000 recipients a request, two in flight (as `npm run bench`),
//                 accepted/s and end to end.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { onOff } from '../../src/app/config.ts';
import { createSendingTenant, phone, startHongyan, waitAllFinal } from '../e2e.ts';
import { type Cleanup, stopChild } from './cleanup.ts';
import { type CpuPerMessage, cpuPerMessage, readCpu } from './cpu.ts';
import { content, percentile, perSecond, postBatches, request, runClients } from './http-load.ts';
import type { NpmSmscStats } from '../npm-smsc.models.ts';
import { type Smsc, SMSC_PASSWORD, SMSC_SYSTEM_ID, WINDOW } from './smsc.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface HongyanFigures {
  single: { accepted: number; p50: number; p99: number; e2e: number; submits: number; cpu: CpuPerMessage };
  batch: { accepted: number; e2e: number; submits: number; cpu: CpuPerMessage };
}

/**
 * What this run relaxes (nothing by default), for bounds: HONGYAN_BILLING=off, passed on to
 * Hongyan (a setting an operator who charges nobody may choose; the default charges), and
 * BENCH_SYNCHRONOUS_COMMIT=off, its embedded server's commits answering before their WAL is
 * flushed (never a setting Hongyan may run with: a 202 says the message is on disk).
 */
export function relaxations(): string[] {
  return [
    ...(switchedOff('HONGYAN_BILLING') ? ['billing off'] : []),
    ...(switchedOff('BENCH_SYNCHRONOUS_COMMIT') ? ['synchronous_commit off'] : []),
  ];
}

/** Applies BENCH_SYNCHRONOUS_COMMIT=off to the running embedded server (ALTER SYSTEM, reload). */
export async function applyRelaxations(db: pg.Pool): Promise<void> {
  if (!switchedOff('BENCH_SYNCHRONOUS_COMMIT')) return;
  await db.query(`alter system set synchronous_commit = off`);
  await db.query(`select pg_reload_conf()`);
}

/** An on-off variable read as Hongyan reads its own; a value that is neither is refused by name. */
function switchedOff(name: string): boolean {
  const raw = process.env[name];
  if (raw === undefined) return false;
  try {
    return !onOff(raw);
  } catch (error) {
    throw new Error(`${name}: ${error instanceof Error ? error.message : error}`, { cause: error });
  }
}

function hongyanCli(args: string[], dataDir: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/hongyan.js'), ...args], {
      cwd: ROOT,
      env: { ...env, HONGYAN_DATA_DIR: dataDir },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`hongyan ${args.slice(0, 2).join(' ')} exited ${code}`)),
    );
  });
}

export async function measureHongyan({
  dataDir,
  smsc,
  messages,
  agent,
  cleanup,
}: {
  dataDir: string;
  smsc: Smsc;
  messages: number;
  agent: http.Agent;
  cleanup: Cleanup;
}): Promise<HongyanFigures> {
  const env: NodeJS.ProcessEnv = { ...process.env, HONGYAN_SIMULATOR: 'off' };
  delete env.DATABASE_URL; // the default install, as `npm run bench` measures it
  mkdirSync(dataDir, { recursive: true });
  const { child, url } = await startHongyan(dataDir, env);
  cleanup.add(() => stopChild(child));
  // No throughput cap (a channel's default is 1,000/s) and the same window as Kannel's.
  const channel = ['--name', 'npm-smsc', '--host', '127.0.0.1', '--port', String(smsc.port)];
  channel.push('--system-id', SMSC_SYSTEM_ID.hongyan, '--password', SMSC_PASSWORD);
  channel.push('--window', String(WINDOW), '--max-tps', '1000000', '--default');
  await hongyanCli(['channel', 'add', ...channel], dataDir, env);
  const db = new pg.Pool({
    connectionString: `postgresql://postgres@localhost/hongyan?host=${encodeURIComponent(path.join(dataDir, 'run'))}`,
    max: 2,
  });
  cleanup.add(() => db.end());
  await applyRelaxations(db);
  const post = async (key: string, route: string, body: unknown) => {
    const res = await request(agent, new URL(route, url), {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(body)),
    });
    if (res.status !== 202) throw new Error(`${route} answered ${res.status}: ${res.text}`);
    return res;
  };
  // Hongyan acknowledges a receipt after storing it: once the SMSC has N more acknowledgements,
  // the messages are final or about to be, and only then is the database asked (see waitAllFinal).
  const receiptsAcked = (from: NpmSmscStats) => async () =>
    (await smsc.stats()).receiptsAcked - from.receiptsAcked >= messages;
  const single = (i: number) => ({ to: phone(i), content: content(i), type: 'verification' });

  // Warm-up: the worker picks up the new channel within its 5 s sync, and binds.
  const warm = await createSendingTenant(db, url, dataDir, env, 'bench warm-up');
  await post(warm.key, '/v1/messages', single(messages));
  await waitAllFinal(db, warm.id, 1, 60_000);

  const singles = await createSendingTenant(db, url, dataDir, env, 'bench singles');
  // The Hongyan process and what it started: its embedded PostgreSQL and that server's backends.
  const cpu = () => readCpu([child.pid!], smsc.pid);
  let before = await smsc.stats();
  let cpu0 = cpu();
  const s0 = Date.now();
  const latencies = await runClients({
    total: messages,
    send: async (i) => void (await post(singles.key, '/v1/messages', single(i))),
  });
  const sAccepted = Date.now();
  const sFinal = await waitAllFinal(db, singles.id, messages, 600_000, receiptsAcked(before));
  let cpu1 = cpu();
  let after = await smsc.stats();
  const singleFigures = {
    accepted: perSecond(messages, sAccepted - s0),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    e2e: perSecond(messages, sFinal - s0),
    submits: after.submits - before.submits,
    cpu: cpuPerMessage(cpu0, cpu1, messages),
  };

  // Batches, on a tenant of their own with credit for the run: the install's first tenant starts
  // with 10,000 parts, and a batch past its balance is accepted only up to it.
  const batches = await createSendingTenant(db, url, dataDir, env, 'bench batches');
  before = after;
  cpu0 = cpu();
  const b0 = Date.now();
  await postBatches({ agent, url, key: batches.key, messages });
  const bAccepted = Date.now();
  const bFinal = await waitAllFinal(db, batches.id, messages, 600_000, receiptsAcked(before));
  cpu1 = cpu();
  after = await smsc.stats();
  return {
    single: singleFigures,
    batch: {
      accepted: perSecond(messages, bAccepted - b0),
      e2e: perSecond(messages, bFinal - b0),
      submits: after.submits - before.submits,
      cpu: cpuPerMessage(cpu0, cpu1, messages),
    },
  };
}
