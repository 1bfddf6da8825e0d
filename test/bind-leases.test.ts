// Many nodes, one set of binds (issue 10): three `hongyan start --roles worker` processes on one
// PostgreSQL and a channel the carrier allows 2 binds. The carrier (a simulator in this process)
// counts the binds open at once; the node holding one is killed with SIGKILL mid-flood, and another
// node takes its lease and binds within 15 s. Every message reaches the carrier exactly once, except
// those in flight at the kill, which are marked duplicate_risk.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { type RunningSimulator, startSimulator } from '../src/modules/simulator/simulator.ts';
import { decodeShortMessage } from '../src/smpp/segments.ts';
import { createTestDatabase } from './helpers/db.ts';
import { insertQueued, type StartedNode, startNode as start, waitFor } from './helpers/nodes.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/hongyan.js');

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let simulator: RunningSimulator;
const reached = new Map<string, number>();
const nodes: StartedNode[] = [];
let maxSessions = 0;
let sampler: NodeJS.Timeout | undefined;

const startNode = () => start({ env: { DATABASE_URL: t.url }, timeoutMs: 120_000 });

beforeAll(async () => {
  t = await createTestDatabase();
  simulator = await startSimulator({
    port: 0,
    logger: pino({ level: 'silent' }),
    windowSize: 500,
    onAccepted: (pdu) => {
      if (pdu.command !== 'submit_sm') return;
      const text = decodeShortMessage(pdu.shortMessage, pdu.dataCoding, (pdu.esmClass & 0x40) !== 0).text;
      reached.set(text, (reached.get(text) ?? 0) + 1);
    },
  });
  // The carrier's count of binds open at once, sampled far more often than a bind comes and goes.
  sampler = setInterval(() => {
    maxSessions = Math.max(maxSessions, simulator.stats().sessions);
  }, 2);
  await t.db.pool.query(
    `insert into channels (name, host, port, system_id, password, window_size, max_tps, is_default, binds)
     values ('sim', '127.0.0.1', $1, 'hongyan', 'x', 50, 100000, true, 2)`,
    [simulator.port],
  );
  nodes.push(await startNode());
}, 240_000);

afterAll(async () => {
  clearInterval(sampler);
  for (const n of nodes)
    if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGTERM');
  await Promise.all(
    nodes.map((n) =>
      n.child.exitCode !== null || n.child.signalCode !== null
        ? null
        : new Promise((r) => n.child.once('exit', r)),
    ),
  );
  await simulator?.close();
  await t?.drop();
});

const leaseRows = async () =>
  (
    await t.db.pool.query<{ slot: number; node_id: string }>(
      'select slot, node_id from channel_bind_leases order by slot',
    )
  ).rows;

describe('three nodes, a channel of 2 binds', () => {
  it('one node alone opens both binds; when more nodes start it gives one up, closed before the other node binds it', async () => {
    await waitFor('both binds', async () => simulator.stats().sessions === 2);
    expect((await leaseRows()).map((l) => l.node_id)).toEqual([nodes[0]!.nodeId, nodes[0]!.nodeId]);
    for (let i = 0; i < 2; i++) nodes.push(await startNode());
    await waitFor(
      'two nodes to hold the leases',
      async () => new Set((await leaseRows()).map((l) => l.node_id)).size === 2,
      60_000,
    );
    await waitFor('both binds', async () => simulator.stats().sessions === 2);
    console.log(`leases after the second and third node started: ${JSON.stringify(await leaseRows())}`);
    expect(maxSessions).toBe(2);
  }, 300_000);

  it('never has more than 2 binds at the carrier; a killed node’s bind is back within 15 s; nothing is sent twice but what was in flight, marked', async () => {
    await waitFor('both binds', async () => simulator.stats().sessions === 2);
    const leases = async () =>
      (
        await t.db.pool.query<{ slot: number; node_id: string }>(
          'select slot, node_id from channel_bind_leases order by slot',
        )
      ).rows;
    expect((await leases()).length).toBe(2);

    const { tenant } = await createTenant({
      name: 'leases',
      repository: createAccountsRepository(t.db.kysely),
    });
    const total = 6000;
    await insertQueued(t.db.pool, tenant.id, total, 'message');
    await waitFor('1,000 messages at the carrier', async () => reached.size >= 1000);
    // Kill the node holding slot 0 mid-flood.
    const holder = (await leases()).find((l) => l.slot === 0)!;
    const victim = nodes.find((n) => n.nodeId === holder.node_id)!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await new Promise((r) => victim.child.once('exit', r));
    await waitFor('the bind to close', async () => simulator.stats().sessions < 2, 10_000).catch(() => true);
    await waitFor('the bind to be back', async () => simulator.stats().sessions === 2, 30_000);
    const rebindMs = Date.now() - killedAt;
    const after = await leases();
    console.log(
      `killed ${victim.nodeId}: a bind was back after ${rebindMs} ms; leases now ${JSON.stringify(after)}; ` +
        `most binds at the carrier at once: ${maxSessions}`,
    );
    expect(rebindMs).toBeLessThan(15_000);
    expect(after.every((l) => l.node_id !== victim.nodeId)).toBe(true);

    await waitFor(
      'every message to be delivered',
      async () => {
        const r = await t.db.pool.query<{ n: number }>(
          `select count(*)::int as n from messages where status = 'delivered'`,
        );
        return r.rows[0]!.n === total;
      },
      120_000,
    );
    expect(maxSessions).toBe(2);
    // Each message reached the carrier once, or more only if it was in flight at the kill (marked).
    const risky = new Set(
      (
        await t.db.pool.query<{ content: string }>(`select content from messages where duplicate_risk`)
      ).rows.map((r) => r.content),
    );
    expect(reached.size).toBe(total);
    const twice = [...reached].filter(([, n]) => n > 1).map(([text]) => text);
    expect(twice.filter((text) => !risky.has(text))).toEqual([]);
    // A message's record names the channel and the node that carried it (hongyan message get).
    const one = (await t.db.pool.query<{ id: string }>('select id from messages order by id limit 1'))
      .rows[0]!;
    const got = JSON.parse(
      (
        await promisify(execFile)(process.execPath, [BIN, 'message', 'get', one.id, '--json'], {
          env: { ...process.env, DATABASE_URL: t.url, HONGYAN_LOG_LEVEL: 'silent' },
        })
      ).stdout,
    );
    expect(nodes.map((n) => n.nodeId)).toContain(got.node_id);
    expect(got.channel_id).toBeTruthy();
    console.log(
      `${twice.length} messages reached the carrier twice, all marked duplicate_risk (${risky.size} marked)`,
    );
  }, 240_000);
});
