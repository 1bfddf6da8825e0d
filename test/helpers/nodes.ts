// What the tests that run real `hongyan start` processes repeat: starting a node and learning its
// id, polling the database for a state, queueing plain messages, and ending what a failed test
// left running (a node it stopped with SIGSTOP among them).
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type pg from 'pg';
import type { Db } from '../../src/db/pool.ts';
import { createAccountsRepository } from '../../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../../src/modules/accounts/accounts.usecases.ts';
import { insertMessages } from '../../src/modules/messages/messages.repository.ts';
import { FINAL_STATUSES } from '../../src/modules/messages/messages.models.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/hongyan.js');

export interface StartedNode {
  child: ChildProcess;
  nodeId: string;
  /** Set when the node has the api role. */
  httpUrl: string | null;
}

// Every child started by this test file (vitest gives each file its own copy of this module).
const started: ChildProcess[] = [];

/**
 * Starts `hongyan start --roles <roles>` (worker by default) without the embedded simulator, and
 * resolves on its "hongyan started" line. `env` is added to this process's environment and
 * must name the DATABASE_URL.
 */
export function startNode({
  env,
  roles = 'worker',
  timeoutMs = 30_000,
}: {
  env: Record<string, string>;
  roles?: string;
  timeoutMs?: number;
}): Promise<StartedNode> {
  const child = spawn(process.execPath, [BIN, 'start', '--roles', roles], {
    env: {
      ...process.env,
      HONGYAN_SIMULATOR: 'off',
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  // HY_TEST_NODE_LOGS=<folder> keeps each node's whole output there (<pid>.log), to diagnose a
  // failure that only a loaded machine shows.
  const logDir = process.env.HY_TEST_NODE_LOGS;
  if (logDir) {
    const file = createWriteStream(path.join(logDir, `${child.pid}.log`));
    child.stdout!.pipe(file, { end: false });
    child.stderr!.pipe(file, { end: false });
  }
  return new Promise((resolve, reject) => {
    let output = '';
    let up = false;
    const timer = setTimeout(() => reject(new Error(`hongyan did not start:\n${output}`)), timeoutMs);
    const onExit = (code: number | null) => reject(new Error(`hongyan exited with ${code}:\n${output}`));
    child.once('exit', onExit);
    // Both pipes are read for the child's whole life: a full pipe would block its logger. Each
    // keeps its own partial line, so that a chunk of one cannot land inside a line of the other.
    const watch = (stream: NodeJS.ReadableStream) => {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        if (up) return;
        output += chunk;
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        const line = lines.find((l) => l.includes('"msg":"hongyan started"'));
        if (line === undefined) return;
        const entry = JSON.parse(line) as { nodeId: string; httpUrl: string | null };
        up = true;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, nodeId: entry.nodeId, httpUrl: entry.httpUrl });
      });
    };
    watch(child.stdout!);
    watch(child.stderr!);
  });
}

/** Kills the children still running, woken first in case the test left one stopped. */
export function killLeftoverNodes() {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  }
}

