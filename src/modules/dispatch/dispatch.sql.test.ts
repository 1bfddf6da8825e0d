import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import type { Db } from '../../db/pool.ts';
import { insertMessages, type NewMessageRow } from '../messages/messages.repository.ts';
import {
  claimNextMessages,
  endUnrecordedMessages,
  expireAwaitingReceipts,
  expireOverdueMessages,
  failMessages,
  recordSentMessages,
  recoverAbandonedMessages,
  releaseHeldMessages,
  requeueMessages,
  requeueUnsentClaims,
} from './dispatch.sql.ts';
import { createRecorder } from './recorder.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
const now = new Date('2026-11-22T10:00:00Z');
const deadlines = { verificationSeconds: 600, notificationSeconds: 86_400, marketingSeconds: 86_400 };
const limits = { deadlines, maxAttempts: 6 };

function row(
  tenantId: number,
  priority: number,
  recipient: string,
  extra: Partial<NewMessageRow> = {},
): NewMessageRow {
  return {
    tenantId,
    batchId: null,
    type: ['verification', 'notification', 'marketing'][priority]!,
    priority,
    recipient,
    content: 'hello',
    encoding: 'gsm7',
    parts: 1,
    clientRef: null,
    sendAt: null,
    ...extra,
  };
}

async function tenant(name: string) {
  const r = await db.pool.query<{ id: number }>(
    `insert into tenants (name, sender_code) values ($1, $2) returning id`,
    [name, null],
  );
  return r.rows[0]!.id;
}

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  await db.pool.query(
    `insert into channels (name, host, port, system_id) values ('c1', '127.0.0.1', 2775, 'x')`,
  );
});
afterAll(async () => t.drop());

describe('claimNextMessages', () => {
  it('puts verification first and shares a priority level fairly between tenants', async () => {
    const big = await tenant('big');
    const small = await tenant('small');
    await insertMessages(
      db.pool,
      Array.from({ length: 500 }, (_, i) => row(big, 2, `+86138000${String(i).padStart(5, '0')}`)),
      now,
    );
    await insertMessages(db.pool, [row(small, 2, '+8613900000001'), row(small, 0, '+8613900000002')], now);
    const claimed = await claimNextMessages(db.pool, {
      nodeId: 'n1',
      limit: 20,
      perTenant: 10,
      now,
      ...limits,
    });
    expect(claimed[0]).toMatchObject({ tenantId: small, priority: 0 });
    expect(claimed.filter((m) => m.tenantId === small)).toHaveLength(2);
    expect(claimed.length).toBeLessThanOrEqual(20);
    // Claimed rows are no longer queued: a second dispatcher never gets them.
    const again = await claimNextMessages(db.pool, {
      nodeId: 'n2',
      limit: 1000,
      perTenant: 1000,
      now,
      ...limits,
    });
    const first = new Set(claimed.map((m) => m.id));
    expect(again.some((m) => first.has(m.id))).toBe(false);
    await db.pool.query(`delete from messages`);
  });

  it('two concurrent claimers never get the same message', async () => {
    const a = await tenant('concurrent');
    await insertMessages(
      db.pool,
      Array.from({ length: 2000 }, (_, i) => row(a, 1, `+86137000${String(i).padStart(5, '0')}`)),
      now,
    );
    const seen = new Map<number, string>();
    const claimers = ['x', 'y'].map(async (nodeId) => {
      for (;;) {
        const got = await claimNextMessages(db.pool, { nodeId, limit: 97, perTenant: 97, now, ...limits });
        if (got.length === 0) return;
        for (const m of got) {
          expect(seen.has(m.id)).toBe(false);
          seen.set(m.id, nodeId);
        }
      }
    });
    await Promise.all(claimers);
    expect(seen.size).toBe(2000);
    await db.pool.query(`delete from messages`);
  });
});

