// Two dispatchers (as two nodes would: separate pools, separate binds) on one PostgreSQL never
// send the same message twice.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/app/config.ts';
import { createContext } from '../src/app/context.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { startWorker, type Worker } from '../src/modules/dispatch/worker.ts';
import { insertMessages } from '../src/modules/messages/messages.repository.ts';
import { type RunningSimulator, startSimulator } from '../src/modules/simulator/simulator.ts';
import { decodeShortMessage } from '../src/smpp/segments.ts';
import { createTestDatabase } from './helpers/db.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let simulator: RunningSimulator;
const bySystem = new Map<string, number>();
const reached = new Map<string, number>();
const pools: Db[] = [];
const workers: Worker[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  simulator = await startSimulator({
    port: 0,
    logger: pino({ level: 'silent' }),
    onAccepted: (pdu) => {
      if (pdu.command !== 'submit_sm') return;
      const text = decodeShortMessage(pdu.shortMessage, pdu.dataCoding, false).text;
      reached.set(text, (reached.get(text) ?? 0) + 1);
    },
  });
  await t.db.pool.query(
    `insert into channels (name, host, port, system_id, password, window_size, max_tps, is_default)
     values ('sim', '127.0.0.1', $1, 'hongyan', 'x', 20, 100000, true)`,
    [simulator.port],
  );
});

afterAll(async () => {
  for (const w of workers) await w.stop();
  for (const p of pools) await p.close();
  await simulator?.close();
  await t?.drop();
});

describe('two dispatchers', () => {
  it('share the queue and never send a message twice', async () => {
    const { tenant } = await createTenant({
      name: 'shared',
      repository: createAccountsRepository(t.db.kysely),
    });
    const total = 4000;
    const now = new Date();
    await insertMessages(
      t.db.pool,
      Array.from({ length: total }, (_, i) => ({
        tenantId: tenant.id,
        batchId: null,
        type: 'notification',
        priority: 1,
        recipient: `+86139${String(i).padStart(8, '0')}`,
        content: `message ${i}`,
        encoding: 'gsm7',
        parts: 1,
        clientRef: null,
        sendAt: null,
      })),
      now,
    );
    const config = loadConfig({
      env: { DATABASE_URL: t.url, HONGYAN_LOG_LEVEL: 'silent' },
      configFile: null,
    });
    for (const nodeId of ['node-a', 'node-b']) {
      const db = createDb({ connectionString: t.url, max: 8 });
      pools.push(db);
      const ctx = createContext({ config, db, logger: pino({ level: 'silent' }) });
      workers.push(await startWorker({ ctx, nodeId, roles: ['worker'] }));
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await t.db.pool.query(`select count(*)::int as n from messages where status = 'delivered'`);
      if (r.rows[0].n === total) break;
      if (Date.now() > deadline) throw new Error(`only ${r.rows[0].n} delivered`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const claimedBy = await t.db.pool.query(`select claimed_by, count(*)::int as n from messages group by 1`);
    for (const row of claimedBy.rows) bySystem.set(row.claimed_by, row.n);
    // Both nodes did part of the work, and each message reached the carrier exactly once.
    expect(bySystem.get('node-a')).toBeGreaterThan(0);
    expect(bySystem.get('node-b')).toBeGreaterThan(0);
    expect(reached.size).toBe(total);
    expect([...reached.values()].every((n) => n === 1)).toBe(true);
    const risky = await t.db.pool.query(`select count(*)::int as n from messages where duplicate_risk`);
    expect(risky.rows[0].n).toBe(0);
  }, 90_000);
});
