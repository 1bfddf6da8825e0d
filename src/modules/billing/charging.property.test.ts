// Property: whatever happens to messages, in whatever order — acceptance, claims, submit results
// (ok, refused, retried), receipts of every state and their duplicates, the receipt window, the
// deadline sweep, cancellation, a node dying, and crashes that abandon a step's transaction —
// no message is charged twice, no failed message keeps its charge, and reconcile finds the
// balance equal to the ledger. The steps are the real statements of dispatch, receipts and
// messages on a real PostgreSQL; the charging follows from the trigger of migration 0013.
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import {
  claimNextMessages,
  expireAwaitingReceipts,
  expireOverdueMessages,
  failMessages,
  recordSentMessages,
  recoverAbandonedMessages,
  releaseHeldMessages,
  requeueMessages,
} from '../dispatch/dispatch.sql.ts';
import { admitAndInsertMessages, createAdmission } from '../messages/admission.ts';
import { applySinglePartReceipts } from '../receipts/receipts.sql.ts';
import { chargedParts, expectedChargeState } from './billing.models.ts';
import { createQuotaStep } from './charging.ts';
import { creditTenant, getBalance } from './ledger.usecases.ts';
import { reconcile } from './reconcile.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
const admission = createAdmission();
admission.add(createQuotaStep());
const NODE = 'node-a';
const LONG_DEADLINES = { verificationSeconds: 1e6, notificationSeconds: 1e6, marketingSeconds: 1e6 };
const NO_DEADLINES = { verificationSeconds: 1, notificationSeconds: 1, marketingSeconds: 1 };

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

type Event =
  | { kind: 'accept'; parts: number; scheduled: boolean }
  | { kind: 'releaseHeld' }
  | { kind: 'claim' }
  | { kind: 'submitOk'; pick: number }
  | { kind: 'submitFail'; pick: number; status: 'rejected' | 'failed' | 'expired' }
  | { kind: 'requeue'; pick: number }
  | { kind: 'receipt'; pick: number; state: 'delivered' | 'undelivered' | 'expired' | 'rejected' | 'unknown' }
  | { kind: 'windowElapsed' }
  | { kind: 'deadlineSweep' }
  | { kind: 'cancel'; pick: number }
  | { kind: 'nodeDies' }
  /** Moves a message along its own path: what happens next depends on its status (and `choice`). */
  | { kind: 'advance'; pick: number; choice: number };

const pick = fc.nat({ max: 50 });
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('accept' as const),
      parts: fc.integer({ min: 1, max: 4 }),
      scheduled: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'releaseHeld' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'claim' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('submitOk' as const), pick }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('submitFail' as const),
      pick,
      status: fc.constantFrom('rejected' as const, 'failed' as const, 'expired' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('requeue' as const), pick }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('receipt' as const),
      pick,
      state: fc.constantFrom(
        'delivered' as const,
        'undelivered' as const,
        'expired' as const,
        'rejected' as const,
        'unknown' as const,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'windowElapsed' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'deadlineSweep' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'nodeDies' as const }) },
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), pick, choice: fc.nat({ max: 99 }) }),
  },
);

const RECEIPT_STATES = ['delivered', 'undelivered', 'expired', 'rejected', 'unknown'] as const;
const SUBMIT_FAILURES = ['rejected', 'failed', 'expired'] as const;

/** The next thing that happens to a message in `status`: one of the ordinary events. */
function nextFor(status: string, pick: number, choice: number): Event {
  switch (status) {
    case 'held':
      return choice < 70 ? { kind: 'releaseHeld' } : { kind: 'cancel', pick };
    case 'queued':
      return choice < 85 ? { kind: 'claim' } : { kind: 'deadlineSweep' };
    case 'sending':
      if (choice < 55) return { kind: 'submitOk', pick };
      if (choice < 75) return { kind: 'submitFail', pick, status: SUBMIT_FAILURES[choice % 3]! };
      return choice < 90 ? { kind: 'requeue', pick } : { kind: 'nodeDies' };
    case 'sent':
    case 'unknown':
      return choice < 80
        ? { kind: 'receipt', pick, state: RECEIPT_STATES[choice % 5]! }
        : { kind: 'windowElapsed' };
    default:
      // Final: a duplicate or late receipt, or a cancel that must find nothing to cancel.
      return choice < 80
        ? { kind: 'receipt', pick, state: RECEIPT_STATES[choice % 5]! }
        : { kind: 'cancel', pick };
  }
}
/** Each step, and whether it crashes: its transaction is abandoned before it commits. */
const stepArb = fc.record({ event: eventArb, crash: fc.integer({ min: 0, max: 4 }).map((n) => n === 0) });

