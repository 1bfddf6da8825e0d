// A node that is stopped (SIGSTOP, a frozen VM) long enough for its peers to take it for dead
// must not, when it wakes, send what it had claimed: the peers recovered those messages and sent
// them. Two real `hongyan start` processes share one PostgreSQL and one carrier; one is stopped
// while its connector holds a queue of claimed messages (a slow channel), the other recovers them,
// and the stopped one is let go on. A message may reach the carrier twice only if it was already
// written to the carrier at the stop, or about to be (at most a window of them), and then it says so.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { type RunningSimulator, startSimulator } from '../src/modules/simulator/simulator.ts';
import { decodeShortMessage } from '../src/smpp/segments.ts';
import { createTestDatabase } from './helpers/db.ts';
import { insertQueued, killLeftoverNodes, startNode, waitFor } from './helpers/nodes.ts';

const FINAL = ['delivered', 'undelivered', 'expired', 'rejected', 'failed', 'unknown'];
const WINDOW = 10;
const TOTAL = 400;
// Peers take a silent node for dead after 1.5 s, and look every 200 ms.
const LIVENESS = {
  HONGYAN_HEARTBEAT_INTERVAL_MS: '200',
  HONGYAN_NODE_DEAD_AFTER_MS: '1500',
  HONGYAN_RECOVERY_INTERVAL_MS: '200',
  HONGYAN_CHANNEL_SYNC_INTERVAL_MS: '300',
};

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let simulator: RunningSimulator;
/** When the carrier took each text, in order (performance.now()). */
const acceptedAt = new Map<string, number[]>();

beforeAll(async () => {
  t = await createTestDatabase();
  simulator = await startSimulator({
    port: 0,
    logger: pino({ level: 'silent' }),
    onAccepted: (pdu) => {
      if (pdu.command !== 'submit_sm') return;
      const text = decodeShortMessage(pdu.shortMessage, pdu.dataCoding, false).text;
      const times = acceptedAt.get(text);
      if (times) times.push(performance.now());
      else acceptedAt.set(text, [performance.now()]);
    },
  });
  // Slow on purpose (40/s for the account, 20/s per bind): each node's connector holds up to two
  // windows of claimed messages that wait for the rate, not for the carrier.
  await t.db.pool.query(
    `insert into channels (name, host, port, system_id, password, window_size, max_tps, is_default, binds)
     values ('sim', '127.0.0.1', $1, 'hongyan', 'x', $2, 40, true, 2)`,
    [simulator.port, WINDOW],
  );
});

afterAll(async () => {
  killLeftoverNodes();
  await simulator?.close();
  await t?.drop();
});

describe('a stopped node', () => {
  it('sends nothing it had claimed when it wakes after its peers took it for dead', async () => {
    const { tenant } = await createTenant({
      name: 'stall',
      repository: createAccountsRepository(t.db.kysely),
    });
    const { child: a, nodeId: nodeA } = await startNode({ env: { DATABASE_URL: t.url, ...LIVENESS } });
    await startNode({ env: { DATABASE_URL: t.url, ...LIVENESS } });
    await waitFor('both nodes to hold a bind lease', async () => {
      const r = await t.db.pool.query(`select count(distinct node_id)::int as n from channel_bind_leases`);
      return r.rows[0].n === 2;
    });
    await insertQueued(t.db.pool, tenant.id, TOTAL, 'stall');
    // Node a holds claimed messages it has not sent yet (its connector waits for the rate).
    let held = 0;
    await waitFor('node a to hold a queue of claimed messages', async () => {
      const r = await t.db.pool.query(
        `select count(*)::int as n from messages where status = 'sending' and claimed_by = $1`,
        [nodeA],
      );
      held = r.rows[0].n;
      return held > WINDOW;
    });
    a.kill('SIGSTOP');
    const stoppedAt = performance.now();
    // Node b takes node a for dead and recovers its messages (queued again, duplicate_risk).
    await waitFor('node b to recover node a’s claims', async () => {
      const r = await t.db.pool.query(
        `select count(*)::int as n from messages where status = 'sending' and claimed_by = $1`,
        [nodeA],
      );
      return r.rows[0].n === 0;
    });
    // Node b sends a while longer before node a wakes (the first ones it recovered among them).
    await new Promise((r) => setTimeout(r, 1000));
    a.kill('SIGCONT');
    await waitFor(
      'every message to be final',
      async () => {
        const r = await t.db.pool.query(
          `select count(*)::int as n from messages where status <> all($1::text[])`,
          [FINAL],
        );
        return r.rows[0].n === 0;
      },
      90_000,
    );
    const rows = await t.db.pool.query<{ content: string; duplicate_risk: boolean; status: string }>(
      'select content, duplicate_risk, status from messages',
    );
    const duplicates = [...acceptedAt].filter(([, times]) => times.length > 1);
    const flagged = new Set(rows.rows.filter((r) => r.duplicate_risk).map((r) => r.content));
    if (process.env.HY_TEST_VERBOSE)
      console.log(
        JSON.stringify({
          held,
          duplicates: duplicates.map(([text, times]) => [text, times.map((x) => Math.round(x - stoppedAt))]),
        }),
      );
    // Each message reached the carrier, and one that reached it twice says so. Twice, only if
    // node a had written it to the carrier before the stop (its first copy was taken then), or —
    // at most one — if node a was stopped between its last look at its fence and the write, which
    // then happens as it wakes, as a write in flight would have. Without the fence node a sent
    // what it still held on waking, after node b had sent it: both copies after the stop.
    for (const r of rows.rows) expect(acceptedAt.has(r.content), r.content).toBe(true);
    expect(duplicates.length).toBeLessThanOrEqual(WINDOW);
    for (const [text] of duplicates) expect(flagged.has(text), text).toBe(true);
    const afterTheStop = duplicates.filter(([, times]) => times[0]! - stoppedAt > 250);
    expect(afterTheStop.length, JSON.stringify(afterTheStop)).toBeLessThanOrEqual(1);
    expect(rows.rows.filter((r) => r.status !== 'delivered')).toEqual([]);
  }, 150_000);
});
