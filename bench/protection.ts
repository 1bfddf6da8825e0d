// Compliance on the request path: POST /v1/batches of 10,000 recipients checked against all
// rules and caps — a platform blacklist and a tenant blacklist of 1,000,000 numbers each (plus
// opt-outs), the frequency caps counting, quiet hours and the marketing review for marketing,
// and the content rules engine on every rendered message (the default rule sets plus 20,000
// banned words) — against the same request with all of it off: the protection admission steps
// taken out and the rules provider serving no rule sets. Issue 8 asks that checking adds at
// most 50 ms to the request; the figure is the median over rounds of (on − off) of one pair.
//
//   npm run bench -- --protection
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/protection.ts
//
// Without DATABASE_URL it runs on an embedded PostgreSQL started in a temporary folder, the
// server (and version: 18) a default install runs on; DATABASE_URL names another server where a
// bench database may be created (dropped at the end). The version is printed: the same checks
// cost differently on 15 and 18 (migration 0043). In process, through Fastify's inject (no
// sockets), no worker: what is timed is the request, validation to commit. Rounds alternate
// with/without (A/B) after one warm-up of each, so a drift of the machine hits both; every
// round sends to the same 10,000 numbers, each with 8 messages of the day already for the caps
// to count (what a pair adds is deleted after it, so every pair measures the same).
// BENCH_ROUNDS (default 11), BENCH_LIST (default 1,000,000), BENCH_WORDS (banned words, default
// 20,000), BENCH_BATCH (recipients, default 10,000: smaller only for a smoke run), BENCH_TYPE
// (notification, the default, or marketing: then each pair of rounds sends to fresh numbers, so
// that the 3-a-day marketing cap does not refuse most of the batch). BENCH_DEBUG=1 prints each
// protection step's time and each statement it sends; BENCH_KEEP=1 keeps the bench database (its
// name is printed) for EXPLAIN of those statements on the same data. BENCH_CPU_PROF=<dir> writes this process's CPU profile of the
// measured rounds and each request's window by arm, for bench/cpu-profile.ts --phases --mode on|off.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/app/config.ts';
import { createContext } from '../src/app/context.ts';
import { migrate } from '../src/db/migrate.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { createDb } from '../src/db/pool.ts';
import { buildHttpServer } from '../src/http/server.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { compileRules, evaluateContent } from '../src/modules/compliance/rules/rules.models.ts';
import type { RulesProvider } from '../src/modules/compliance/rules/rules.provider.ts';
import type { AdmissionStep } from '../src/modules/messages/admission.ts';
import { procTicks } from './proc-stat.ts';

/** Messages each recipient of a notification batch already has that day, for the caps to count. */
const EARLIER_MESSAGES = 8;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * A 95 % interval of the median of `xs` (percentile bootstrap, 2,000 resamples from a seeded
 * generator, so a run prints the same interval for the same pairs): how far the run's median could
 * be from the machine's, given how much its pairs spread. A median near the target with a wide
 * interval says the run cannot tell met from not met.
 */
function medianInterval(xs: number[]): [number, number] {
  let seed = 0x5eed;
  const random = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 0x100000000;
  };
  const medians: number[] = [];
  for (let b = 0; b < 2000; b++)
    medians.push(median(Array.from(xs, () => xs[Math.floor(random() * xs.length)]!)));
  medians.sort((a, b) => a - b);
  return [medians[Math.floor(0.025 * medians.length)]!, medians[Math.floor(0.975 * medians.length)]!];
}

/** `count` distinct banned words of 2–4 CJK characters, from a seeded generator (as bench/compliance.ts). */
function bannedWords(count: number): string[] {
  let seed = 20_250_301;
  const random = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 0x100000000;
  };
  const out = new Set<string>();
  while (out.size < count) {
    let w = '';
    const length = 2 + Math.floor(random() * 3);
    for (let i = 0; i < length; i++) w += String.fromCharCode(0x4e00 + 3 * Math.floor(random() * 3000));
    out.add(w);
  }
  return [...out];
}

