// test/stalled-node.test.ts against an SMSC we did not write (bench/npm-smsc.ts, on the npm `smpp`
// package): two real `hongyan start` nodes on one PostgreSQL, one stopped (SIGSTOP) while it holds
// a queue of claimed messages on a slow channel, taken for dead and recovered by the other, then
// let go on. It must not send what it had claimed on waking. A message may reach the SMSC twice only
// if it was already written to the SMSC at the stop, or about to be (at most a window of them), and
// then it says so.
//
// This SMSC sends each receipt right after its response on whichever receiving session of the
// system_id it finds first, the stopped node's among them: receipts of the other node's messages
// may wait in the stopped node's socket until it wakes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NpmSmsc, outcomeByLastDigit, startNpmSmsc } from '../bench/npm-smsc.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { createTestDatabase } from './helpers/db.ts';
import { insertQueued, killLeftoverNodes, startNode, waitFor } from './helpers/nodes.ts';

const FINAL = ['delivered', 'undelivered', 'expired', 'rejected', 'failed', 'unknown'];
const STATUS_OF_STAT: Record<string, string> = {
  DELIVRD: 'delivered',
  UNDELIV: 'undelivered',
  EXPIRED: 'expired',
  REJECTD: 'rejected',
};
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
let smsc: NpmSmsc;

beforeAll(async () => {
  t = await createTestDatabase();
  // Sequential decimal ids, each receipt right after its response; the outcome is the
  // recipient's: numbers ending in 8 or 9 are UNDELIV.
  smsc = await startNpmSmsc({ ids: 'decimal', receiptTiming: 'after-response' });
  // Slow on purpose (40/s for the account, 20/s per bind): each node's connector holds up to two
  // windows of claimed messages that wait for the rate, not for the carrier.
  await t.db.pool.query(
    `insert into channels (name, host, port, system_id, password, window_size, max_tps, is_default, binds)
     values ('npm-smsc', '127.0.0.1', $1, 'hongyan', 'x', $2, 40, true, 2)`,
    [smsc.port, WINDOW],
  );
});

afterAll(async () => {
  killLeftoverNodes();
  await smsc?.close();
  await t?.drop();
});

describe('a stopped node, against the npm-smpp SMSC', () => {
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
    const claimedByA = async () =>
      (
        await t.db.pool.query<{ n: number }>(
          `select count(*)::int as n from messages where status = 'sending' and claimed_by = $1`,
          [nodeA],
        )
      ).rows[0]!.n;
    // Node a holds claimed messages it has not sent yet (its connector waits for the rate).
    let held = 0;
    await waitFor('node a to hold a queue of claimed messages', async () => {
      held = await claimedByA();
      return held > WINDOW;
    });
    a.kill('SIGSTOP');
    // Date.now(), as the SMSC writes each submit's time (SubmitRecord.at).
    const stoppedAt = Date.now();
    // Node b takes node a for dead and recovers its messages (queued again, duplicate_risk).
    await waitFor('node b to recover node a’s claims', async () => (await claimedByA()) === 0);
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
    const rows = await t.db.pool.query<{
      recipient: string;
      duplicate_risk: boolean;
      status: string;
      error_code: string | null;
    }>('select recipient, duplicate_risk, status, error_code from messages');
    // When the SMSC took each recipient's message, in order (one recipient per message).
    const acceptedAt = new Map<string, number[]>();
    for (const r of smsc.submits) {
      const times = acceptedAt.get(r.recipient);
      if (times) times.push(r.at);
      else acceptedAt.set(r.recipient, [r.at]);
    }
    const handset = (recipient: string) => recipient.replace(/^\+/, '');
    const duplicates = [...acceptedAt].filter(([, times]) => times.length > 1);
    const flagged = new Set(rows.rows.filter((r) => r.duplicate_risk).map((r) => handset(r.recipient)));
    if (process.env.HY_TEST_VERBOSE)
      console.log(
        JSON.stringify({
          held,
          duplicates: duplicates.map(([to, times]) => [to, times.map((x) => x - stoppedAt)]),
          smsc: smsc.stats(),
        }),
      );
    // As in test/stalled-node.test.ts: each message reached the SMSC, and one that reached it
    // twice says so. Twice, only if node a had written it to the SMSC before the stop, or — at
    // most one — if node a was stopped between its last look at its fence and the write.
    for (const r of rows.rows) expect(acceptedAt.has(handset(r.recipient)), r.recipient).toBe(true);
    expect(duplicates.length).toBeLessThanOrEqual(WINDOW);
    for (const [to] of duplicates) expect(flagged.has(to), to).toBe(true);
    const afterTheStop = duplicates.filter(([, times]) => times[0]! - stoppedAt > 250);
    expect(afterTheStop.length, JSON.stringify(afterTheStop)).toBeLessThanOrEqual(1);
    // Each message ended with the outcome the SMSC decided for its recipient.
    const wrong = rows.rows.flatMap((r) => {
      const { stat, err } = outcomeByLastDigit(handset(r.recipient));
      const status = STATUS_OF_STAT[stat];
      const errorCode = stat === 'DELIVRD' ? null : `carrier.${stat}.${err}`;
      return r.status === status && r.error_code === errorCode
        ? []
        : [`${r.recipient} ${r.status}/${r.error_code}, the SMSC decided ${status}/${errorCode}`];
    });
    expect(wrong).toEqual([]);
  }, 150_000);
});
