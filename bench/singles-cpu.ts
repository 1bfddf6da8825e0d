// Single sends only, with the CPU they cost: for A/B runs of the single-send path on a busy
// machine, where wall-clock rates move by 2× between runs of the same code but CPU time per
// message moves far less.
//
//   node --import tsx bench/singles-cpu.ts [--messages N] [--root DIR] [--batches]
//
// --batches: the measured messages go through POST /v1/batches instead (10,000 a request, two in
// flight), for the same figures on the batch path.
//
// BENCH_CPU_PROF=<dir>: a V8 CPU profile of Hongyan and the measured phase's window
// (<dir>/phases.json), for `bench/cpu-profile.ts <profile> --phases <dir>/phases.json`.
// BENCH_STATEMENTS=1: PostgreSQL's planning and execution time per statement over the measured
// phase, per message (pg_stat_statements, loaded by a restart of the server before the run);
// BENCH_STATEMENTS=all: also the statements triggers and functions run, marked ›.
// BENCH_SYNCHRONOUS_COMMIT=off: the embedded server's commits answer before their WAL is flushed
// (ALTER SYSTEM and a reload, after Hongyan started). Not a setting Hongyan may run with: a 202
// says the message is on disk. For bounds only; with HONGYAN_BILLING=off (passed on to Hongyan),
// the cost left when neither durable commits nor billing are paid. The line printed names both.
//
// Starts `hongyan start` of the checkout in DIR (default: this one) on a fresh embedded
// PostgreSQL, with one channel to bench/npm-smsc.ts (its own process, as in `--kannel`), warms up
// with 2,000 single sends, then sends N (default 10,000) from 50 keep-alive clients and waits
// until every one is final. Prints one line: accepted/s, end to end/s, p50/p99, and the CPU time
// per message of the Hongyan process and of its PostgreSQL (postmaster, its backends and the
// backends that exited, from /proc), with the load average. Alternate two checkouts (e.g. a
// `git clone` of the old commit under /tmp with node_modules linked) and compare medians.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { phone, waitAllFinal } from './e2e.ts';
import { CLOCK_TICKS, procTicks, treeCpu } from './proc-stat.ts';
import { createCleanup, stopChild } from './kannel/cleanup.ts';
import { applyRelaxations, relaxations } from './kannel/hongyan-phase.ts';
import {
  content,
  createAgent,
  percentile,
  perSecond,
  postBatches,
  request,
  runClients,
} from './kannel/http-load.ts';
import { SMSC_PASSWORD, SMSC_SYSTEM_ID, startSmscProcess, WINDOW } from './kannel/smsc.ts';

const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
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

/**
 * `hongyan start` of the checkout in `root`. Its first start prints the demo tenant's key and its
 * address; a later start prints nothing, so it is given `url` (the first start's) and waited for
 * on /healthz there.
 */