/** An embedded PostgreSQL in a temporary folder, as a default install runs one. */
async function temporaryServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hongyan-bench-protection-'));
  chmodSync(tmp, 0o755); // the embedded PostgreSQL may run as another account
  const server = await startEmbeddedPostgres({ dataDir: tmp });
  return {
    url: server.adminConnectionString,
    async stop() {
      await server.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export async function runProtectionBench(): Promise<void> {
  const embedded = process.env.DATABASE_URL === undefined ? await temporaryServer() : null;
  try {
    await benchOn(embedded?.url ?? process.env.DATABASE_URL!, embedded !== null);
  } finally {
    if (embedded !== null && process.env.BENCH_KEEP)
      console.log(`embedded server left running: ${embedded.url}`);
    else await embedded?.stop();
  }
}

async function benchOn(serverUrl: string, embedded: boolean): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 11);
  const listSize = Number(process.env.BENCH_LIST ?? 1_000_000);
  const wordCount = Number(process.env.BENCH_WORDS ?? 20_000);
  const type = process.env.BENCH_TYPE === 'marketing' ? 'marketing' : 'notification';
  const batchSize = Number(process.env.BENCH_BATCH ?? 10_000);
  const name = `hy_bench_protection_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const version = (await admin.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]!
    .v;
  console.log(`PostgreSQL ${version}${embedded ? ' (embedded, in a temporary folder)' : ` at DATABASE_URL`}`);
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
    // Vacuumed, not only analyzed: lists are mostly static, so their pages are all-visible (index-only
    // look-ups read no heap), and autovacuum then has no 2,000,000 fresh rows to vacuum during the
    // measured rounds (it did, beside them: PostgreSQL CPU per request moved by 60 ms between runs).
    await db.pool.query('vacuum analyze platform_blacklist, tenant_blacklist, opt_outs');
    await db.pool.query(
      `insert into compliance_rule_words (set_id, word) select 'banned_words', w from unnest($1::text[]) as w
       on conflict do nothing`,
      [bannedWords(wordCount)],
    );
    await db.pool.query('update compliance_rules_revision set revision = revision + 1');
    console.log(
      `lists: ${listSize.toLocaleString()} + ${listSize.toLocaleString()} numbers and ${wordCount.toLocaleString()} banned words loaded in ${Math.round(performance.now() - t0)} ms`,
    );

    // Notification: every round to the same 10,000 numbers, each of which already has
    // EARLIER_MESSAGES of the day for the caps to count (the rows a pair adds are deleted after
    // it, so every pair counts the same). Marketing: pair n to the numbers n·batch + 1…, as its
    // cap is 3 a day.
    const content =
      type === 'marketing'
        ? '【鸿雁】春季新品上市，会员专享九折，回T退订'
        : '【鸿雁】您的订单已发货，请注意查收';
    const payloadFor = (pair: number) => {
      const base = type === 'marketing' ? pair * batchSize : 0;
      const recipients = Array.from({ length: batchSize }, (_, i) => ({
        to: `139${String(base + i + 1).padStart(8, '0')}`,
      }));
      return JSON.stringify({ content, type, recipients });
    };
    const headers = { authorization: `Bearer ${apiKey.key}`, 'content-type': 'application/json' };
    const steps = ctx.admission.steps as AdmissionStep[];
    const protection = steps.filter((s) => s.order < 900);
    if (process.env.BENCH_DEBUG) {
      // Each statement a step sends, with its wall time (the step's own code is the rest).
      const timedClient = (client: pg.PoolClient, label = ''): pg.PoolClient =>
        new Proxy(client, {
          get(target, property) {
            if (property !== 'query') return Reflect.get(target, property);
            return async (sql: string, params?: unknown[]) => {
              const t = performance.now();
              const result = await target.query(sql, params);
              const head = sql.replace(/\s+/g, ' ').trim().slice(0, 70);
              console.log(`  ${label}${(performance.now() - t).toFixed(1)} ms  ${head}`);
              return result;
            };
          },
        });
      // A connection a step takes from the pool beside its transaction's (the lists' look-up),
      // its statements marked as such.
      // (pool.query connects with a callback: that form is passed through as it is.)
      let checking = 0;
      const connect = db.pool.connect.bind(db.pool) as (...args: unknown[]) => unknown;
      (db.pool as { connect: (...args: unknown[]) => unknown }).connect = (...args: unknown[]) =>
        args.length > 0 || checking === 0
          ? connect(...args)
          : (connect() as Promise<pg.PoolClient>).then((client) => timedClient(client, 'beside: '));
      for (const s of protection) {
        const check = s.check.bind(s);
        const after = s.afterInsert?.bind(s);
        s.check = async (client, ...rest) => {
          const t = performance.now();
          const c = process.cpuUsage();
          checking++;
          const r = await check(timedClient(client), ...rest).finally(() => checking--);
          const cpu = process.cpuUsage(c);
          console.log(
            `${s.name} check ${Math.round(performance.now() - t)} ms, Hongyan CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms`,
          );
          return r;
        };
        const early = s.checkEarly?.bind(s);
        if (early)
          s.checkEarly = async (client, ...rest) => {
            const t = performance.now();
            const c = process.cpuUsage();
            checking++;
            const r = await early(timedClient(client), ...rest).finally(() => checking--);
            const cpu = process.cpuUsage(c);
            console.log(
              `${s.name} early answer ${Math.round(performance.now() - t)} ms, Hongyan CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms`,
            );
            // The caps counted beside the write (on a spare connection, marked as such).
            r.later
              ?.then(() => console.log(`${s.name} late answer after ${Math.round(performance.now() - t)} ms`))
              .catch(() => {});
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
    // Off: no protection step, and a rules provider with no rule set (the message is still
    // composed and signed, which is the send itself, not a check).
    const rules = ctx.rules;
    const noRules = compileRules([]);
    const rulesOff: RulesProvider = { current: async () => noRules, invalidate: () => {} };
    const setProtection = (on: boolean) => {
      for (const s of protection) {
        const i = steps.indexOf(s);
        if (!on && i >= 0) steps.splice(i, 1);
        if (on && i < 0) steps.push(s);
      }
      steps.sort((a, b) => a.order - b.order);
      ctx.rules = on ? rules : rulesOff;
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
          ticks.set(pid, procTicks(pid).own);
        } catch {
          return null;
        }
      }
      return ticks;
    };
    // BENCH_CPU_PROF=<dir>: this process's CPU profile of the measured rounds, and each request's
    // time window by arm in phases.json, for `bench/cpu-profile.ts <dir>/protection.cpuprofile
    // --phases <dir>/phases.json --mode on` (and `--mode off`): where Hongyan's added CPU goes.
    const phases: { mode: string; fromUs: number; toUs: number; requests: number }[] = [];
    let measuring = false;
    const once = async (on: boolean, pair: number) => {
      setProtection(on);
      const payload = payloadFor(pair);
      const pgBefore = await backendTicks();
      const cpuBefore = process.cpuUsage();
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      const start = performance.now();
      const res = await app.inject({ method: 'POST', url: '/v1/batches', headers, payload });
      const ms = performance.now() - start;
      if (measuring)
        phases.push({
          mode: on ? 'on' : 'off',
          fromUs,
          toUs: Number(process.hrtime.bigint() / 1000n),
          requests: 1,
        });
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
          `${on ? 'on' : 'off'}: request ${Math.round(ms)} ms, Hongyan CPU ${Math.round(cpuMs)} ms`,
        );
      return { ms, cpuMs, pgCpuMs, accepted: body.accepted, rejected: body.rejected };
    };
    if (process.env.BENCH_DEBUG) {
      // The content rules engine alone: what the batch's 10,000 rendered texts cost it.
      const compiled = await rules.current();
      const text = JSON.parse(payloadFor(0)).content as string;
      for (let pass = 0; pass < 3; pass++) {
        const t = performance.now();
        for (let i = 0; i < batchSize; i++)
          evaluateContent({ content: text, type, subject: 'message' }, compiled);
        console.log(`rules engine, ${batchSize} texts: ${Math.round(performance.now() - t)} ms`);
      }
    }
    await once(true, 0);
    await once(false, 0);
    if (type === 'notification') for (let k = 2; k < EARLIER_MESSAGES; k++) await once(false, 0);
    const seeded = Number(
      (await db.pool.query<{ id: string | null }>('select max(id) as id from messages')).rows[0]!.id ?? 0,
    );
    const withTimes: number[] = [];
    const withoutTimes: number[] = [];
    const added: number[] = [];
    const cpu = { with: 0, without: 0, pgWith: 0 as number | null, pgWithout: 0 as number | null };
    const addPg = (sum: number | null, v: number | null) => (sum === null || v === null ? null : sum + v);
    let lastWith = { accepted: 0, rejected: 0 };
    const profileDir = process.env.BENCH_CPU_PROF;
    const profiler = profileDir ? new inspector.Session() : null;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    measuring = true;
    for (let r = 0; r < rounds; r++) {
      // Between pairs, untimed: messages vacuumed and analyzed, as autovacuum and the statistics
      // worker keep it (src/db/statistics.ts), so that neither runs beside a measured request
      // (each request adds 10,000 rows; autovacuum's work on them landed in either arm by chance).
      if (type === 'notification') await db.pool.query('delete from messages where id > $1', [seeded]);
      await db.pool.query('vacuum analyze messages');
      // Which arm goes first alternates, so neither always runs on a cache the other warmed.
      const pair = r + 1;
      const onFirst = r % 2 === 0;
      const a = onFirst ? await once(true, pair) : null;
      const b = await once(false, pair);
      const on = a ?? (await once(true, pair));
      withTimes.push(on.ms);
      added.push(on.ms - b.ms);
      cpu.with += on.cpuMs;
      cpu.pgWith = addPg(cpu.pgWith, on.pgCpuMs);
      lastWith = on;
      withoutTimes.push(b.ms);
      cpu.without += b.cpuMs;
      cpu.pgWithout = addPg(cpu.pgWithout, b.pgCpuMs);
    }
    measuring = false;
    if (profiler && profileDir) {
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      mkdirSync(profileDir, { recursive: true });
      writeFileSync(path.join(profileDir, 'protection.cpuprofile'), JSON.stringify(profile));
      writeFileSync(path.join(profileDir, 'phases.json'), JSON.stringify(phases));
      console.log(`CPU profile of the measured rounds in ${profileDir} (BENCH_CPU_PROF)`);
    }
    setProtection(true);
    const w = median(withTimes);
    const wo = median(withoutTimes);
    const perRequest = median(added);
    console.log(
      JSON.stringify(
        {
          [`${type} batch of ${batchSize.toLocaleString()}, rules and caps on: ms (median)`]: Math.round(w),
          [`${type} batch of ${batchSize.toLocaleString()}, off: ms (median)`]: Math.round(wo),
          'added to the request by checking (median of on − off per pair): ms': Math.round(perRequest),
          'added, 95 % interval of that median (bootstrap over the pairs): ms': medianInterval(added).map(
            Math.round,
          ),
          'added, each pair: ms': added.map(Math.round),
          'target (issue 8, a batch of 10,000): at most 50 ms':
            batchSize !== 10_000
              ? 'not judged (BENCH_BATCH is not 10,000)'
              : perRequest <= 50
                ? 'met'
                : 'not met',
          'with, each round: ms': withTimes.map(Math.round),
          'without, each round: ms': withoutTimes.map(Math.round),
          'Hongyan CPU per request, with / without: ms (mean)': `${Math.round(cpu.with / rounds)} / ${Math.round(cpu.without / rounds)}`,
          'PostgreSQL CPU per request, with / without: ms (mean)':
            cpu.pgWith === null || cpu.pgWithout === null
              ? 'not readable'
              : `${Math.round(cpu.pgWith / rounds)} / ${Math.round(cpu.pgWithout / rounds)}`,
          'on: accepted / refused (the 100 blacklisted, and any capped)': `${lastWith.accepted} / ${lastWith.rejected}`,
        },
        null,
        2,
      ),
    );
    await app.close();
  } finally {
    await db.close();
    if (process.env.BENCH_KEEP) console.log(`kept database ${name} (BENCH_KEEP): drop it when done`);
    else await admin.query(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runProtectionBench().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
