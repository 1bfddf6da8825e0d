// Single sends, signed (HMAC, docs/api-signing.md) against bearer, end to end: a real
// `hongyan start --roles api` in a child process on a database of its own, driven over HTTP from
// this process (the load generator), so that the CPU counted is Hongyan's and not the clients'.
// Phases alternate bearer and signed, the first of each round alternating too (A/B, B/A, A/B,
// B/A, after uncounted warm-up phases of each), so that a drift of the machine or of the warming
// process hits both alike; each figure is the median of its phases. No worker runs: this
// measures what the signature adds to authentication and intake.
//
//   npm run bench -- --signed
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/signed.ts
//
// DATABASE_URL names a server where a bench database may be created (dropped at the end).
// BENCH_PHASE_MS (default 4000), BENCH_CLIENTS (default 50), BENCH_ROUNDS (rounds of both
// modes, default 4), BENCH_WARMUPS (uncounted phases of each mode first, default 2),
// BENCH_ONLY=bearer|signed (one mode alone), BENCH_CPU_PROF=<dir> (a CPU profile of the Hongyan
// child and the counted phases' times in <dir>/phases.json: bench/cpu-profile.ts reads both).
//
// Printed per mode: requests/s of each phase and their median; Hongyan's CPU (user + system of
// the child, /proc/<pid>/stat) per request; and PostgreSQL's CPU per request, summed over the
// bench database's backends (their /proc/<pid>/stat; a backend that exits mid-phase is missed,
// so it is indicative).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { canonicalString, sha256Hex, sign } from '../src/modules/credentials/credentials.models.ts';
import { type HongyanChild, request, startHongyanChild } from './hongyan-child.ts';
import { CLOCK_TICKS, procTicks } from './proc-stat.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Mode = 'bearer' | 'signed';
interface PhaseResult {
  mode: Mode;
  /** When the phase ran, on the monotonic clock V8's CPU profiles use (µs). */
  fromUs: number;
  toUs: number;
  requests: number;
  rate: number;
  hongyanCpuUs: number;
  dbCpuUs: number;
}

