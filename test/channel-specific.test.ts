// A carrier reject code the operator marks as channel-specific (issue 10): the message is tried
// once on another channel of its group instead of ending rejected. Channel `strict` refuses every
// submit with ESME_RSUBMITFAIL; `open` delivers everything. Through real sockets and the CLI.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHongyan } from '../src/app/start.ts';
import { createChannelsRepository } from '../src/modules/channels/channels.repository.ts';
import { fastProfile, seeded, silentLogger } from '../src/modules/simulator/test-helpers.ts';
import { startSimulator } from '../src/modules/simulator/simulator.ts';
import { CommandStatus } from '../src/smpp/constants.ts';
import { createTestDatabase } from './helpers/db.ts';
import { newSendingTenant, startApiWorker } from './helpers/hongyan.ts';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../bin/hongyan.js');

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let hongyan: RunningHongyan;
let key: string;
const ids = { strict: 0, open: 0 };

async function carrier(name: 'strict' | 'open') {
  return startSimulator({
    port: 0,
    logger: silentLogger,
    random: seeded(name === 'strict' ? 21 : 22),
    retryDelayMs: () => 5,
    profiles: [
      fastProfile(
        'p',
        name === 'strict' ? { rejectRate: 1, rejectStatuses: [CommandStatus.ESME_RSUBMITFAIL] } : {},
      ),
    ],
    forceProfile: 'p',
  });
}
let S: Awaited<ReturnType<typeof carrier>>;
let O: Awaited<ReturnType<typeof carrier>>;

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function send(n: number, from: number): Promise<number[]> {
  const recipients = Array.from({ length: n }, (_, j) => ({
    to: `1390${String(from + j).padStart(7, '0')}`,
  }));
  const res = await fetch(`${hongyan.httpUrl}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ content: '【鸿雁】您的快递已到驿站', recipients }),
  });
  expect(res.status).toBe(202);
  const body = (await res.json()) as { id: number };
  const rows = await t.db.pool.query<{ id: string }>('select id from messages where batch_id = $1', [
    body.id,
  ]);
  return rows.rows.map((r) => Number(r.id));
}

const rowsOf = async (messageIds: number[]) =>
  (
    await t.db.pool.query<{
      id: number;
      status: string;
      channel_id: number | null;
      error_code: string | null;
    }>(
      `select id::int, status, channel_id::int, error_code from messages where id = any($1::bigint[]) order by id`,
      [messageIds],
    )
  ).rows;

beforeAll(async () => {
  t = await createTestDatabase();
  S = await carrier('strict');
  O = await carrier('open');
  const channels = createChannelsRepository(t.db.kysely);
  const common = { host: '127.0.0.1', windowSize: 50, maxTps: 100_000 };
  ids.strict = (await channels.addChannel({ ...common, name: 'strict', port: S.port, systemId: 's' })).id;
  ids.open = (await channels.addChannel({ ...common, name: 'open', port: O.port, systemId: 'o' })).id;
  const env = { ...process.env, DATABASE_URL: t.url, HONGYAN_LOG_LEVEL: 'silent' };
  await run(
    process.execPath,
    [BIN, 'route', 'breaker', 'strict', '--specific-codes', 'smpp.ESME_RSUBMITFAIL'],
    {
      env,
    },
  );
  hongyan = await startApiWorker(t.url);
  const created = await newSendingTenant(t.db, 'specific');
  key = created.apiKey.key;
  await waitFor(async () => S.stats().sessions > 0 && O.stats().sessions > 0);
}, 60_000);

afterAll(async () => {
  await hongyan?.stop();
  await S?.close();
  await O?.close();
  await t?.drop();
});

describe('channel-specific reject codes', () => {
  it('a message refused with a code marked channel-specific is tried once on the other channel and delivered there', async () => {
    const messageIds = await send(40, 0);
    await waitFor(async () => (await rowsOf(messageIds)).every((r) => r.status === 'delivered'));
    const rows = await rowsOf(messageIds);
    // Each message ended delivered, carried by `open`; `strict` refused some of them first.
    for (const r of rows)
      expect({ id: r.id, status: r.status, channel: r.channel_id }).toEqual({
        id: r.id,
        status: 'delivered',
        channel: ids.open,
      });
    const refused = S.stats().rejected ?? 0;
    console.log(`strict refused ${refused} of 40 submits; every message delivered through open`);
    expect(refused).toBeGreaterThan(0);
    expect(O.stats().accepted).toBe(40);
  }, 120_000);
});