// Receipt matching (sent results, parked receipts, id conventions) is tested in
// src/modules/receipts/receipts.sql.test.ts.
describe('submit results, receipts and sweepers', () => {
  it('requeues, fails, releases held, recovers abandoned, and expires after the window', async () => {
    const ten = await tenant('sweep');
    const later = new Date(now.getTime() + 3600_000);
    const [a, b, c, d] = await insertMessages(
      db.pool,
      [
        row(ten, 1, '+8613800000011'),
        row(ten, 1, '+8613800000012'),
        row(ten, 1, '+8613800000013'),
        row(ten, 1, '+8613800000014', { sendAt: later }),
      ],
      now,
    );
    await claimNextMessages(db.pool, { nodeId: 'gone', limit: 10, perTenant: 10, now, ...limits });
    expect(
      await requeueMessages(db.pool, {
        nodeId: 'gone',
        now,
        results: [
          {
            id: a!.id,
            delayMs: 2000,
            errorCode: 'smpp.throttled',
            errorDetail: '',
            duplicateRisk: false,
            notAttempted: false,
          },
        ],
      }),
    ).toBe(1);
    expect(
      await failMessages(db.pool, {
        nodeId: 'gone',
        now,
        results: [{ id: b!.id, status: 'rejected', errorCode: 'smpp.0x0000000B', errorDetail: 'bad dest' }],
      }),
    ).toBe(1);
    expect(await recoverAbandonedMessages(db.pool, { liveNodeIds: ['alive'], now })).toBe(1);
    const cRow = (await db.pool.query('select status, duplicate_risk from messages where id = $1', [c!.id]))
      .rows[0];
    expect(cRow).toEqual({ status: 'queued', duplicate_risk: true });
    // a is due in 2 s: not claimable now, claimable later.
    expect(
      (await claimNextMessages(db.pool, { nodeId: 'n', limit: 10, perTenant: 10, now, ...limits })).map(
        (m) => m.id,
      ),
    ).toEqual([c!.id]);
    expect(await releaseHeldMessages(db.pool, { now })).toBe(0);
    expect(await releaseHeldMessages(db.pool, { now: later })).toBe(1);
    const due = await claimNextMessages(db.pool, {
      nodeId: 'n',
      limit: 10,
      perTenant: 10,
      now: later,
      ...limits,
    });
    expect(due.map((m) => m.id).sort()).toEqual([a!.id, d!.id].sort());
    await recordSentMessages(db.pool, {
      nodeId: 'n',
      now: later,
      results: [{ id: d!.id, channelId: 1, sourceAddr: '1069', carrierIds: ['zz'], duplicateRisk: false }],
    });
    expect(
      await expireAwaitingReceipts(db.pool, {
        now: new Date(later.getTime() + 71 * 3600_000),
        windowHours: 72,
      }),
    ).toBe(0);
    expect(
      await expireAwaitingReceipts(db.pool, {
        now: new Date(later.getTime() + 73 * 3600_000),
        windowHours: 72,
      }),
    ).toBe(1);
    expect((await db.pool.query('select status from messages where id = $1', [d!.id])).rows[0]).toEqual({
      status: 'unknown',
    });
  });
});