function startHongyan(
  root: string,
  env: NodeJS.ProcessEnv,
  url?: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=64',
      // BENCH_CPU_PROF=<dir>: a V8 CPU profile of Hongyan, written when it exits (bench/cpu-profile.ts).
      ...(process.env.BENCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`]
        : []),
      path.join(root, 'bin/hongyan.js'),
      'start',
      '--json',
    ],
    {
      cwd: root,
      env: { ...env, HONGYAN_HTTP_PORT: url ? new URL(url).port : '0', HONGYAN_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let buffer = '';
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`hongyan exited early with ${code}`)));
    if (url) {
      const poll = () =>
        fetch(new URL('/healthz', url))
          .then((res) => (res.ok ? resolve({ child, url }) : setTimeout(poll, 200)))
          .catch(() => setTimeout(poll, 200));
      poll();
      return;
    }
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        if (line.startsWith('{') && line.includes('"api_key"'))
          resolve({ child, url: JSON.parse(line).http });
      }
    });
  });
}

type TableStats = Map<string, { seqScan: number; seqRead: number; idxScan: number; idxFetch: number }>;

/** Per-table scan counters (pg_stat_user_tables), to find a query that reads too much. */
async function tableStats(db: pg.Pool): Promise<TableStats> {
  await db.query('select pg_stat_force_next_flush()').catch(() => undefined);
  const { rows } = await db.query(
    `select relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0) as idx_scan,
            coalesce(idx_tup_fetch, 0) as idx_tup_fetch from pg_stat_user_tables`,
  );
  return new Map(
    rows.map((r) => [
      r.relname as string,
      { seqScan: +r.seq_scan, seqRead: +r.seq_tup_read, idxScan: +r.idx_scan, idxFetch: +r.idx_tup_fetch },
    ]),
  );
}

/** BENCH_TABLE_STATS=1: the tables the measured phase scanned most, by rows read. */
async function printTableStats(db: pg.Pool, before: TableStats) {
  await new Promise((r) => setTimeout(r, 1000)); // backends flush their counters within a second
  const after = await tableStats(db);
  const rows = [...after].map(([name, a]) => {
    const b = before.get(name) ?? { seqScan: 0, seqRead: 0, idxScan: 0, idxFetch: 0 };
    return {
      name,
      seqScan: a.seqScan - b.seqScan,
      seqRead: a.seqRead - b.seqRead,
      idxScan: a.idxScan - b.idxScan,
      idxFetch: a.idxFetch - b.idxFetch,
    };
  });
  rows.sort((x, y) => y.seqRead + y.idxFetch - (x.seqRead + x.idxFetch));
  for (const r of rows.slice(0, 15))
    console.log(
      `  ${r.name}: seq scans ${r.seqScan}, rows read by them ${r.seqRead}; index scans ${r.idxScan}, rows fetched ${r.idxFetch}`,
    );
}

export async function runSinglesCpu({
  messages,
  root,
  batches = false,
}: {
  messages: number;
  root: string;
  batches?: boolean;
}) {
  const relaxed = relaxations(); // before anything is started: a bad value throws
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
    const socket = `postgresql://postgres@localhost/hongyan?host=${encodeURIComponent(path.join(dataDir, 'run'))}`;
    let started: { url: string } | undefined;
    if (process.env.BENCH_STATEMENTS) {
      // pg_stat_statements must be loaded when the server starts: set it, then start again.
      const first = (started = await startHongyan(root, env));
      const admin = new pg.Client({ connectionString: socket });
      await admin.connect();
      await admin.query(`alter system set shared_preload_libraries = 'pg_stat_statements'`);
      if (process.env.BENCH_STATEMENTS === 'all') {
        // The statements triggers and functions run, each on its own line, and planning time.
        await admin.query(`alter system set pg_stat_statements.track = 'all'`);
        await admin.query(`alter system set pg_stat_statements.track_planning = on`);
      }
      await admin.end();
      await stopChild(first.child);
      // The server stops after Hongyan has exited: the next start would adopt it still running.
      for (let i = 0; ; i++) {
        const probe = new pg.Client({ connectionString: socket });
        const up = await probe.connect().then(
          () => true,
          () => false,
        );
        await probe.end().catch(() => {});
        if (!up) break;

        if (i > 300) throw new Error('the embedded PostgreSQL did not stop');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const { child, url } = await startHongyan(root, env, started?.url);
    cleanup.add(() => stopChild(child));
    const channel = ['--name', 'npm-smsc', '--host', '127.0.0.1', '--port', String(smsc.port)];
    channel.push('--system-id', SMSC_SYSTEM_ID.hongyan, '--password', SMSC_PASSWORD);
    channel.push('--window', String(WINDOW), '--max-tps', '1000000', '--default');
    await run(root, ['channel', 'add', ...channel], env);
    const tenant = async (name: string) => {
      const parsed = JSON.parse(
        await run(
          root,
          [
            'tenant',
            'create',
            '--name',
            name,
            '--signature',
            '鸿雁',
            '--free-text',
            '--credit',
            '100000000',
            '--json',
          ],
          env,
        ),
      );
      return { id: parsed.tenant.id as number, key: parsed.api_key as string };
    };
    const db = new pg.Pool({ connectionString: socket, max: 2 });
    cleanup.add(() => db.end());
    await applyRelaxations(db);
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
    const stats0 = process.env.BENCH_TABLE_STATS ? await tableStats(db) : new Map();
    if (process.env.BENCH_STATEMENTS) {
      await db.query('create extension if not exists pg_stat_statements');
      await db.query('select pg_stat_statements_reset()');
    }
    const [h0, p0, load] = [hongyanCpu(), treeCpu(postmaster), os.loadavg()[0]!];
    // Hongyan acknowledges a receipt after storing it: the SMSC's count says when to ask the database.
    const acked0 = (await smsc.stats()).receiptsAcked;
    const t0 = Date.now();
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    // --batches: the same messages through POST /v1/batches, as the side-by-side bench sends them.
    const latencies = batches
      ? await postBatches({ agent, url, key: measured.key, messages })
      : await runClients({ total: messages, send: (i) => post(measured.key, i) });
    const accepted = Date.now();
    const final = await waitAllFinal(
      db,
      measured.id,
      messages,
      600_000,
      async () => (await smsc.stats()).receiptsAcked - acked0 >= messages,
    );
    const [h1, p1] = [hongyanCpu(), treeCpu(postmaster)];
    if (process.env.BENCH_CPU_PROF) {
      // The measured phase, for bench/cpu-profile.ts --phases (the child's profile and this
      // process's hrtime share the monotonic clock): start-up and warm-up are left out.
      const toUs = Number(process.hrtime.bigint() / 1000n);
      const phases = [{ mode: batches ? 'batches' : 'singles', fromUs, toUs, requests: messages }];
      // V8 makes the folder only when the child exits, after this.
      mkdirSync(process.env.BENCH_CPU_PROF, { recursive: true });
      writeFileSync(path.join(process.env.BENCH_CPU_PROF, 'phases.json'), JSON.stringify(phases));
    }
    if (process.env.BENCH_TABLE_STATS) await printTableStats(db, stats0);
    if (process.env.BENCH_STATEMENTS) {
      // The measured phase's statements by the server's time in them, per message sent.
      const { rows } = await db.query<{
        calls: string;
        ms: number;
        rows: string;
        toplevel: boolean;
        q: string;
      }>(
        `select calls, total_exec_time + total_plan_time as ms, rows, toplevel,
                left(regexp_replace(query, '\\s+', ' ', 'g'), 160) as q
           from pg_stat_statements where query not like '%pg_stat_statements%'
          order by total_exec_time + total_plan_time desc limit ${process.env.BENCH_STATEMENTS === 'all' ? 40 : 25}`,
      );
      // Nested statements (BENCH_STATEMENTS=all: in triggers and functions, marked ›) are part
      // of their top-level statement's time, so only top-level ones are summed.
      const total = rows.reduce((sum, r) => sum + (r.toplevel ? r.ms : 0), 0);
      console.log(
        `statements (top-level of these: ${Math.round((total / messages) * 1000)} µs of planning and execution per message):`,
      );
      for (const r of rows)
        console.log(
          `  ${r.toplevel ? '' : '› '}${Math.round((r.ms / messages) * 1000)} µs/msg  ${r.calls} calls  ${r.rows} rows  ${r.q}`,
        );
    }
    // Messages whose receipt was written with their submit result, in one update (the recorder's
    // statement sets sent_at and updated_at to one time; a receipt statement later sets its own).
    const early = await db.query<{ n: number }>(
      `select count(*)::int as n from messages
        where tenant_id = $1 and status <> 'sent' and sent_at = updated_at`,
      [measured.id],
    );
    const us = (seconds: number) => Math.round((seconds / messages) * 1e6);
    console.log(
      `${batches ? 'batches' : 'singles'} ${messages}: accepted ${perSecond(messages, accepted - t0)}/s, end to end ` +
        `${perSecond(messages, final - t0)}/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(latencies, 99).toFixed(1)} ms; CPU per message: Hongyan ${us(h1 - h0)} µs, ` +
        `PostgreSQL ${us(p1 - p0)} µs; receipt written with the submit result for ` +
        `${Math.round((100 * early.rows[0]!.n) / messages)} %; load ${load.toFixed(1)} on ${os.cpus().length} cores; ` +
        [...relaxed, root].join('; '),
    );
  } finally {
    await cleanup.run();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runSinglesCpu({
    messages: Number(arg('--messages') ?? 10_000),
    root: path.resolve(arg('--root') ?? HERE),
    batches: process.argv.includes('--batches'),
  });
}
