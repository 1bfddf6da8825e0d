// Crash safety: flood Hongyan with messages, SIGKILL it mid-stream, start it again, and check that
// every accepted message reaches a final state; a message may reach the carrier twice only if it
// was in flight at the kill, and then it says so (duplicate_risk).
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { creditForTests } from '../src/modules/billing/billing.testkit.ts';
import { type RunningSimulator, startSimulator } from '../src/modules/simulator/simulator.ts';
import { decodeShortMessage } from '../src/smpp/segments.ts';
import { createTestDatabase } from './helpers/db.ts';
import { killLeftoverNodes, startNode } from './helpers/nodes.ts';
import { FINAL_STATUSES } from '../src/modules/messages/messages.models.ts';

const FINAL: string[] = [...FINAL_STATUSES];

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let simulator: RunningSimulator;
const reachedCarrier = new Map<string, number>();

async function startHongyan() {
  const { child, httpUrl } = await startNode({ roles: 'api,worker', env: { DATABASE_URL: t.url } });
  return { child, url: httpUrl! };
}

beforeAll(async () => {
  t = await createTestDatabase();
  simulator = await startSimulator({
    port: 0,
    logger: pino({ level: 'silent' }),
    windowSize: 500,
    onAccepted: (pdu) => {
      if (pdu.command !== 'submit_sm') return;
      const text = decodeShortMessage(pdu.shortMessage, pdu.dataCoding, (pdu.esmClass & 0x40) !== 0).text;
      reachedCarrier.set(text, (reachedCarrier.get(text) ?? 0) + 1);
    },
  });
  await t.db.pool.query(
    `insert into channels (name, host, port, system_id, password, window_size, max_tps, is_default)
     values ('sim', '127.0.0.1', $1, 'hongyan', 'x', 100, 100000, true)`,
    [simulator.port],
  );
});

afterAll(async () => {
  killLeftoverNodes();
  await simulator?.close();
  await t?.drop();
});

describe('kill -9 mid-stream', () => {
  it('loses no accepted message and flags every possible duplicate', async () => {
    const { tenant, apiKey } = await createTenant({
      name: 'crash',
      repository: createAccountsRepository(t.db.kysely),
    });
    await creditForTests(t.db.pool, tenant.id);
    await grantSending({ db: t.db.pool, tenantId: tenant.id, signatures: ['鸿雁'], freeText: true });
    let hongyan = await startHongyan();
    const accepted: string[] = [];
    let batchNo = 0;
    let stop = false;
    const flood = async () => {
      while (!stop) {
        const n = batchNo++;
        try {
          const res = await fetch(`${hongyan.url}/v1/batches`, {
            method: 'POST',
            headers: { authorization: `Bearer ${apiKey.key}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              content: 'crash test {n}',
              recipients: Array.from({ length: 200 }, (_, i) => ({
                to: `+8613${String(n * 200 + i).padStart(9, '0')}`,
                vars: { n: n * 200 + i },
              })),
            }),
          });
          if (res.status === 202) {
            const body = (await res.json()) as { results: { id: string }[] };
            accepted.push(...body.results.map((r) => r.id));
          }
        } catch {
          // the kill: this batch's answer never arrived, so it does not count as accepted
        }
      }
    };
    const flooders = [flood(), flood(), flood()];
    // Kill while messages are queued, being sent, and awaiting receipts: wait (however slow the
    // machine) until more than 1,000 are accepted and they are in several states, then kill.
    let before = await t.db.pool.query(`select status, count(*)::int as n from messages group by 1`);
    for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 250));
      before = await t.db.pool.query(`select status, count(*)::int as n from messages group by 1`);
      if (accepted.length > 1000 && before.rows.length > 1) break;
    }
    hongyan.child.kill('SIGKILL');
    stop = true;
    await Promise.all(flooders);
    expect(accepted.length).toBeGreaterThan(1000);
    expect(before.rows.length).toBeGreaterThan(1); // messages were in several states at the kill

    hongyan = await startHongyan();
    try {
      const deadline = Date.now() + 150_000;
      for (;;) {
        const open = await t.db.pool.query(
          `select count(*)::int as n from messages where status <> all($1::text[])`,
          [FINAL],
        );
        if (open.rows[0].n === 0) break;
        if (Date.now() > deadline) throw new Error(`${open.rows[0].n} messages not final after restart`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      hongyan.child.kill('SIGTERM');
      await new Promise((r) => hongyan.child.once('exit', r));
    }

    const rows = await t.db.pool.query<{
      id: number;
      status: string;
      content: string;
      duplicate_risk: boolean;
    }>('select id, status, content, duplicate_risk from messages where id = any($1::bigint[])', [
      accepted.map(Number),
    ]);
    expect(rows.rows).toHaveLength(accepted.length);
    expect(rows.rows.filter((r) => r.status !== 'delivered')).toEqual([]);
    const all = await t.db.pool.query<{ content: string; duplicate_risk: boolean }>(
      'select content, duplicate_risk from messages',
    );
    const flagged = new Set(all.rows.filter((r) => r.duplicate_risk).map((r) => r.content));
    const duplicates = [...reachedCarrier].filter(([, n]) => n > 1).map(([text]) => text);
    if (process.env.HY_TEST_VERBOSE)
      console.log({
        accepted: accepted.length,
        atKill: before.rows,
        flagged: flagged.size,
        duplicates: duplicates.length,
        total: all.rows.length,
      });
    for (const text of duplicates)
      expect(flagged.has(text), `${text} reached the carrier twice without duplicate_risk`).toBe(true);
    // Every message reached the carrier at least once.
    for (const r of all.rows)
      expect(reachedCarrier.has(r.content), `${r.content} never reached the carrier`).toBe(true);
  }, 300_000);
});
