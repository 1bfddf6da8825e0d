// The short-link redirect (`GET /s/:code`) under a campaign's first-minute traffic: Hongyan's HTTP
// server in this process on a real socket (links from its in-memory cache, clicks queued and
// written in batches), N short links stored as a campaign run stores them, and C keep-alive
// clients in a child process asking for random codes for D seconds. Issue 12 asks ≥ 5,000
// redirects/s on the 2-core machine.
//
//   npm run bench -- --shortlinks
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/shortlinks.ts
//
// DATABASE_URL names a server where a bench database may be created (dropped at the end); without
// it, the embedded server of HONGYAN_DATA_DIR is not used: the bench needs DATABASE_URL.
// BENCH_LINKS (default 20,000), BENCH_CLIENTS (default 64), BENCH_SECONDS (default 10);
// BENCH_CPU_PROFILE=out.cpuprofile writes the server's CPU profile of the measured phase.
//
// The clients run in a child process, which on 2 cores takes about as much CPU as the server, so
// the rate is a lower bound of what the server alone does. Printed: redirects/s (after a 1 s
// warm-up), latency p50/p99 at the clients, non-302 answers, the clicks stored once the recorder
// has flushed (they must equal the redirects answered), and the CPU each redirect cost the server
// process: on a busy machine that, not the wall-clock rate, says what one core does.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/app/config.ts';
import { createContext } from '../src/app/context.ts';
import { migrate } from '../src/db/migrate.ts';
import { createDb } from '../src/db/pool.ts';
import { buildHttpServer } from '../src/http/server.ts';
import { newCode } from '../src/modules/shortlinks/shortlinks.models.ts';
import { insertShortLinks } from '../src/modules/shortlinks/shortlinks.sql.ts';

