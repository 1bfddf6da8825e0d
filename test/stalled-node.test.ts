// A node that is stopped (SIGSTOP, a frozen VM) long enough for its peers to take it for dead
// must not, when it wakes, send what it had claimed: the peers recovered those messages and sent
// them. Two real `hongyan start` processes share one PostgreSQL and one carrier; one is stopped
// while its connector holds a queue of claimed messages (a slow channel), the other recovers them,
// and the stopped one is let go on. A message may reach the carrier twice only if node a had decided
// to send it before the stop (in flight, or in the step the stop fell in), and then it says so
// (helpers/nodes.ts, expectStallDuplicatesBounded).
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSimulator, startSimulator } from '../src/modules/simulator/simulator.ts';
import { decodeShortMessage } from '../src/smpp/segments.ts';
import { createTestDatabase } from './helpers/db.ts';
import {
  addStallChannel,
  expectStallDuplicatesBounded,
  killLeftoverNodes,
  runStall,
} from './helpers/nodes.ts';

const TOTAL = 400;

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
  await addStallChannel(t.db.pool, 'sim', simulator.port);
});

afterAll(async () => {
  killLeftoverNodes();
  await simulator?.close();
  await t?.drop();
});

describe('a stopped node', () => {
  it('sends nothing it had claimed when it wakes after its peers took it for dead', async () => {
    const stall = await runStall({
      t,
      total: TOTAL,
      clock: () => performance.now(),
    });
    const rows = await t.db.pool.query<{ content: string; duplicate_risk: boolean; status: string }>(
      'select content, duplicate_risk, status from messages',
    );
    if (process.env.HY_TEST_VERBOSE)
      console.log(
        JSON.stringify({
          ...stall,
          duplicates: [...acceptedAt]
            .filter(([, times]) => times.length > 1)
            .map(([text, times]) => [text, times.map((x) => Math.round(x - stall.stoppedAt))]),
        }),
      );
    expectStallDuplicatesBounded({
      stall,
      acceptedAt,
      keys: rows.rows.map((r) => r.content),
      flagged: new Set(rows.rows.filter((r) => r.duplicate_risk).map((r) => r.content)),
    });
    expect(rows.rows.filter((r) => r.status !== 'delivered')).toEqual([]);
  }, 150_000);
});
