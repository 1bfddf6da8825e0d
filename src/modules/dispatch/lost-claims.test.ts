// Claims whose answer is lost, on a real PostgreSQL: the claim committed (or the intake's write
// that claimed as it wrote did) but the dispatcher never learned which rows it took. Those rows
// must go back to the queue unsent, and only they: not the rows of another claim made in the same
// millisecond, which are being sent.
import type pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { insertMessages, type NewMessageRow } from '../messages/messages.repository.ts';
import type { ChannelConnector } from './connector.ts';
import type { ClaimedMessage } from './dispatch.sql.ts';
import { createClaimInstants, startDispatcher } from './dispatcher.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let tenantId: number;
const deadlines = { verificationSeconds: 600, notificationSeconds: 86_400, marketingSeconds: 86_400 };

beforeAll(async () => {
  t = await createTestDatabase();
  const r = await t.db.pool.query<{ id: number }>(`insert into tenants (name) values ('lost') returning id`);
  tenantId = r.rows[0]!.id;
});
afterAll(async () => t.drop());
beforeEach(async () => {
  await t.db.pool.query('delete from messages');
});

const row = (recipient: string): NewMessageRow => ({
  tenantId,
  batchId: null,
  type: 'notification',
  priority: 1,
  recipient,
  content: 'hello',
  encoding: 'gsm7',
  parts: 1,
  clientRef: null,
  sendAt: null,
});

function channel() {
  const got: ClaimedMessage[] = [];
  const connector = {
    name: 'c',
    isReady: true,
    demand: 100,
    enqueue: (ms: ClaimedMessage[]) => got.push(...ms),
  } as unknown as ChannelConnector;
  return { connector, got };
}

async function states() {
  const r = await t.db.pool.query<{
    recipient: string;
    status: string;
    attempts: number;
    duplicate_risk: boolean;
  }>('select recipient, status, attempts, duplicate_risk from messages order by recipient');
  return r.rows;
}

const until = async (ok: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await ok()) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
};

describe('a claim whose answer is lost', () => {
  it('sends its rows back to the queue unsent; the next claim takes them, each once', async () => {
    await insertMessages(
      t.db.pool,
      [row('+8613800000001'), row('+8613800000002'), row('+8613800000003')],
      new Date(),
    );
    let lost = 0;
    // The claim runs and commits on the server; its answer never reaches the dispatcher.
    const pool = {
      query: async (config: pg.QueryConfig | string, values?: unknown[]) => {
        const result = await t.db.pool.query(config as pg.QueryConfig, values);
        if (typeof config !== 'string' && config.name === 'claim-next-messages' && lost === 0) {
          lost = result.rowCount ?? 0;
          throw Object.assign(new Error('Connection terminated unexpectedly'), { code: undefined });
        }
        return result;
      },
    } as unknown as pg.Pool;
    const { connector, got } = channel();
    const dispatcher = startDispatcher({
      pool,
      nodeId: 'n1',
      logger: pino({ level: 'silent' }),
      connectors: () => [connector],
      deadlines,
      idlePollMs: 5,
    });
    try {
      await until(() => got.length >= 3);
    } finally {
      await dispatcher.stop();
    }
    expect(lost).toBe(3);
    // Each message handed to the channel once, by the second claim; one attempt each, as if the
    // lost claim never happened, and no duplicate risk: nothing of it was ever sent.
    expect(got.map((m) => [m.recipient, m.attempts]).sort()).toEqual([
      ['+8613800000001', 1],
      ['+8613800000002', 1],
      ['+8613800000003', 1],
    ]);
    expect((await states()).map((s) => [s.status, s.attempts, s.duplicate_risk])).toEqual([
      ['sending', 1, false],
      ['sending', 1, false],
      ['sending', 1, false],
    ]);
  });
});

describe('two writes that claim as they write, in the same millisecond', () => {
  it('the one whose outcome is unknown gives back its own rows, never the other’s', async () => {
    const at = new Date('2026-12-02T10:00:00.123Z');
    const { connector, got } = channel();
    const dispatcher = startDispatcher({
      pool: t.db.pool,
      nodeId: 'n1',
      logger: pino({ level: 'silent' }),
      connectors: () => [connector],
      // Every instant the dispatcher takes is this one millisecond.
      now: () => at,
      deadlines,
      idlePollMs: 5,
    });
    try {
      let a = null;
      await until(() => (a = dispatcher.direct.reserve(2)) !== null);
      const b = dispatcher.direct.reserve(2);
      expect(a).not.toBeNull();
      expect(b).not.toBeNull();
      expect(a!.sendingAt).not.toBe(b!.sendingAt);
      const rowsA = [row('+8613800000011'), row('+8613800000012')];
      const rowsB = [row('+8613800000021'), row('+8613800000022')];
      const insertedA = await insertMessages(t.db.pool, rowsA, at, a!);
      // B's write commits too, but its answer is lost: the intake reports it failed.
      await insertMessages(t.db.pool, rowsB, at, b!);
      dispatcher.direct.adopt(
        a!,
        rowsA.map((r, i) => ({ row: r, message: insertedA[i]! })),
      );
      dispatcher.direct.adopt(b!, [], true);
      // B's rows back in the queue, unsent; the dispatcher then claims them itself.
      await until(() => got.length >= 4);
    } finally {
      await dispatcher.stop();
    }
    // A's rows were handed over once, at write; B's once, by a claim after their requeue.
    expect(got.map((m) => [m.recipient, m.attempts]).sort()).toEqual([
      ['+8613800000011', 1],
      ['+8613800000012', 1],
      ['+8613800000021', 1],
      ['+8613800000022', 1],
    ]);
    expect((await states()).every((s) => s.status === 'sending' && !s.duplicate_risk)).toBe(true);
  });
});

describe('createClaimInstants', () => {
  it('gives each claim its own instant, microseconds apart within one millisecond', () => {
    const instants = createClaimInstants();
    const at = new Date('2026-12-02T10:00:00.123Z');
    expect([instants.next(at), instants.next(at), instants.next(new Date(at.getTime() - 5))]).toEqual([
      '2026-12-02T10:00:00.123000Z',
      '2026-12-02T10:00:00.123001Z',
      '2026-12-02T10:00:00.123002Z',
    ]);
    expect(instants.next(new Date('2026-12-02T10:00:01Z'))).toBe('2026-12-02T10:00:01.000000Z');
  });
});
