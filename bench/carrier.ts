// Carrier benchmark (issue 5, section 2): a real `hongyan start` (child process, the default
// install: embedded PostgreSQL) sending through batches to an SMSC that is not ours
// (bench/npm-smsc.ts), in three runs of N messages each, Hongyan restarted between runs so that
// each starts with a fresh send rate:
//
//   clean          the SMSC takes every submit;
//   token bucket   the SMSC answers ESME_RTHROTTLED above R submits/s: target ≥ 80 % of R;
//   random         the SMSC answers a share p of submits ESME_RTHROTTLED: target ≥ 50 % of clean.
//
// For each run: end-to-end messages/s (first POST to last final), the rate at which the SMSC took
// submits, throttled answers, and how many messages did not end with the outcome the SMSC decided
// for them. Figures are printed, never asserted (house rule: speed goes in bench/, not in tests).
//
// Usage: npm run bench -- --carrier [--messages 10000]
//        BENCH_CARRIER_RATE (R, default 2000; 'auto': half the clean run's rate), BENCH_CARRIER_SHARE (p, default 0.1),
//        BENCH_CARRIER_TIMEOUT_S (per run, default 120: a run that stalls reports what it did).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, type HongyanChild, sendBatches, startHongyanChild } from './hongyan-child.ts';
import { type NpmSmsc, type NpmSmscOptions, outcomeByLastDigit, startNpmSmsc } from './npm-smsc.ts';
import { FINAL_STATUSES } from '../src/modules/messages/messages.models.ts';

const FINAL: string[] = [...FINAL_STATUSES];

interface RunResult {
  name: string;
  messages: number;
  final: number;
  seconds: number;
  endToEnd: number;
  smscTook: number;
  /**
   * Submits taken between the 50th and the 95th percentile: the second half of the run, after
   * the rate has had time to find the carrier's limit (the climb and the tail left out).
   */
  smscSteady: number;
  throttled: number;
  notOwnOutcome: number;
  /** Submits taken and refused in each second of the run: how the rate settles. */
  profile: string;
}

async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function steadyRate(times: number[]): number {
  const lo = Math.floor(times.length * 0.5);
  const hi = Math.floor(times.length * 0.95);
  const span = (times[hi]! - times[lo]!) / 1000;
  return times.length >= 10 && span > 0 ? (hi - lo) / span : Number.NaN;
}

/** "taken/refused" per second from the first submit, e.g. "3400/0 2100/310 1900/95". */
function profileOf(taken: number[], refused: number[]): string {
  if (taken.length === 0) return '';
  const start = taken[0]!;
  const seconds = Math.ceil((Math.max(taken.at(-1)!, refused.at(-1) ?? 0) - start + 1) / 1000);
  const t = new Array<number>(seconds).fill(0);
  const r = new Array<number>(seconds).fill(0);
  for (const at of taken) t[Math.floor((at - start) / 1000)]!++;
  for (const at of refused) if (at >= start) r[Math.floor((at - start) / 1000)]!++;
  return t.map((n, i) => `${n}/${r[i]}`).join(' ');
}

async function run({
  name,
  offset,
  messages,
  timeoutMs,
  db,
  smsc,
  hongyan,
  key,
}: {
  name: string;
  offset: number;
  messages: number;
  timeoutMs: number;
  db: pg.Pool;
  smsc: NpmSmsc;
  hongyan: HongyanChild;
  key: string;
}): Promise<RunResult> {
  const before = Number((await db.query('select coalesce(max(id), 0)::bigint as m from messages')).rows[0].m);
  const submits0 = smsc.submits.length;
  const throttled0 = smsc.stats().throttled;
  const refused0 = smsc.throttledAt.length;
  const recipients = Array.from({ length: messages }, (_, i) => ({
    to: `+86138${String(10_000_000 + offset + i).slice(-8)}`,
  }));
  const t0 = Date.now();
  await sendBatches({ url: hongyan.url, key, recipients, content: 'carrier benchmark', batchSize: 10_000 });
  let final = 0;
  await waitUntil(async () => {
    const r = await db.query('select count(*)::int as n from messages where id > $1 and status = any($2)', [
      before,
      FINAL,
    ]);
    final = r.rows[0].n;
    return final >= messages;
  }, timeoutMs);
  const seconds = (Date.now() - t0) / 1000;
  const took = smsc.submits.slice(submits0);
  const span = took.length > 1 ? (took.at(-1)!.at - took[0]!.at) / 1000 : Number.NaN;
  const rows = (
    await db.query<{ recipient: string; status: string; error_code: string | null }>(
      'select recipient, status, error_code from messages where id > $1',
      [before],
    )
  ).rows;
  let notOwnOutcome = 0;
  for (const m of rows) {
    const { stat, err } = outcomeByLastDigit(m.recipient.slice(1));
    const own =
      stat === 'DELIVRD'
        ? m.status === 'delivered' && m.error_code === null
        : m.status === 'undelivered' && m.error_code === `carrier.${stat}.${err}`;
    if (!own) notOwnOutcome++;
  }
  return {
    name,
    messages,
    final,
    seconds,
    endToEnd: final / seconds,
    smscTook: took.length / span,
    smscSteady: steadyRate(took.map((t) => t.at)),
    throttled: smsc.stats().throttled - throttled0,
    notOwnOutcome,
    profile: profileOf(
      took.map((t) => t.at),
      smsc.throttledAt.slice(refused0),
    ),
  };
}

