// test/stalled-node.test.ts against an SMSC we did not write (bench/npm-smsc.ts, on the npm `smpp`
// package): two real `hongyan start` nodes on one PostgreSQL, one stopped (SIGSTOP) while it holds
// a queue of claimed messages on a slow channel, taken for dead and recovered by the other, then
// let go on. It must not send what it had claimed on waking. A message may reach the SMSC twice only
// if node a had decided to send it before the stop, and then it says so (helpers/nodes.ts).
//
// This SMSC sends each receipt right after its response on whichever receiving session of the
// system_id it finds first, the stopped node's among them: receipts of the other node's messages
// may wait in the stopped node's socket until it wakes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NpmSmsc, outcomeByLastDigit, startNpmSmsc } from '../bench/npm-smsc.ts';
import { createTestDatabase } from './helpers/db.ts';
import {
  addStallChannel,
  expectStallDuplicatesBounded,
  killLeftoverNodes,
  runStall,
} from './helpers/nodes.ts';

const STATUS_OF_STAT: Record<string, string> = {
  DELIVRD: 'delivered',
  UNDELIV: 'undelivered',
  EXPIRED: 'expired',
  REJECTD: 'rejected',
};
const TOTAL = 400;

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let smsc: NpmSmsc;

beforeAll(async () => {
  t = await createTestDatabase();
  // Sequential decimal ids, each receipt right after its response; the outcome is the
  // recipient's: numbers ending in 8 or 9 are UNDELIV.
  smsc = await startNpmSmsc({ ids: 'decimal', receiptTiming: 'after-response' });
  await addStallChannel(t.db.pool, 'npm-smsc', smsc.port);
});

afterAll(async () => {
  killLeftoverNodes();
  await smsc?.close();
  await t?.drop();
});

describe('a stopped node, against the npm-smpp SMSC', () => {
  it('sends nothing it had claimed when it wakes after its peers took it for dead', async () => {
    // Date.now(), as the SMSC writes each submit's time (SubmitRecord.at).
    const stall = await runStall({
      t,
      total: TOTAL,
      clock: () => Date.now(),
    });
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
    if (process.env.HY_TEST_VERBOSE)
      console.log(
        JSON.stringify({
          ...stall,
          duplicates: [...acceptedAt]
            .filter(([, times]) => times.length > 1)
            .map(([to, times]) => [to, times.map((x) => x - stall.stoppedAt)]),
          smsc: smsc.stats(),
        }),
      );
    expectStallDuplicatesBounded({
      stall,
      acceptedAt,
      keys: rows.rows.map((r) => handset(r.recipient)),
      flagged: new Set(rows.rows.filter((r) => r.duplicate_risk).map((r) => handset(r.recipient))),
    });
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