async function newTenant(credit: number) {
  const { rows } = await t.db.pool.query<{ id: number }>(
    "insert into tenants (name) values ('prop') returning id",
  );
  const tenantId = rows[0]!.id;
  if (credit > 0)
    await creditTenant({
      db: t.db.pool,
      tenantId,
      parts: credit,
      expiresAt: new Date('2100-01-01T00:00:00Z'),
      reason: 'property test',
      actor: 'test',
    });
  return tenantId;
}

/** Runs one step in a transaction of its own: committed, or abandoned (the crash). */
async function step(crash: boolean, fn: (client: pg.PoolClient) => Promise<unknown>) {
  const client = await t.db.pool.connect();
  try {
    await client.query('begin');
    await fn(client);
    await client.query(crash ? 'rollback' : 'commit');
  } catch (err) {
    await client.query('rollback');
    throw err;
  } finally {
    client.release();
  }
}

async function run(tenantId: number, steps: { event: Event; crash: boolean }[]) {
  const ids: number[] = [];
  let clock = Date.parse('2026-09-01T00:00:00Z');
  let seq = 0;
  const target = (n: number) => (ids.length === 0 ? 0 : ids[n % ids.length]!);
  for (const original of steps) {
    const { crash } = original;
    let event = original.event;
    if (event.kind === 'advance') {
      if (ids.length === 0) continue;
      const { rows } = await t.db.pool.query<{ status: string }>(
        'select status from messages where id = $1',
        [target(event.pick)],
      );
      event = nextFor(rows[0]!.status, event.pick, event.choice);
    }
    clock += 60_000;
    const now = new Date(clock);
    await step(crash, async (db) => {
      switch (event.kind) {
        case 'accept': {
          const [admitted] = await admitAndInsertMessages(
            db,
            admission,
            [
              {
                tenantId,
                batchId: null,
                type: 'notification',
                priority: 1,
                recipient: `+86138${String(++seq).padStart(8, '0')}`,
                content: 'x',
                encoding: 'gsm7',
                parts: event.parts,
                clientRef: null,
                sendAt: event.scheduled ? new Date(clock + 3_600_000) : null,
              },
            ],
            { now, allOrNothing: false },
          );
          if (admitted!.ok && !crash) ids.push(admitted!.message.id);
          return;
        }
        case 'releaseHeld':
          return releaseHeldMessages(db, { now: new Date(clock + 7_200_000) });
        case 'claim':
          return claimNextMessages(db, {
            nodeId: NODE,
            limit: 5,
            perTenant: 5,
            now,
            deadlines: LONG_DEADLINES,
            maxAttempts: 5,
          });
        case 'submitOk': {
          const id = target(event.pick);
          return recordSentMessages(db, {
            nodeId: NODE,
            now,
            results: [
              { id, channelId: 1, sourceAddr: '106900', carrierIds: [`c-${id}`], duplicateRisk: false },
            ],
          });
        }
        case 'submitFail':
          return failMessages(db, {
            nodeId: NODE,
            now,
            results: [
              { id: target(event.pick), status: event.status, errorCode: 'smpp.0x00000045', errorDetail: '' },
            ],
          });
        case 'requeue':
          return requeueMessages(db, {
            nodeId: NODE,
            now,
            results: [
              {
                id: target(event.pick),
                delayMs: 0,
                errorCode: 'smpp.0x00000058',
                errorDetail: 'throttled',
                duplicateRisk: false,
                notAttempted: false,
              },
            ],
          });
        case 'receipt':
          return applySinglePartReceipts(db, {
            now,
            rows: [
              { messageId: target(event.pick), partNo: 0, state: event.state, errorCode: null, doneAt: now },
            ],
          });
        case 'windowElapsed':
          return expireAwaitingReceipts(db, { now: new Date(clock + 100 * 3_600_000), windowHours: 72 });
        case 'deadlineSweep':
          return expireOverdueMessages(db, { now: new Date(clock + 86_400_000), deadlines: NO_DEADLINES });
        case 'cancel':
          // The repository's own statement, run on this step's client so a crash can abandon it.
          return db.query(
            `update messages set status = 'canceled', canceled_at = $3, done_at = $3, updated_at = $3
              where id = $1 and tenant_id = $2 and status = 'held'`,
            [target(event.pick), tenantId, now],
          );
        case 'nodeDies':
          return recoverAbandonedMessages(db, { liveNodeIds: [], now });
        case 'advance':
          throw new Error('resolved above');
      }
    });
  }
  return ids;
}