export async function runCarrierBench({ messages = 10_000 }: { messages?: number } = {}) {
  // 'auto': half of what the SMSC took in the clean run, for a machine that cannot reach 2,000/s
  // (a bucket above the clean rate never throttles, and the ratio would measure the machine).
  const rateSetting = process.env.BENCH_CARRIER_RATE ?? '2000';
  let rate = rateSetting === 'auto' ? Number.NaN : Number(rateSetting);
  const share = Number(process.env.BENCH_CARRIER_SHARE ?? 0.1);
  const timeoutMs = Number(process.env.BENCH_CARRIER_TIMEOUT_S ?? 120) * 1000;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hongyan-carrier-'));
  chmodSync(dataDir, 0o755);
  // The default install, as bench/e2e.ts measures it: embedded PostgreSQL in the data folder.
  const env = { HONGYAN_DATA_DIR: dataDir, HONGYAN_SIMULATOR: 'off', DATABASE_URL: '' };
  console.log(
    `hongyan carrier bench: ${os.cpus().length} cores, ${messages} messages a run, R=${rateSetting}/s, p=${share}`,
  );
  const smsc = await startNpmSmsc({ ids: 'decimal', receiptTiming: 'after-response' });
  const httpPort = await freePort();
  let hongyan = await startHongyanChild({ env, httpPort });
  const key = hongyan.key;
  const db = new pg.Pool({
    connectionString: `postgresql://postgres@localhost/hongyan?host=${encodeURIComponent(path.join(dataDir, 'run'))}`,
    max: 2,
  });
  // A restart between runs stops the embedded server: idle connections end, the next query reconnects.
  db.on('error', () => {});
  const results: RunResult[] = [];
  try {
    await db.query(
      `insert into channels (name, host, port, system_id, password, window_size, max_tps, source_addr, enabled, is_default)
       values ('npm-smsc', '127.0.0.1', $1, 'hongyan', 'x', 1000, 100000, '106900', true, true)`,
      [smsc.port],
    );
    const runs: { name: () => string; options: () => Partial<NpmSmscOptions> }[] = [
      { name: () => 'clean', options: () => ({}) },
      { name: () => `token bucket at ${rate}/s`, options: () => ({ throttleRate: rate }) },
      { name: () => `${share * 100}% throttled at random`, options: () => ({ throttleShare: share }) },
    ];
    for (const [i, r] of runs.entries()) {
      // Counted before the restart: a worker can bind before /healthz first answers.
      const binds = smsc.stats().binds;
      if (i > 0) {
        await hongyan.stop();
        hongyan = await startHongyanChild({ env, httpPort, welcome: false });
      }
      if (i === 1 && Number.isNaN(rate)) rate = Math.round(results[0]!.smscSteady / 2);
      smsc.configure({ throttleRate: undefined, throttleShare: undefined, ...r.options() });
      // The worker reads new channels every few seconds: wait for its bind, not for a clock.
      if (!(await waitUntil(() => smsc.stats().binds > binds, 30_000)))
        throw new Error('hongyan did not bind to the SMSC within 30 s');
      const result = await run({
        name: r.name(),
        offset: i * messages,
        messages,
        timeoutMs,
        db,
        smsc,
        hongyan,
        key,
      });
      results.push(result);
      console.log(JSON.stringify(result));
    }
  } finally {
    await db.end();
    await hongyan.stop();
    await smsc.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const [clean, bucket, random] = results;
  console.log(
    '\nresults (end to end: first POST to last final; the SMSC rate: first to last submit it took)',
  );
  for (const r of results) {
    console.log(
      `  ${r.name}: ${r.final}/${r.messages} final in ${r.seconds.toFixed(1)} s, ${r.endToEnd.toFixed(0)} messages/s end to end, ` +
        `SMSC took ${r.smscTook.toFixed(0)} submits/s (${r.smscSteady.toFixed(0)}/s in its second half), ${r.throttled} throttled, ` +
        `${r.notOwnOutcome} not their own outcome`,
    );
    console.log(`    taken/refused each second: ${r.profile}`);
  }
  if (clean && bucket) {
    const pct = (x: number) => `${((x / rate) * 100).toFixed(0)} %`;
    console.log(
      `  token bucket at R=${rate}/s: second half ${pct(bucket.smscSteady)} of R, SMSC overall ${pct(bucket.smscTook)}, ` +
        `end to end ${pct(bucket.endToEnd)} (target ≥ 80 %)`,
    );
    if (clean.smscSteady < rate / 0.8)
      console.log(
        `  (the clean run took only ${clean.smscSteady.toFixed(0)} submits/s: below R/0.8 the ratio measures the ` +
          'machine; BENCH_CARRIER_RATE=auto puts R at half the clean rate)',
      );
  }
  if (clean && random)
    console.log(
      `  random throttling: ${random.endToEnd.toFixed(0)}/s = ${((random.endToEnd / clean.endToEnd) * 100).toFixed(0)} % of the clean run (target ≥ 50 %)`,
    );
  return results;
}