/** utime + stime of a process in µs, or null when it is gone or unreadable. */
function cpuOf(pid: number): number | null {
  try {
    return (procTicks(pid).own * 1e6) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

export async function runSignedBench({
  adminUrl = process.env.DATABASE_URL,
  phaseMs = Number(process.env.BENCH_PHASE_MS ?? 4000),
  clients = Number(process.env.BENCH_CLIENTS ?? 50),
  rounds = Number(process.env.BENCH_ROUNDS ?? 4),
  warmups = Number(process.env.BENCH_WARMUPS ?? 2),
}: { adminUrl?: string; phaseMs?: number; clients?: number; rounds?: number; warmups?: number } = {}) {
  if (!adminUrl) throw new Error('set DATABASE_URL to a server where a bench database may be created');
  const name = `hy_bench_signed_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hy-bench-signed-'));
  let hongyan: HongyanChild | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  try {
    const childEnv = { DATABASE_URL: url.toString(), HONGYAN_DATA_DIR: dataDir, HONGYAN_SIMULATOR: 'off' };
    hongyan = await startHongyanChild({ env: childEnv, roles: 'api' });
    const { url: base, key, tenantId } = hongyan;
    // The tenant must be able to send free text signed 【鸿雁】 where compliance checks that
    // (tenants.free_text, an approved signature), as an operator would allow; each guarded, so
    // the bench runs on a tree with or without those tables.
    // Where sends are charged, the demo tenant's starting credit would run out mid-run.
    try {
      execFileSync(
        process.execPath,
        [
          path.join(ROOT, 'bin/hongyan.js'),
          'billing',
          'credit',
          '--tenant',
          String(tenantId),
          '--parts',
          '1000000000',
        ],
        { cwd: ROOT, env: { ...process.env, ...childEnv }, stdio: 'ignore' },
      );
    } catch {
      // No billing in this tree: nothing to credit.
    }
    const bench = new pg.Client({ connectionString: url.toString() });
    await bench.connect();
    await bench
      .query(
        `do $$ begin
         if exists (select from information_schema.columns
                     where table_name = 'tenants' and column_name = 'free_text') then
           update tenants set free_text = true where id = ${Number(tenantId)};
         end if;
         if exists (select from information_schema.tables where table_name = 'signatures') then
           update signatures set status = 'approved'
            where tenant_id = ${Number(tenantId)} and name = '鸿雁';
           if not found then
             insert into signatures (tenant_id, name, source, status, extension_code, is_default)
             values (${Number(tenantId)}, '鸿雁', 'company', 'approved', '01', true);
           end if;
         end if;
       end $$`,
      )
      .finally(() => bench.end());
    const created = await request(base, 'POST', '/v1/credentials', key, {
      name: 'bench',
      scopes: ['send'],
      rate_limit: 1_000_000,
    });
    if (created.status !== 201) throw new Error(`credential create answered ${created.status}`);
    const appKey: string = created.body.credential.app_key;
    const appSecret: string = created.body.app_secret;
    const { port } = new URL(base);

    // A new recipient each request: recipient protection caps sends to one number.
    let sent = 0;
    const nextBody = () =>
      JSON.stringify({
        to: String(13_000_000_000 + sent++),
        content: '【鸿雁】您的验证码是 123456',
        type: 'verification',
      });
    const headersFor: Record<Mode, (body: string) => Record<string, string>> = {
      bearer: () => ({ authorization: `Bearer ${key}` }),
      signed: (body) => {
        const timestamp = String(Math.floor(Date.now() / 1000));
        const nonce = randomBytes(12).toString('base64url');
        const canonical = canonicalString({
          method: 'POST',
          url: '/v1/messages',
          bodySha256: sha256Hex(body),
          timestamp,
          nonce,
        });
        return {
          'x-hy-key': appKey,
          'x-hy-timestamp': timestamp,
          'x-hy-nonce': nonce,
          'x-hy-signature': sign(appSecret, canonical),
        };
      },
    };
    const post = (mode: Mode) =>
      new Promise<number>((resolve, reject) => {
        const body = nextBody();
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/v1/messages',
            agent,
            headers: {
              ...headersFor[mode](body),
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              if (res.statusCode === 202) resolve(202);
              else reject(new Error(`${mode} send answered ${res.statusCode}: ${Buffer.concat(chunks)}`));
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    const backendPids = async () =>
      (
        await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [name])
      ).rows.map((r) => r.pid);
    const dbCpu = async () => {
      const byPid = new Map<number, number>();
      for (const pid of await backendPids()) {
        const cpu = cpuOf(pid);
        if (cpu !== null) byPid.set(pid, cpu);
      }
      return byPid;
    };

    async function phase(mode: Mode): Promise<PhaseResult> {
      const dbBefore = await dbCpu();
      const cpuBefore = cpuOf(hongyan!.child.pid!) ?? 0;
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      const started = Date.now();
      const until = started + phaseMs;
      let ok = 0;
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (Date.now() < until) {
            await post(mode);
            ok += 1;
          }
        }),
      );
      const elapsed = Date.now() - started;
      const toUs = Number(process.hrtime.bigint() / 1000n);
      const hongyanCpu = (cpuOf(hongyan!.child.pid!) ?? 0) - cpuBefore;
      let dbUsed = 0;
      for (const [pid, cpu] of await dbCpu()) dbUsed += cpu - (dbBefore.get(pid) ?? 0);
      return {
        mode,
        fromUs,
        toUs,
        requests: ok,
        rate: (ok / elapsed) * 1000,
        hongyanCpuUs: hongyanCpu / ok,
        dbCpuUs: dbUsed / ok,
      };
    }

    const modes = (['bearer', 'signed'] as const).filter((m) => (process.env.BENCH_ONLY ?? m) === m);
    // Warm-up, not counted: on a fresh database a run's first phases are far slower (pools,
    // plans, JIT, the tables' first statistics), e.g. 162 against 351–399 requests/s after.
    for (let i = 0; i < warmups; i++) for (const mode of modes) await phase(mode);
    const runs: Record<Mode, PhaseResult[]> = { bearer: [], signed: [] };
    // Each round runs both, the first of the round alternating (A/B, B/A, A/B, ...): a run speeds
    // up as it warms (pools, plans, JIT), and a fixed order would hand that drift to one mode.
    for (let i = 0; i < rounds; i++)
      for (const mode of i % 2 === 0 ? modes : [...modes].reverse()) runs[mode].push(await phase(mode));
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      const mid = Math.floor(s.length / 2);
      return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
    };
    const summary = (mode: Mode) => ({
      per_s: runs[mode].map((r) => Math.round(r.rate)),
      median_per_s: Math.round(median(runs[mode].map((r) => r.rate))),
      hongyan_cpu_us_per_request: runs[mode].map((r) => Math.round(r.hongyanCpuUs)),
      median_hongyan_cpu_us_per_request: Math.round(median(runs[mode].map((r) => r.hongyanCpuUs))),
      median_db_cpu_us_per_request: Math.round(median(runs[mode].map((r) => r.dbCpuUs))),
    });
    const bearer = summary('bearer');
    const signed = summary('signed');
    const percent = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)}%`;
    const result = {
      clients,
      phase_ms: phaseMs,
      rounds,
      warmups,
      bearer,
      signed,
      signed_vs_bearer_rate: percent(signed.median_per_s, bearer.median_per_s),
      signed_vs_bearer_hongyan_cpu: percent(
        signed.median_hongyan_cpu_us_per_request,
        bearer.median_hongyan_cpu_us_per_request,
      ),
    };
    console.log(JSON.stringify(result));
    if (process.env.BENCH_CPU_PROF) {
      // The counted phases, for bench/cpu-profile.ts --phases: the child's profile and this
      // process's hrtime share the monotonic clock, so each mode's samples can be told apart.
      const phases = [...runs.bearer, ...runs.signed].map(({ mode, fromUs, toUs, requests }) => ({
        mode,
        fromUs,
        toUs,
        requests,
      }));
      // V8 makes the folder only when the child exits, after this.
      mkdirSync(process.env.BENCH_CPU_PROF, { recursive: true });
      writeFileSync(path.join(process.env.BENCH_CPU_PROF, 'phases.json'), JSON.stringify(phases));
    }
    return result;
  } finally {
    agent.destroy();
    await hongyan?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runSignedBench();