/** Leaves nothing in flight for the next run's claims and sweeps (and releases those reservations). */
async function settle(tenantId: number) {
  await t.db.pool.query(
    `update messages set status = 'canceled', done_at = now()
      where tenant_id = $1 and status in ('held', 'queued', 'sending', 'sent')`,
    [tenantId],
  );
}

const ok = (event: Event) => ({ event, crash: false });
/** Six messages, one to each final state: delivered, undelivered, failed, rejected, canceled, expired. */
const EVERY_OUTCOME = [
  ok({ kind: 'accept', parts: 1, scheduled: false }),
  ok({ kind: 'accept', parts: 2, scheduled: false }),
  ok({ kind: 'accept', parts: 1, scheduled: false }),
  ok({ kind: 'accept', parts: 1, scheduled: false }),
  ok({ kind: 'accept', parts: 1, scheduled: true }),
  ok({ kind: 'claim' }),
  ok({ kind: 'submitOk', pick: 0 }),
  ok({ kind: 'receipt', pick: 0, state: 'delivered' }),
  ok({ kind: 'submitOk', pick: 1 }),
  ok({ kind: 'receipt', pick: 1, state: 'undelivered' }),
  ok({ kind: 'submitFail', pick: 2, status: 'failed' }),
  ok({ kind: 'submitFail', pick: 3, status: 'rejected' }),
  ok({ kind: 'cancel', pick: 4 }),
  ok({ kind: 'accept', parts: 1, scheduled: false }),
  ok({ kind: 'claim' }),
  ok({ kind: 'submitOk', pick: 5 }),
  ok({ kind: 'receipt', pick: 5, state: 'expired' }),
];

describe('charging under random event sequences with crashes', () => {
  it('never charges twice, never loses a refund, and reconciles', { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 16 }),
        fc.array(stepArb, { minLength: 10, maxLength: 60 }),
        async (credit, steps) => {
          const tenantId = await newTenant(credit);
          const ids = await run(tenantId, steps);
          // Each message's ledger rows against its own status.
          const { rows } = await t.db.pool.query<{
            id: number;
            status: string;
            parts: number;
            captures: number;
            returns: number;
            reserves: number;
          }>(
            `select m.id, m.status, m.parts,
                    count(*) filter (where l.kind = 'capture')::int as captures,
                    count(*) filter (where l.kind in ('refund', 'release'))::int as returns,
                    count(*) filter (where l.kind = 'reserve')::int as reserves
               from messages m left join billing_ledger l on l.message_id = m.id
              where m.tenant_id = $1 group by m.id order by m.id`,
            [tenantId],
          );
          expect(rows.map((r) => r.id)).toEqual(ids);
          let spent = 0;
          for (const m of rows) {
            const expected = expectedChargeState(m.status)!;
            expect({
              id: m.id,
              status: m.status,
              reserves: m.reserves,
              captures: m.captures,
              returns: m.returns,
            }).toEqual({
              id: m.id,
              status: m.status,
              reserves: 1,
              captures: expected === 'captured' ? 1 : m.captures,
              returns: expected === 'returned' ? 1 : 0,
            });
            spent += chargedParts(expected, m.parts);
          }
          const balance = await getBalance({ db: t.db.pool, tenantId });
          const held = rows
            .filter((m) => expectedChargeState(m.status) === 'reserved')
            .reduce((s, m) => s + m.parts, 0);
          expect({ available: balance.available, reserved: balance.reserved }).toEqual({
            available: credit - spent - held,
            reserved: held,
          });
          expect(balance.available).toBeGreaterThanOrEqual(0);
          const check = await reconcile({ db: t.db.pool });
          expect(check.differences).toEqual([]);
          await settle(tenantId);
        },
      ),
      // The random runs come from a new seed each time; this one fixed run always takes a message
      // to each final state and through every kind of charge change, so the coverage check below
      // does not depend on the seed (a CI run once drew 100 runs in which no message failed).
      { numRuns: 100, examples: [[16, EVERY_OUTCOME]] },
    );
    expect((await reconcile({ db: t.db.pool })).consistent).toBe(true);
    // The runs went through every kind of charge change and ended messages in every final state
    // (`unknown` rarely stays: a later receipt usually replaces it, which is the case to exercise).
    const { rows } = await t.db.pool.query<{ kind: string }>(
      'select distinct kind from billing_ledger order by kind',
    );
    expect(rows.map((r) => r.kind)).toEqual(['capture', 'credit', 'refund', 'release', 'reserve']);
    const statuses = await t.db.pool.query<{ status: string }>(
      'select distinct status from messages order by status',
    );
    expect(statuses.rows.map((r) => r.status)).toEqual(
      expect.arrayContaining(['canceled', 'delivered', 'expired', 'failed', 'rejected', 'undelivered']),
    );
  });
});
