// Crash safety on the default install: no DATABASE_URL, so `hongyan start` runs the embedded
// PostgreSQL (in its own process group, adopted after a crash) and the embedded carrier simulator
// (in Hongyan's process). Flood it through batches, SIGKILL Hongyan's whole process group
// mid-flood (the simulator dies with it, owing receipts), restart on the same data folder, and
// check that every accepted message reaches its own final outcome: the simulator's receipts are
// kept in <data>/simulator and sent again after the restart, instead of leaving messages `sent`
// for the 72-hour receipt window.
//
// The simulator's profile is `default` with one change: recipients ending in 8 or 9 are
// undeliverable, so each message's outcome is known from its number (80% delivered), and a receipt
// applied to the wrong message would show. It always runs with its own data folder, also in the CI
// run that sets DATABASE_URL.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { FINAL_STATUSES } from '../src/modules/messages/messages.models.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/hongyan.js');
const FINAL: string[] = [...FINAL_STATUSES];
const TARGET_ACCEPTED = 20_000;
const BATCH = 1_000;

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hy-crash-'));
chmodSync(dataDir, 0o755); // as root, the postgres account must reach the folder
const profileFile = path.join(dataDir, 'simulator-profile.json');
writeFileSync(
  profileFile,
  JSON.stringify({ profiles: [{ name: 'default', base: 'default', undeliveredSuffixes: ['8', '9'] }] }),
);
const env: NodeJS.ProcessEnv = {
  ...process.env,
  HONGYAN_DATA_DIR: dataDir,
  HONGYAN_HTTP_PORT: '0',
  HONGYAN_SIMULATOR_PORT: '0',
  HONGYAN_SIMULATOR_PROFILE: profileFile,
  HONGYAN_LOG_LEVEL: 'info',
  // Find the killed node's messages in `sending` soon after the restart (default every 5 s).
  HONGYAN_RECOVERY_INTERVAL_MS: '500',
};
delete env.DATABASE_URL;
const children: ChildProcess[] = [];
let db: pg.Pool | undefined;

interface Started {
  child: ChildProcess;
  url: string;
  apiKey: string | null;
  tenantId: number | null;
  log: () => string;
}

