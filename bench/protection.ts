// Recipient protection on the request path: POST /v1/batches of 10,000 recipients against a
// platform blacklist and a tenant blacklist of 1,000,000 numbers each (plus opt-outs), with the
// frequency caps counting, against the same request with the protection steps taken out.
// Issue 8 asks that the checks add at most 50 ms to the request.
//
//   npm run bench -- --protection
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/protection.ts
//
// DATABASE_URL names a server where a bench database may be created (dropped at the end); the
// default is the local server's `postgres` database. In process, through Fastify's inject (no
// sockets), no worker: what is timed is the request, validation to commit. Rounds alternate
// with/without (A/B) after one warm-up of each, so a drift of the machine hits both; every
// round sends to the same 10,000 numbers, so the caps count real rows (one more each round).
// BENCH_ROUNDS (default 5), BENCH_LIST (default 1,000,000).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/app/config.ts';
import { createContext } from '../src/app/context.ts';
import { migrate } from '../src/db/migrate.ts';
import { createDb } from '../src/db/pool.ts';
import { buildHttpServer } from '../src/http/server.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import type { AdmissionStep } from '../src/modules/messages/admission.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runProtectionBench(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const listSize = Number(process.env.BENCH_LIST ?? 1_000_000);
  const name = `hy_bench_protection_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = createDb({ connectionString: url.toString(), max: 10 });
  try {
    await migrate(db.pool);
    const config = loadConfig({
      env: { HONGYAN_LOG_LEVEL: 'silent', HONGYAN_BILLING: 'off' },
      configFile: null,
    });
    const ctx = createContext({ config, db, logger: pino({ level: 'silent' }) });
    const app = await buildHttpServer(ctx);
    const { tenant, apiKey } = await createTenant({ name: 'bench protection', repository: ctx.accounts });
    await db.pool.query('update tenants set free_text = true where id = $1', [tenant.id]);
    await db.pool.query(
      `insert into signatures (tenant_id, name, source, status, extension_code, is_default)
       values ($1, '鸿雁', 'company', 'approved', '01', true) on conflict do nothing`,
      [tenant.id],
    );

    // Lists of listSize numbers in 135…, 136…; the batch's numbers are 139… with one in 100 listed.
    const t0 = performance.now();
    await db.pool.query(
      `insert into platform_blacklist (phone, reason, created_at)
       select '+86135' || lpad(i::text, 8, '0'), 'complaint', now() from generate_series(1, $1) as i`,
      [listSize],
    );
    await db.pool.query(
      `insert into tenant_blacklist (tenant_id, phone, reason, created_at)
       select $1, '+86136' || lpad(i::text, 8, '0'), 'carrier_list', now() from generate_series(1, $2) as i`,
      [tenant.id, listSize],
    );
    await db.pool.query(
      `insert into opt_outs (tenant_id, phone, source, created_at)
       select $1, '+86137' || lpad(i::text, 8, '0'), 'api', now() from generate_series(1, 100000) as i`,
      [tenant.id],
    );
    await db.pool.query(
      `insert into platform_blacklist (phone, reason, created_at)
       select '+86139' || lpad((i * 100)::text, 8, '0'), 'complaint', now() from generate_series(1, 100) as i`,
    );
    await db.pool.query('analyze platform_blacklist, tenant_blacklist, opt_outs');
    console.log(
      `lists: ${listSize.toLocaleString()} + ${listSize.toLocaleString()} numbers loaded in ${Math.round(performance.now() - t0)} ms`,
    );

    const recipients = Array.from({ length: 10_000 }, (_, i) => ({
      to: `139${String(i + 1).padStart(8, '0')}`,
    }));
    const payload = JSON.stringify({ content: '【鸿雁】您的订单已发货', type: 'notification', recipients });
    const headers = { authorization: `Bearer ${apiKey.key}`, 'content-type': 'application/json' };
    const steps = ctx.admission.steps as AdmissionStep[];
    const protection = steps.filter((s) => s.order < 900);
    if (process.env.BENCH_DEBUG) {
      for (const s of protection) {
        const check = s.check.bind(s);
        const after = s.afterInsert?.bind(s);
        s.check = async (...args) => {
          const t = performance.now();
          const c = process.cpuUsage();
          const r = await check(...args);
          const cpu = process.cpuUsage(c);
          console.log(
            `${s.name} check ${Math.round(performance.now() - t)} ms, Hongyan CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms`,
          );
          return r;
        };
        if (after)
          s.afterInsert = async (...args) => {
            const t = performance.now();
            await after(...args);
            console.log(`${s.name} afterInsert ${Math.round(performance.now() - t)} ms`);
          };
      }
    }
    const setProtection = (on: boolean) => {
      for (const s of protection) {
        const i = steps.indexOf(s);
        if (!on && i >= 0) steps.splice(i, 1);
        if (on && i < 0) steps.push(s);
      }
      steps.sort((a, b) => a.order - b.order);
    };
    // CPU, beside wall time (the machine is shared): this process's (process.cpuUsage), and
    // PostgreSQL's, read from /proc/<pid>/stat of the bench database's backends (utime + stime,
    // in ticks of 10 ms: sum over rounds before reading much into one); null where /proc is not
    // readable (a remote server).
    const backendTicks = async () => {
      const pids = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [
        name,
      ]);
      const ticks = new Map<number, number>();
      for (const { pid } of pids.rows) {
        try {
          const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
          ticks.set(pid, Number(fields[11]) + Number(fields[12]));
        } catch {
          return null;
        }
      }
      return ticks;
    };
    const once = async (on: boolean) => {
      setProtection(on);
      const pgBefore = await backendTicks();
      const cpuBefore = process.cpuUsage();
      const start = performance.now();
      const res = await app.inject({ method: 'POST', url: '/v1/batches', headers, payload });
      const ms = performance.now() - start;
      const cpu = process.cpuUsage(cpuBefore);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const pgAfter = await backendTicks();
      let pgCpuMs: number | null = null;
      if (pgBefore && pgAfter) {
        pgCpuMs = 0;
        for (const [pid, t] of pgAfter) pgCpuMs += (t - (pgBefore.get(pid) ?? 0)) * 10;
      }
      if (res.statusCode !== 202)
        throw new Error(`batch refused: ${res.statusCode} ${res.body.slice(0, 300)}`);
      const body = res.json() as {
        accepted: number;
        rejected: number;
        results: { error?: { code: string } }[];
      };
      if (process.env.BENCH_DEBUG)
        console.log(
          on,
          body.results.slice(0, 3).map((r) => r.error?.code),
        );
      return { ms, cpuMs, pgCpuMs, accepted: body.accepted, rejected: body.rejected };
    };
    await once(true);
    await once(false);
    const withTimes: number[] = [];
    const withoutTimes: number[] = [];
    const cpu = { with: 0, without: 0, pgWith: 0 as number | null, pgWithout: 0 as number | null };
    const addPg = (sum: number | null, v: number | null) => (sum === null || v === null ? null : sum + v);
    let lastWith = { accepted: 0, rejected: 0 };
    for (let r = 0; r < rounds; r++) {
      const a = await once(true);
      withTimes.push(a.ms);
      cpu.with += a.cpuMs;
      cpu.pgWith = addPg(cpu.pgWith, a.pgCpuMs);
      lastWith = a;
      const b = await once(false);
      withoutTimes.push(b.ms);
      cpu.without += b.cpuMs;
      cpu.pgWithout = addPg(cpu.pgWithout, b.pgCpuMs);
    }
    setProtection(true);
    const w = median(withTimes);
    const wo = median(withoutTimes);
    console.log(
      JSON.stringify(
        {
          'batch of 10,000, with protection: ms (median)': Math.round(w),
          'batch of 10,000, without: ms (median)': Math.round(wo),
          'added by protection: ms': Math.round(w - wo),
          'with, each round: ms': withTimes.map(Math.round),
          'without, each round: ms': withoutTimes.map(Math.round),
          'Hongyan CPU per request, with / without: ms (mean)': `${Math.round(cpu.with / rounds)} / ${Math.round(cpu.without / rounds)}`,
          'PostgreSQL CPU per request, with / without: ms (mean)':
            cpu.pgWith === null || cpu.pgWithout === null
              ? 'not readable'
              : `${Math.round(cpu.pgWith / rounds)} / ${Math.round(cpu.pgWithout / rounds)}`,
          'with: accepted / refused (the 100 blacklisted)': `${lastWith.accepted} / ${lastWith.rejected}`,
        },
        null,
        2,
      ),
    );
    await app.close();
  } finally {
    await db.close();
    await admin.query(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runProtectionBench().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