export async function waitFor(what: string, check: () => Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Queues `count` one-part notifications now: message i is "<label> i" to +86139 and i in 8 digits. */
export function insertQueued(
  db: Parameters<typeof insertMessages>[0],
  tenantId: number,
  count: number,
  label: string,
) {
  return insertMessages(
    db,
    Array.from({ length: count }, (_, i) => ({
      tenantId,
      batchId: null,
      type: 'notification' as const,
      priority: 1,
      recipient: `+86139${String(i).padStart(8, '0')}`,
      content: `${label} ${i}`,
      encoding: 'gsm7' as const,
      parts: 1,
      clientRef: null,
      sendAt: null,
    })),
    new Date(),
  );
}

const FINAL: string[] = [...FINAL_STATUSES];

// Peers take a silent node for dead after 1.5 s, and look every 200 ms.
const LIVENESS = {
  HONGYAN_HEARTBEAT_INTERVAL_MS: '200',
  HONGYAN_NODE_DEAD_AFTER_MS: '1500',
  HONGYAN_RECOVERY_INTERVAL_MS: '200',
  HONGYAN_CHANNEL_SYNC_INTERVAL_MS: '300',
};

/**
 * The stalled-node scenario's channel: slow on purpose (40/s for the account, 20/s for each of its
 * two binds), so that each node's connector holds up to two windows of claimed messages that wait
 * for the rate, not for the carrier. Each bind's send rate allows a burst of a tenth of a second
 * (SendRate, dispatch.models.ts): 2 submits written in one go.
 */
export const STALL_CHANNEL = { window: 10, maxTps: 40, binds: 2, burst: 2 };

/** Adds the scenario's channel to the carrier at `port`, as the default channel. */
export async function addStallChannel(db: Pick<pg.Pool, 'query'>, name: string, port: number) {
  await db.query(
    `insert into channels (name, host, port, system_id, password, window_size, max_tps, is_default, binds)
     values ($1, '127.0.0.1', $2, 'hongyan', 'x', $3, $4, true, $5)`,
    [name, port, STALL_CHANNEL.window, STALL_CHANNEL.maxTps, STALL_CHANNEL.binds],
  );
}

export interface Stall {
  nodeA: string;
  /** How many messages node a had claimed and not finished when it was stopped. */
  held: number;
  /** `clock()` as node a was stopped, and as it was let go on. */
  stoppedAt: number;
  wokeAt: number;
}

/**
 * The stalled-node scenario (test/stalled-node*.test.ts): two real `hongyan start` nodes on one
 * PostgreSQL and one slow channel (STALL_CHANNEL, added by the caller); `total` messages of
 * a new tenant queued; node a stopped (SIGSTOP) while its connector holds more than a window of
 * claimed messages, taken for dead and recovered by node b, let go on a second later; resolves
 * when every message is final. `clock` is the carrier's clock for when it took each submit.
 */
export async function runStall({
  t,
  total,
  clock,
}: {
  /** The test database (helpers/db.ts), with the scenario's channel (addStallChannel). */
  t: { url: string; db: Db };
  total: number;
  clock: () => number;
}): Promise<Stall> {
  const db = t.db.pool;
  const url = t.url;
  const { tenant } = await createTenant({ name: 'stall', repository: createAccountsRepository(t.db.kysely) });
  const { child: a, nodeId: nodeA } = await startNode({ env: { DATABASE_URL: url, ...LIVENESS } });
  await startNode({ env: { DATABASE_URL: url, ...LIVENESS } });
  await waitFor('both nodes to hold a bind lease', async () => {
    const r = await db.query(`select count(distinct node_id)::int as n from channel_bind_leases`);
    return r.rows[0].n === 2;
  });
  await insertQueued(db, tenant.id, total, 'stall');
  const claimedByA = async () =>
    (
      await db.query<{ n: number }>(
        `select count(*)::int as n from messages where status = 'sending' and claimed_by = $1`,
        [nodeA],
      )
    ).rows[0]!.n;
  // Node a holds claimed messages it has not sent yet (its connector waits for the rate).
  let held = 0;
  await waitFor('node a to hold a queue of claimed messages', async () => {
    held = await claimedByA();
    return held > STALL_CHANNEL.window;
  });
  a.kill('SIGSTOP');
  const stoppedAt = clock();
  // Node b takes node a for dead and recovers its messages (queued again, duplicate_risk).
  await waitFor('node b to recover node a’s claims', async () => (await claimedByA()) === 0);
  // Node b sends a while longer before node a wakes.
  await new Promise((r) => setTimeout(r, 1000));
  a.kill('SIGCONT');
  const wokeAt = clock();
  await waitFor(
    'every message to be final',
    async () => {
      const r = await db.query(`select count(*)::int as n from messages where status <> all($1::text[])`, [
        FINAL,
      ]);
      return r.rows[0].n === 0;
    },
    90_000,
  );
  return { nodeA, held, stoppedAt, wokeAt };
}

/**
 * What a stalled node may have sent twice, given when the carrier took each message (`acceptedAt`,
 * on `clock`) and which messages say duplicate_risk (`flagged`, by the same key).
 *
 * Every message reached the carrier. One that reached it twice says so, and node a had decided to
 * send it before the stop: its first copy reached the carrier then (in flight, at most a window of
 * them), or as node a woke, if the stop fell inside the synchronous step in which a connector
 * checks the fence and writes what the rate allows at once — at most a burst on each bind. That
 * step begins as a claim's rows arrive, which is when the test sees the claim and stops the node:
 * one run in eight on a loaded machine, two messages went out on waking.
 *
 * This cannot tell a missing fence from that: on waking, a fenceless node sends its next burst
 * before its first beat finds the lapse and drops the rest (2 messages, 3 runs of 3). The fence's
 * own behaviour is src/modules/dispatch/connector.test.ts's; what this checks end to end is that
 * nothing else is sent twice, and that what is says so.
 */
export function expectStallDuplicatesBounded({
  stall,
  acceptedAt,
  keys,
  flagged,
}: {
  stall: Stall;
  acceptedAt: Map<string, number[]>;
  keys: string[];
  flagged: Set<string>;
}) {
  for (const key of keys) expect(acceptedAt.has(key), key).toBe(true);
  const duplicates = [...acceptedAt].filter(([, times]) => times.length > 1);
  expect(duplicates.length).toBeLessThanOrEqual(STALL_CHANNEL.window * STALL_CHANNEL.binds);
  for (const [key] of duplicates) expect(flagged.has(key), key).toBe(true);
  const { stoppedAt, wokeAt } = stall;
  const relative = (list: typeof duplicates) =>
    JSON.stringify({
      wokeAt: Math.round(wokeAt - stoppedAt),
      copies: list.map(([key, times]) => [key, times.map((x) => Math.round(x - stoppedAt))]),
    });
  // Node b takes node a for dead 1.5 s after the stop at the earliest: a copy before then is a's.
  const later = duplicates.filter(([, times]) => times[0]! - stoppedAt > 1000);
  expect(later.length, relative(later)).toBeLessThanOrEqual(STALL_CHANNEL.burst * STALL_CHANNEL.binds);
  for (const [, times] of later) {
    expect(times[0]! >= wokeAt && times[0]! - wokeAt <= 1000, relative(later)).toBe(true);
  }
}