function databaseUrl(adminUrl: string, database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

// The load: C keep-alive clients, each asking for a random code as soon as its last answer came.
// Plain JavaScript run with `node -e`, so the child needs no TypeScript loader. Each line on stdin
// ({ ms, latencies }) drives one phase; its counts (and latencies) come back as one line.
const CLIENT = `
const http = require('node:http');
const fs = require('node:fs');
const readline = require('node:readline');
const [port, codesFile, clients] = process.argv.slice(1);
const codes = JSON.parse(fs.readFileSync(codesFile, 'utf8'));
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(clients) });
const ua = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148';
const one = () => new Promise((resolve, reject) => {
  const code = codes[Math.floor(Math.random() * codes.length)];
  const req = http.get({ host: '127.0.0.1', port: Number(port), path: '/s/' + code, agent, headers: { 'user-agent': ua } }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
  });
  req.on('error', reject);
});
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const { ms, latencies } = JSON.parse(line);
  const out = { ok: 0, other: 0, latencies: [] };
  const until = Date.now() + ms;
  await Promise.all(Array.from({ length: Number(clients) }, async () => {
    while (Date.now() < until) {
      const t0 = process.hrtime.bigint();
      const status = await one();
      if (latencies) out.latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (status === 302) out.ok++; else out.other++;
    }
  }));
  process.stdout.write(JSON.stringify(out) + '\\n');
});
process.stdin.on('end', () => { agent.destroy(); process.exit(0); });
`;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

export async function runShortLinksBench({
  adminUrl = process.env.DATABASE_URL,
  links = Number(process.env.BENCH_LINKS ?? 20_000),
  clients = Number(process.env.BENCH_CLIENTS ?? 64),
  seconds = Number(process.env.BENCH_SECONDS ?? 10),
}: { adminUrl?: string; links?: number; clients?: number; seconds?: number } = {}) {
  if (!adminUrl)
    throw new Error('bench --shortlinks needs DATABASE_URL (a server where it may create a database)');
  const name = `hy_bench_links_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = databaseUrl(adminUrl, name);
  const db = createDb({ connectionString: url, max: 10 });
  try {
    await migrate(db.pool);
    const tenant = await db.pool.query<{ id: string }>(
      `insert into tenants (name) values ('bench') returning id`,
    );
    const tenantId = Number(tenant.rows[0]!.id);
    const codes = Array.from({ length: links }, () => newCode());
    for (let i = 0; i < codes.length; i += 5000)
      await insertShortLinks(
        db.pool,
        codes.slice(i, i + 5000).map((code, k) => ({
          code,
          tenantId,
          campaignId: null,
          runId: null,
          messageId: i + k + 1,
          contactId: null,
          phone: null,
          target: `https://shop.example.com/item/${i + k}?from=sms`,
        })),
        new Date(),
      );
    const config = loadConfig({ env: { DATABASE_URL: url, HONGYAN_LOG_LEVEL: 'silent' }, configFile: null });
    const ctx = createContext({ config, db, logger: pino({ level: 'silent' }) });
    const app = await buildHttpServer(ctx);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    const codesFile = path.join(os.tmpdir(), `${name}-codes.json`);
    writeFileSync(codesFile, JSON.stringify(codes));
    // The clients in a process of their own: the CPU this process spends is the server's.
    const child = spawn(process.execPath, ['-e', CLIENT, String(port), codesFile, String(clients)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! });
    const replies: string[] = [];
    lines.on('line', (l) => replies.push(l));
    const ask = async (ms: number, latencies: boolean) => {
      const before = replies.length;
      child.stdin!.write(`${JSON.stringify({ ms, latencies })}\n`);
      while (replies.length === before) await new Promise((r) => setTimeout(r, 20));
      return JSON.parse(replies[before]!) as { ok: number; other: number; latencies: number[] };
    };
    const warm = await ask(1000, false);
    // BENCH_CPU_PROFILE=file.cpuprofile: the server's CPU profile of the measured phase only
    // (start-up, migrations and schema compilation left out).
    const profile = process.env.BENCH_CPU_PROFILE ? new inspector.Session() : null;
    if (profile) {
      profile.connect();
      await profile.post('Profiler.enable');
      await profile.post('Profiler.start');
    }
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    const measured = await ask(seconds * 1000, true);
    const cpu = process.cpuUsage(cpu0);
    if (profile) {
      const { profile: taken } = await profile.post('Profiler.stop');
      writeFileSync(process.env.BENCH_CPU_PROFILE!, JSON.stringify(taken));
      profile.disconnect();
    }
    const elapsed = (Date.now() - t0) / 1000;
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
    rmSync(codesFile, { force: true });
    const latencies = measured.latencies;
    // The server's CPU per redirect: on a busy machine the wall-clock rate says little, while this
    // bounds what one core does.
    const cpuUsPerRedirect = (cpu.user + cpu.system) / Math.max(1, measured.ok);
    await app.close(); // flushes the click recorder
    const stored = await db.pool.query<{ n: number }>('select count(*)::int as n from short_link_clicks');
    latencies.sort((a, b) => a - b);
    const rate = measured.ok / elapsed;
    console.log(
      JSON.stringify(
        {
          bench: 'shortlinks',
          links,
          clients,
          seconds: Number(elapsed.toFixed(2)),
          redirects: measured.ok,
          redirects_per_s: Math.round(rate),
          latency_ms: {
            p50: Number(percentile(latencies, 0.5).toFixed(2)),
            p99: Number(percentile(latencies, 0.99).toFixed(2)),
          },
          cpu_us_per_redirect: Math.round(cpuUsPerRedirect),
          redirects_per_cpu_second: Math.round(1e6 / cpuUsPerRedirect),
          non_302: measured.other + warm.other,
          clicks_stored: stored.rows[0]!.n,
          clicks_expected: measured.ok + warm.ok,
          target_per_s: 5000,
        },
        null,
        2,
      ),
    );
    console.log(
      `short-link redirects: ${Math.round(rate)}/s (target ≥ 5,000/s), p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms`,
    );
  } finally {
    await db.close();
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`).catch(() => {});
    await c.end();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  await runShortLinksBench();
}
