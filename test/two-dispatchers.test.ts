// Two dispatchers (as two nodes would: separate pools, separate binds) on one PostgreSQL never
// send the same message twice; and nodes judge each other alive by PostgreSQL's word (an advisory
// lock per node and a heartbeat), never by hostname and pid.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/app/config.ts';
import { createContext } from '../src/app/context.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { listLiveNodes, NODE_LOCK_CLASS } from '../src/modules/dispatch/nodes.ts';
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
    // binds 2: each node holds one of the channel's two bind leases (routing/leases).
    `insert into channels (name, host, port, system_id, password, window_size, max_tps, is_default, binds)
     values ('sim', '127.0.0.1', $1, 'hongyan', 'x', 20, 100000, true, 2)`,
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
    // Both nodes hold their bind lease before there is work: with the messages already queued,
    // the node that started first could send all of them before the other had bound.
    const leased = Date.now() + 30_000;
    for (;;) {
      const r = await t.db.pool.query(`select count(distinct node_id)::int as n from channel_bind_leases`);
      if (r.rows[0].n === 2) break;
      if (Date.now() > leased) throw new Error('the two nodes did not both take a bind lease');
      await new Promise((res) => setTimeout(res, 50));
    }
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

describe('node liveness', () => {
  async function startNode(nodeId: string, env: Record<string, string> = {}) {
    const config = loadConfig({
      env: { DATABASE_URL: t.url, HONGYAN_LOG_LEVEL: 'silent', ...env },
      configFile: null,
    });
    const db = createDb({ connectionString: t.url, max: 8 });
    pools.push(db);
    const worker = await startWorker({
      ctx: createContext({ config, db, logger: pino({ level: 'silent' }) }),
      nodeId,
      roles: ['worker'],
    });
    workers.push(worker);
    return worker;
  }

  async function holdInSending(nodeId: string, content: string) {
    const r = await t.db.pool.query<{ id: number }>(
      `insert into messages (tenant_id, type, priority, recipient, content, encoding, parts, status, claimed_by, sending_at, attempts)
       values (1, 'notification', 1, '+8613900000000', $2, 'gsm7', 1, 'sending', $1, now(), 1) returning id`,
      [nodeId, content],
    );
    return r.rows[0]!.id;
  }

  const message = async (id: number) =>
    (await t.db.pool.query('select status, claimed_by, duplicate_risk from messages where id = $1', [id]))
      .rows[0];

  it('two nodes on one host with one pid (or a pid that cannot be signalled) never remove each other', async () => {
    await startNode('same-host-a');
    const held = await holdInSending('same-host-a', 'held by a');
    // What another PID namespace looks like from here: a pid we cannot signal.
    await t.db.pool.query(`update nodes set pid = 999999 where id = 'same-host-a'`);
    await startNode('same-host-b', { HONGYAN_RECOVERY_INTERVAL_MS: '20' });
    const rows = await t.db.pool.query(
      `select id, hostname, pid from nodes where id like 'same-host-%' order by id`,
    );
    expect(rows.rows.map((r) => r.id)).toEqual(['same-host-a', 'same-host-b']);
    expect(new Set(rows.rows.map((r) => r.hostname)).size).toBe(1);
    const live = await listLiveNodes(t.db.pool, { deadAfterMs: 15_000 });
    expect(live).toEqual(expect.arrayContaining(['same-host-a', 'same-host-b']));
    // b's recovery has run (at start, and every 20 ms since) and left a's message alone.
    expect(await message(held)).toEqual({
      status: 'sending',
      claimed_by: 'same-host-a',
      duplicate_risk: false,
    });
    await t.db.pool.query('delete from messages where id = $1', [held]);
  });

  it('recovers the messages of a node whose lock connection died, long before its heartbeat is stale', async () => {
    // The victim beats once a minute and counts as alive by heartbeat for 10 minutes: only the
    // lock can tell that it is gone.
    const slow = { HONGYAN_HEARTBEAT_INTERVAL_MS: '60000', HONGYAN_NODE_DEAD_AFTER_MS: '600000' };
    await startNode('victim', slow);
    await startNode('rescuer', { ...slow, HONGYAN_RECOVERY_INTERVAL_MS: '20' });
    const held = await holdInSending('victim', 'held by the victim');
    expect(await listLiveNodes(t.db.pool, { deadAfterMs: 600_000 })).toContain('victim');
    const killed = await t.db.pool.query(
      `select pg_terminate_backend(l.pid) as ok from pg_locks l join nodes n on l.objid::bigint = n.lock_key
        where n.id = 'victim' and l.locktype = 'advisory' and l.classid::bigint = $1
          and l.database = (select oid from pg_database where datname = current_database())`,
      [NODE_LOCK_CLASS],
    );
    expect(killed.rows).toEqual([{ ok: true }]);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const m = await message(held);
      if (m.claimed_by !== 'victim') break;
      if (Date.now() > deadline) throw new Error('the victim’s message was not recovered');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await listLiveNodes(t.db.pool, { deadAfterMs: 600_000 })).not.toContain('victim');
    // Recovered and marked as a possible duplicate (the victim may have submitted it).
    expect((await message(held)).duplicate_risk).toBe(true);
  });
});