function start(): Promise<Started> {
  // detached: Hongyan leads its own process group, which the test kills whole.
  const child = spawn(process.execPath, [BIN, 'start', '--json'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start:\n${out}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const started = /"httpUrl":"(http:[^"]+)"/.exec(out);
      if (started) {
        clearTimeout(timer);
        const welcome = out.split('\n').find((l) => l.startsWith('{') && l.includes('"api_key"'));
        resolve({
          child,
          url: started[1]!,
          apiKey: welcome ? (JSON.parse(welcome).api_key as string) : null,
          tenantId: welcome ? (JSON.parse(welcome).tenant.id as number) : null,
          log: () => out,
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(`hongyan had already exited (${child.exitCode ?? child.signalCode})`);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(-child.pid!, 'SIGKILL');
  return exited;
}

function postmasterPid(): number | null {
  const file = path.join(dataDir, 'pg', 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : null;
}

afterAll(async () => {
  await db?.end();
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  for (const c of children) if (c.exitCode === null && c.signalCode === null) signal(-c.pid!, 'SIGKILL');
  const pid = postmasterPid();
  if (pid) signal(pid, 'SIGINT');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dataDir, { recursive: true, force: true });
});

/** The recipient of the n-th message: its last digit decides the carrier's outcome. */
const recipient = (n: number) => `+8613${String(n).padStart(9, '0')}`;
const expectedStatus = (to: string) => (/[89]$/.test(to) ? 'undelivered' : 'delivered');

describe('kill -9 of the default install mid-flood', () => {
  it('gives every accepted message its own outcome after the restart, with receipts the simulator owed', async () => {
    const t0 = Date.now();
    let hongyan = await start();
    const tStarted = Date.now();
    const apiKey = hongyan.apiKey!;
    expect(apiKey).toMatch(/^hy_/);
    // The demo tenant's 10,000 parts do not cover the flood: credit it as an operator would.
    const credit = spawnSync(
      process.execPath,
      [BIN, 'billing', 'credit', '--tenant', String(hongyan.tenantId), '--parts', '1000000'],
      { env, encoding: 'utf8' },
    );
    expect(credit.status, credit.stderr).toBe(0);
    db = new pg.Pool({
      connectionString: `postgresql://postgres@localhost/hongyan?host=${encodeURIComponent(path.join(dataDir, 'run'))}`,
      max: 2,
    });
    // The clean stop at the end stops the embedded server under these idle connections.
    db.on('error', () => {});

    const accepted: string[] = [];
    const refused: string[] = [];
    let next = 0;
    let stop = false;
    const flood = async () => {
      while (!stop) {
        const first = next;
        next += BATCH;
        try {
          const res = await fetch(`${hongyan.url}/v1/batches`, {
            method: 'POST',
            headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              content: 'crash test {n}',
              recipients: Array.from({ length: BATCH }, (_, i) => ({
                to: recipient(first + i),
                vars: { n: first + i },
              })),
            }),
          });
          if (res.status === 202) {
            const body = (await res.json()) as { results: { id?: string; accepted: boolean }[] };
            const refusedHere = body.results.filter((r) => !r.accepted);
            if (refusedHere.length > 0) refused.push(`recipients refused: ${JSON.stringify(refusedHere[0])}`);
            accepted.push(...body.results.filter((r) => r.accepted).map((r) => r.id!));
          } else {
            refused.push(`${res.status} ${(await res.text()).slice(0, 200)}`);
          }
        } catch {
          // the kill: this batch's answer never arrived, so it does not count as accepted
        }
      }
    };
    const flooders = [flood(), flood()];
    const floodDeadline = Date.now() + 60_000;
    while (accepted.length < TARGET_ACCEPTED && refused.length === 0 && Date.now() < floodDeadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (refused.length > 0 || accepted.length < TARGET_ACCEPTED) stop = true;
    expect(refused, 'batches refused before the kill').toEqual([]);
    expect(accepted.length, hongyan.log().slice(-3000)).toBeGreaterThanOrEqual(TARGET_ACCEPTED);
    // Kill while messages wait for receipts (submitted and not yet recorded, or recorded and
    // waiting for their receipt: the simulator owes both). Between two claims every open message
    // can be queued for a moment, so look again until the flood has some in flight.
    const inFlightDeadline = Date.now() + 30_000;
    let atKill: pg.QueryResult<{ status: string; n: number }>;
    for (;;) {
      atKill = await db.query<{ status: string; n: number }>(
        `select status, count(*)::int as n from messages group by 1 order by 1`,
      );
      const inFlight = atKill.rows.filter((r) => r.status === 'sent' || r.status === 'sending');
      if (inFlight.length > 0 || Date.now() > inFlightDeadline) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await killGroup(hongyan.child);
    stop = true;
    await Promise.all(flooders);
    const byStatus = Object.fromEntries(atKill.rows.map((r) => [r.status, r.n]));
    // Messages were waiting for receipts at the kill: the simulator owed them.
    expect((byStatus.sent ?? 0) + (byStatus.sending ?? 0), JSON.stringify(byStatus)).toBeGreaterThan(0);

    const tKilled = Date.now();
    hongyan = await start();
    const tRestarted = Date.now();
    expect(hongyan.apiKey).toBeNull(); // the same install, not a first start
    const ids = accepted.map(Number);
    const deadline = Date.now() + 90_000;
    let open = -1;
    while (Date.now() < deadline) {
      const r = await db.query<{ n: number }>(
        `select count(*)::int as n from messages where id = any($1::bigint[]) and status <> all($2::text[])`,
        [ids, FINAL],
      );
      open = r.rows[0]!.n;
      if (open === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(open, 'accepted messages not final after the restart').toBe(0);
    const tFinal = Date.now();

    // The restarted simulator delivered receipts the killed one owed.
    const restored = /"restoredReceipts":(\d+)/.exec(hongyan.log());
    expect(Number(restored?.[1] ?? 0)).toBeGreaterThan(0);

    const rows = await db.query<{ id: string; recipient: string; status: string; error_code: string | null }>(
      'select id, recipient, status, error_code from messages where id = any($1::bigint[])',
      [ids],
    );
    expect(rows.rows).toHaveLength(accepted.length);
    const wrong = rows.rows.filter((r) => r.status !== expectedStatus(r.recipient));
    expect(wrong.slice(0, 10), `${wrong.length} messages with another outcome than their own`).toEqual([]);
    const undelivered = rows.rows.filter((r) => r.status === 'undelivered');
    expect(undelivered.length / rows.rows.length).toBeCloseTo(0.2, 1);

    if (process.env.HY_TEST_VERBOSE) {
      console.log({
        accepted: accepted.length,
        atKill: byStatus,
        restored: restored?.[1],
        ms: {
          start: tStarted - t0,
          flood: tKilled - tStarted,
          restart: tRestarted - tKilled,
          final: tFinal - tRestarted,
        },
      });
    }
    await db.end();
    db = undefined;
    const stopped = new Promise((r) => hongyan.child.once('exit', r));
    hongyan.child.kill('SIGTERM');
    expect(await stopped).toBe(0);
  }, 180_000);
});