describe('deadlines and attempts', () => {
  const status = async (id: number) =>
    (await db.pool.query('select status, error_code, attempts from messages where id = $1', [id])).rows[0];

  it('a claim expires messages past their deadline by type and fails those claimed too often, sending neither', async () => {
    const ten = await tenant('deadlines');
    const [code, notice, tired] = await insertMessages(
      db.pool,
      [row(ten, 0, '+8613800000021'), row(ten, 1, '+8613800000022'), row(ten, 1, '+8613800000023')],
      now,
    );
    await db.pool.query('update messages set attempts = 6 where id = $1', [tired!.id]);
    // Eleven minutes on: past a verification code's 10 minutes, well within a notification's day.
    const at = new Date(now.getTime() + 11 * 60_000);
    const claimed = await claimNextMessages(db.pool, {
      nodeId: 'n',
      limit: 10,
      perTenant: 10,
      now: at,
      ...limits,
    });
    expect(claimed.map((m) => m.id)).toEqual([notice!.id]);
    expect(claimed[0]!.deadlineAt).toBe(now.getTime() + 86_400_000);
    expect(await status(code!.id)).toEqual({
      status: 'expired',
      error_code: 'dispatch.deadline_passed',
      attempts: 0,
    });
    expect(await status(notice!.id)).toMatchObject({ status: 'sending', attempts: 1 });
    expect(await status(tired!.id)).toEqual({
      status: 'failed',
      error_code: 'dispatch.attempts_exhausted',
      attempts: 6,
    });
    await db.pool.query(`delete from messages`);
  });

  it('the deadline of a scheduled message counts from its send_at', async () => {
    const ten = await tenant('scheduled-deadline');
    const sendAt = new Date(now.getTime() + 3600_000);
    const [m] = await insertMessages(db.pool, [row(ten, 0, '+8613800000031', { sendAt })], now);
    await releaseHeldMessages(db.pool, { now: sendAt });
    const at = new Date(sendAt.getTime() + 5 * 60_000);
    const claimed = await claimNextMessages(db.pool, {
      nodeId: 'n',
      limit: 10,
      perTenant: 10,
      now: at,
      ...limits,
    });
    expect(claimed.map((c) => c.id)).toEqual([m!.id]);
    await db.pool.query(`delete from messages`);
  });

  it('the sweeper expires queued messages past their deadline and leaves the others', async () => {
    const ten = await tenant('sweeper');
    const [code, notice] = await insertMessages(
      db.pool,
      [row(ten, 0, '+8613800000041'), row(ten, 2, '+8613800000042')],
      now,
    );
    expect(
      await expireOverdueMessages(db.pool, { now: new Date(now.getTime() + 9 * 60_000), deadlines }),
    ).toBe(0);
    expect(
      await expireOverdueMessages(db.pool, { now: new Date(now.getTime() + 11 * 60_000), deadlines }),
    ).toBe(1);
    expect(await status(code!.id)).toMatchObject({
      status: 'expired',
      error_code: 'dispatch.deadline_passed',
    });
    expect(await status(notice!.id)).toMatchObject({ status: 'queued' });
    await db.pool.query(`delete from messages`);
  });

  it('a message handed back unsent does not spend an attempt; one that was tried does', async () => {
    const ten = await tenant('handback');
    const [a, b] = await insertMessages(
      db.pool,
      [row(ten, 1, '+8613800000051'), row(ten, 1, '+8613800000052')],
      now,
    );
    await claimNextMessages(db.pool, { nodeId: 'n', limit: 10, perTenant: 10, now, ...limits });
    const back = { delayMs: 0, errorCode: 'channel.unavailable', errorDetail: '', duplicateRisk: false };
    await requeueMessages(db.pool, {
      nodeId: 'n',
      now,
      results: [
        { id: a!.id, ...back, notAttempted: true },
        { id: b!.id, ...back, notAttempted: false },
      ],
    });
    expect(await status(a!.id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await status(b!.id)).toMatchObject({ status: 'queued', attempts: 1 });
    await db.pool.query(`delete from messages`);
  });

  it('ends a message whose result could not be recorded, only if this node still holds it', async () => {
    const ten = await tenant('unrecorded');
    const [a] = await insertMessages(db.pool, [row(ten, 1, '+8613800000061')], now);
    await claimNextMessages(db.pool, { nodeId: 'n', limit: 10, perTenant: 10, now, ...limits });
    const rows = [{ id: a!.id, status: 'unknown' as const, detail: 'refused' }];
    expect(await endUnrecordedMessages(db.pool, { nodeId: 'other', rows, now })).toBe(0);
    expect(await endUnrecordedMessages(db.pool, { nodeId: 'n', rows, now })).toBe(1);
    expect(await status(a!.id)).toMatchObject({ status: 'unknown', error_code: 'dispatch.record_failed' });
    await db.pool.query(`delete from messages`);
  });
});

describe('the recorder on a real database', () => {
  it('writes a batch with a row PostgreSQL refuses: the others sent, that one ended on its own', async () => {
    const ten = await tenant('poison');
    const rows = await insertMessages(
      db.pool,
      [1, 2, 3, 4, 5].map((i) => row(ten, 1, `+861380000007${i}`)),
      now,
    );
    await claimNextMessages(db.pool, { nodeId: 'rec', limit: 10, perTenant: 10, now, ...limits });
    const recorder = createRecorder({
      pool: db.pool,
      nodeId: 'rec',
      logger: pino({ level: 'silent' }),
      now: () => now,
    });
    for (const [i, m] of rows.entries())
      recorder.sent({
        id: m.id,
        channelId: 1,
        // A NUL cannot be stored in text (SQLSTATE 22021): the whole statement fails.
        sourceAddr: i === 2 ? '1069\u00000' : '106900',
        carrierIds: [`c${m.id}`],
        duplicateRisk: false,
      });
    expect(await recorder.drain(10_000)).toBe(true);
    const got = await db.pool.query<{ id: number; status: string; error_code: string | null }>(
      'select id, status, error_code from messages where id = any($1::bigint[]) order by id',
      [rows.map((m) => m.id)],
    );
    expect(got.rows.map((r) => [r.status, r.error_code])).toEqual([
      ['sent', null],
      ['sent', null],
      ['unknown', 'dispatch.record_failed'],
      ['sent', null],
      ['sent', null],
    ]);
    await db.pool.query(`delete from messages`);
  });
});

describe('claims at write (intake DirectClaimer)', () => {
  it('writes the granted rows due now claimed, the rest queued or held, and requeues unsent claims', async () => {
    const ten = await tenant('direct');
    await db.pool.query(`update tenants set sender_code = '1069' where id = $1`, [ten]);
    const later = new Date(now.getTime() + 3_600_000);
    const rows = await insertMessages(
      db.pool,
      [
        row(ten, 0, '+8613800000901'),
        row(ten, 1, '+8613800000902', { sendAt: later }), // scheduled: held, not claimed
        row(ten, 1, '+8613800000903'),
        row(ten, 1, '+8613800000904'), // past the room of 2: queued
      ],
      now,
      { nodeId: 'direct-node', room: 2 },
    );
    expect(rows.map((r) => r.status)).toEqual(['sending', 'held', 'sending', 'queued']);
    expect(rows[0]!.claimed).toEqual({ senderCode: '1069', signatureExtension: null });
    expect(rows[3]!.claimed).toBeUndefined();
    const ids = rows.map((r) => r.id);
    const read = async () =>
      (
        await db.pool.query<{
          status: string;
          claimed_by: string | null;
          attempts: number;
          sending: boolean;
        }>(
          `select status, claimed_by, attempts, sending_at is not null as sending
             from messages where id = any($1::bigint[]) order by id`,
          [ids],
        )
      ).rows.map((r) => [r.status, r.claimed_by, r.attempts, r.sending]);
    expect(await read()).toEqual([
      ['sending', 'direct-node', 1, true],
      ['held', null, 0, false],
      ['sending', 'direct-node', 1, true],
      ['queued', null, 0, false],
    ]);
    // A write whose outcome was unknown: its claims (sending_at = the write's time) go back, and
    // no other node's, and no claim of another time.
    expect(await requeueUnsentClaims(db.pool, { nodeId: 'other-node', now, sendingAt: now })).toBe(0);
    expect(await requeueUnsentClaims(db.pool, { nodeId: 'direct-node', now, sendingAt: later })).toBe(0);
    expect(await requeueUnsentClaims(db.pool, { nodeId: 'direct-node', now })).toBe(0);
    expect(await requeueUnsentClaims(db.pool, { nodeId: 'direct-node', now, sendingAt: now })).toBe(2);
    expect(await read()).toEqual([
      ['queued', null, 0, false],
      ['held', null, 0, false],
      ['queued', null, 0, false],
      ['queued', null, 0, false],
    ]);
    const flags = await db.pool.query(
      `select bool_or(duplicate_risk) as any from messages where id = any($1::bigint[])`,
      [ids],
    );
    expect(flags.rows[0].any).toBe(false);
    await db.pool.query(`delete from messages`);
  });
});
