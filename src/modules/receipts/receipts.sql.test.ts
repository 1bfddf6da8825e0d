// Receipt matching on a real PostgreSQL: each receipt reaches exactly the message its id names
// under the channel's convention, with sequential decimal ids whose other readings collide
// (4162 read as hex is 16738; 4162 written in hex is 1042).
import type pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { createChannelsRepository } from '../channels/channels.repository.ts';
import { recordSentMessages } from '../dispatch/dispatch.sql.ts';
import { createIdConventionBook } from './id-conventions.ts';
import {
  applyReceipts,
  type ReadingsOf,
  type ReceiptInput,
  retryParkedReceipts,
} from './receipt-matching.ts';
import type { FinalReceiptState, FixedIdConvention } from './receipts.models.ts';
import { readReceiptCounts } from './receipts.sql.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let tenantId: number;
const now = new Date('2026-11-22T10:00:00Z');
const logger = pino({ level: 'silent' });

async function tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('begin');
    const r = await fn(c);
    await c.query('commit');
    return r;
  } catch (e) {
    await c.query('rollback');
    throw e;
  } finally {
    c.release();
  }
}

async function channel(name: string, convention: string): Promise<number> {
  const r = await pool.query<{ id: number }>(
    `insert into channels (name, host, port, system_id, id_convention) values ($1, '127.0.0.1', 2775, 'x', $2) returning id`,
    [name, convention],
  );
  return r.rows[0]!.id;
}

/** Messages claimed by node n1, as the dispatcher leaves them before their submit results. */
async function sending(count: number, parts = 1): Promise<number[]> {
  const r = await pool.query<{ id: number }>(
    `insert into messages (tenant_id, type, priority, recipient, content, encoding, parts, status, claimed_by, sending_at)
     select $1, 'notification', 1, '+86138' || lpad(g::text, 8, '0'), 'hi', 'gsm7', $3, 'sending', 'n1', $4
       from generate_series(1, $2) g returning id`,
    [tenantId, count, parts, now],
  );
  return r.rows.map((x) => x.id).sort((a, b) => a - b);
}

async function recordSent(channelId: number, sent: { id: number; carrierIds: string[] }[]) {
  return recordSentMessages(pool, {
    nodeId: 'n1',
    now,
    results: sent.map((s) => ({ ...s, channelId, sourceAddr: '106900', duplicateRisk: false })),
  });
}

function receipt(channelId: number, carrierId: string, state: FinalReceiptState = 'delivered'): ReceiptInput {
  return {
    channelId,
    carrierId,
    state,
    errorCode: state === 'delivered' ? null : `carrier.${state.toUpperCase()}.034`,
    doneAt: now,
  };
}

const fixed =
  (convention: FixedIdConvention): ReadingsOf =>
  () => [convention];

const apply = (receipts: ReceiptInput[], readingsOf: ReadingsOf) =>
  tx((c) => applyReceipts(c, { receipts, now, readingsOf }));
const retry = (readingsOf: ReadingsOf, at = now) =>
  tx((c) => retryParkedReceipts(c, { now: at, windowHours: 72, readingsOf, limit: 100_000 }));

async function outcomes(ids: number[]) {
  const r = await pool.query<{ id: number; status: string; error_code: string | null }>(
    'select id, status, error_code from messages where id = any($1::bigint[]) order by id',
    [ids],
  );
  return r.rows;
}

async function counts(channelId: number) {
  return (await readReceiptCounts(pool)).find((c) => c.channelId === channelId)!;
}

beforeAll(async () => {
  t = await createTestDatabase();
  pool = t.db.pool;
  const r = await pool.query<{ id: number }>(`insert into tenants (name) values ('receipts') returning id`);
  tenantId = r.rows[0]!.id;
});
afterAll(async () => t.drop());
beforeEach(async () => {
  await pool.query('delete from pending_receipts');
});

describe('sequential decimal ids whose other readings collide', () => {
  it('a receipt that overtakes its own submit result is parked, not applied to 1042 or 16738', async () => {
    const ch = await channel('seq', 'as-is');
    const [x, y, z] = await sending(3);
    // 1042 and 16738 are other messages' ids; 4162's own message is not written yet.
    await recordSent(ch, [
      { id: x!, carrierIds: ['1042'] },
      { id: z!, carrierIds: ['16738'] },
    ]);
    const early = await apply([receipt(ch, '4162', 'undelivered')], fixed('as-is'));
    expect(early).toEqual({ applied: 0, parked: 1, duplicate: 0 });
    expect((await outcomes([x!, z!])).map((m) => m.status)).toEqual(['sent', 'sent']);
    await recordSent(ch, [{ id: y!, carrierIds: ['4162'] }]);
    expect(await retry(fixed('as-is'))).toMatchObject({ applied: 1, duplicate: 0 });
    await apply([receipt(ch, '1042'), receipt(ch, '16738', 'expired')], fixed('as-is'));
    expect(await outcomes([x!, y!, z!])).toEqual([
      { id: x, status: 'delivered', error_code: null },
      { id: y, status: 'undelivered', error_code: 'carrier.UNDELIVERED.034' },
      { id: z, status: 'expired', error_code: 'carrier.EXPIRED.034' },
    ]);
  });

  it('5,000 sequential ids, the upper ones written after their receipts: each message gets its own outcome', async () => {
    const ch = await channel('seq5000', 'as-is');
    // 1001..4096 are written first; the receipts of 4097..6000 come before their submit results,
    // and many of them have a reading that names a written message (4162 written in hex is 1042).
    const early = (i: number) => 1001 + i < 4097;
    const ids = await sending(5000);
    const carrierId = (i: number) => String(1001 + i);
    // The carrier decides by message: every fifth undelivered, every seventh expired.
    const stateOf = (i: number): FinalReceiptState =>
      i % 5 === 0 ? 'undelivered' : i % 7 === 0 ? 'expired' : 'delivered';
    const all = ids.map((id, i) => ({ id, carrierIds: [carrierId(i)] }));
    await recordSent(
      ch,
      all.filter((_, i) => early(i)),
    );
    const r = await apply(
      ids.map((_, i) => receipt(ch, carrierId(i), stateOf(i))),
      fixed('as-is'),
    );
    expect(r).toEqual({ applied: 3096, parked: 1904, duplicate: 0 });
    await recordSent(
      ch,
      all.filter((_, i) => !early(i)),
    );
    expect(await retry(fixed('as-is'))).toMatchObject({ applied: 1904, duplicate: 0 });
    const rows = await outcomes(ids);
    expect(rows.map((m) => m.status)).toEqual(ids.map((_, i) => stateOf(i)));
    expect(await counts(ch)).toMatchObject({
      received: 5000,
      applied: 5000,
      parked: 1904,
      duplicate: 0,
      waiting: 0,
    });
  });
});

describe('each convention reads the id one way', () => {
  it('hex response, decimal receipt: 4162 names 1042 only', async () => {
    const ch = await channel('hexdec', 'hex-resp-decimal-receipt');
    const [a, b] = await sending(2);
    await recordSent(ch, [
      { id: a!, carrierIds: ['1042'] },
      { id: b!, carrierIds: ['4162'] },
    ]);
    const r = await apply([receipt(ch, '4162')], fixed('hex-resp-decimal-receipt'));
    expect(r.applied).toBe(1);
    expect((await outcomes([a!, b!])).map((m) => m.status)).toEqual(['delivered', 'sent']);
    // 1042 is not the decimal form of any hex response written: it waits.
    expect(await apply([receipt(ch, '1042')], fixed('hex-resp-decimal-receipt'))).toMatchObject({
      parked: 1,
    });
  });

  it('decimal response, hex receipt: 4162 names 16738 only', async () => {
    const ch = await channel('dechex', 'decimal-resp-hex-receipt');
    const [a, b, c] = await sending(3);
    await recordSent(ch, [
      { id: a!, carrierIds: ['16738'] },
      { id: b!, carrierIds: ['4162'] },
      { id: c!, carrierIds: ['1042'] },
    ]);
    await apply([receipt(ch, '4162', 'rejected')], fixed('decimal-resp-hex-receipt'));
    expect((await outcomes([a!, b!, c!])).map((m) => m.status)).toEqual(['rejected', 'sent', 'sent']);
  });

  it('the in-memory match uses the same single reading', async () => {
    const ch = await channel('memory', 'as-is');
    const [a] = await sending(1);
    await recordSent(ch, [{ id: a!, carrierIds: ['1042'] }]);
    const memory = new Map([[`${ch}:1042`, { messageId: a!, partNo: 0 }]]);
    const known = (channelId: number, id: string) => memory.get(`${channelId}:${id}`);
    const r = await tx((c) =>
      applyReceipts(c, { receipts: [receipt(ch, '4162')], now, readingsOf: fixed('as-is'), known }),
    );
    expect(r).toMatchObject({ applied: 0, parked: 1 });
    expect((await outcomes([a!]))[0]!.status).toBe('sent');
  });
});

describe('auto learns from unambiguous matches', () => {
  it('parks while learning, never applies an ambiguous receipt, then applies by what it learned', async () => {
    const ch = await channel('auto', 'auto');
    const book = createIdConventionBook({ pool, logger, now: () => now });
    await book.ensure([ch]);
    expect(book.readingsOf(ch)).toHaveLength(3);
    // An ambiguous pair: receipt 4162 names 4162 as-is and 1042 read as hex-resp/decimal-receipt.
    const [p, q] = await sending(2);
    await recordSent(ch, [
      { id: p!, carrierIds: ['4162'] },
      { id: q!, carrierIds: ['1042'] },
    ]);
    // 30 messages with ids whose other readings name nothing written.
    const ids = await sending(30);
    await recordSent(
      ch,
      ids.map((id, i) => ({ id, carrierIds: [String(90001 + i)] })),
    );
    const first = await apply(
      [receipt(ch, '4162', 'expired'), ...ids.map((_, i) => receipt(ch, String(90001 + i)))],
      book.readingsOf,
    );
    expect(first).toEqual({ applied: 0, parked: 31, duplicate: 0 });
    const r = await retry(book.readingsOf);
    expect(r.applied).toBe(0);
    expect(r.evidence).toHaveLength(30);
    await book.addEvidence(r.evidence);
    // Counting the same parked receipts again adds nothing.
    await book.addEvidence(r.evidence);
    expect(book.readingsOf(ch)).toEqual(['as-is']);
    const stored = await pool.query(
      'select id_convention, id_convention_learned from channels where id = $1',
      [ch],
    );
    expect(stored.rows[0]).toEqual({ id_convention: 'auto', id_convention_learned: 'as-is' });
    expect((await retry(book.readingsOf)).applied).toBe(31);
    expect((await outcomes([p!, q!])).map((m) => m.status)).toEqual(['expired', 'sent']);
    expect((await outcomes(ids)).every((m) => m.status === 'delivered')).toBe(true);
  });

  it('an operator who sets auto again makes it learn afresh', async () => {
    const ch = await channel('auto-reset', 'auto');
    await pool.query(`update channels set id_convention_learned = 'hex-resp-decimal-receipt' where id = $1`, [
      ch,
    ]);
    const book = createIdConventionBook({ pool, logger, now: () => now, refreshMs: 0 });
    await book.ensure([ch]);
    expect(book.readingsOf(ch)).toEqual(['hex-resp-decimal-receipt']);
    await createChannelsRepository(t.db.kysely).setIdConvention('auto-reset', 'auto');
    await book.ensure([ch]);
    expect(book.readingsOf(ch)).toHaveLength(3);
    await createChannelsRepository(t.db.kysely).setIdConvention('auto-reset', 'decimal-resp-hex-receipt');
    await book.ensure([ch]);
    expect(book.readingsOf(ch)).toEqual(['decimal-resp-hex-receipt']);
  });

  it('an ambiguous receipt stays parked through retries and counts for nothing', async () => {
    const ch = await channel('auto2', 'auto');
    const book = createIdConventionBook({ pool, logger, now: () => now });
    await book.ensure([ch]);
    const [p, q] = await sending(2);
    await recordSent(ch, [
      { id: p!, carrierIds: ['4162'] },
      { id: q!, carrierIds: ['16738'] },
    ]);
    await apply([receipt(ch, '4162')], book.readingsOf);
    for (let i = 0; i < 3; i++) {
      const r = await retry(book.readingsOf);
      expect(r).toMatchObject({ applied: 0, evidence: [] });
    }
    expect((await outcomes([p!, q!])).map((m) => m.status)).toEqual(['sent', 'sent']);
    expect(await counts(ch)).toMatchObject({ parked: 1, waiting: 1 });
  });
});

describe('duplicates and expiry are recorded, never dropped in silence', () => {
  it('a second receipt for a final message is kept with its carrier id and counted', async () => {
    const ch = await channel('dups', 'as-is');
    const [a] = await sending(1);
    await recordSent(ch, [{ id: a!, carrierIds: ['77'] }]);
    // Twice in one batch, then once more later.
    expect(await apply([receipt(ch, '77'), receipt(ch, '77')], fixed('as-is'))).toEqual({
      applied: 1,
      parked: 0,
      duplicate: 1,
    });
    expect(await apply([receipt(ch, '77', 'undelivered')], fixed('as-is'))).toMatchObject({ duplicate: 1 });
    const dups = await pool.query(
      'select carrier_message_id, message_id, state from receipt_duplicates where channel_id = $1',
      [ch],
    );
    expect(dups.rows).toEqual([
      { carrier_message_id: '77', message_id: a, state: 'delivered' },
      { carrier_message_id: '77', message_id: a, state: 'undelivered' },
    ]);
    expect((await outcomes([a!]))[0]!.status).toBe('delivered');
    expect(await counts(ch)).toMatchObject({ received: 3, applied: 1, duplicate: 2 });
  });

  it('a carrier’s resend of a receipt that waits parked is counted as a duplicate, not parked twice', async () => {
    const ch = await channel('resend', 'as-is');
    const [a] = await sending(1);
    // Twice in one batch, then once more later (its deliver_sm_resp lost with a dropped session).
    expect(await apply([receipt(ch, '88'), receipt(ch, '88')], fixed('as-is'))).toEqual({
      applied: 0,
      parked: 1,
      duplicate: 1,
    });
    expect(await apply([receipt(ch, '88')], fixed('as-is'))).toEqual({ applied: 0, parked: 0, duplicate: 1 });
    expect(await counts(ch)).toMatchObject({ received: 3, parked: 1, duplicate: 2, waiting: 1 });
    // The one copy kept matches once its submit result is written, and nothing is left waiting.
    await recordSent(ch, [{ id: a!, carrierIds: ['88'] }]);
    expect(await retry(fixed('as-is'))).toMatchObject({ applied: 1, duplicate: 0 });
    expect((await outcomes([a!]))[0]!.status).toBe('delivered');
    expect(await counts(ch)).toMatchObject({ applied: 1, waiting: 0 });
  });

  it('a parked receipt past the receipt window is dropped and counted as expired', async () => {
    const ch = await channel('expiry', 'as-is');
    await apply([receipt(ch, 'nobody')], fixed('as-is'));
    expect((await retry(fixed('as-is'), new Date(now.getTime() + 71 * 3600_000))).expired).toBe(0);
    expect((await retry(fixed('as-is'), new Date(now.getTime() + 73 * 3600_000))).expired).toBe(1);
    expect(await counts(ch)).toMatchObject({ received: 1, parked: 1, expired: 1, waiting: 0 });
  });
});

describe('multi-part messages', () => {
  async function parts(status: string) {
    const r = await pool.query(
      'select status, error_code, parts_delivered, parts_failed from messages where id = $1',
      [status],
    );
    return r.rows[0];
  }

  it('keeps the carrier’s err, and an earlier expired part does not end as undelivered', async () => {
    const ch = await channel('multi', 'as-is');
    const [m] = await sending(1, 3);
    await recordSent(ch, [{ id: m!, carrierIds: ['m1', 'm2', 'm3'] }]);
    await apply([receipt(ch, 'm1', 'expired')], fixed('as-is'));
    await apply([receipt(ch, 'm2')], fixed('as-is'));
    expect(await parts(String(m))).toMatchObject({ status: 'sent', parts_delivered: 1, parts_failed: 1 });
    await apply([receipt(ch, 'm3')], fixed('as-is'));
    expect(await parts(String(m))).toEqual({
      status: 'expired',
      error_code: 'carrier.EXPIRED.034',
      parts_delivered: 2,
      parts_failed: 1,
    });
  });

  it('an unknown stat does not fix a part: a later DELIVRD replaces it', async () => {
    const ch = await channel('multi-unknown', 'as-is');
    const [m] = await sending(1, 2);
    await recordSent(ch, [{ id: m!, carrierIds: ['u1', 'u2'] }]);
    await apply([receipt(ch, 'u1', 'unknown'), receipt(ch, 'u2')], fixed('as-is'));
    expect(await parts(String(m))).toMatchObject({ status: 'unknown', parts_failed: 1 });
    expect(await apply([receipt(ch, 'u1')], fixed('as-is'))).toMatchObject({ applied: 1, duplicate: 0 });
    expect(await parts(String(m))).toEqual({
      status: 'delivered',
      error_code: null,
      parts_delivered: 2,
      parts_failed: 0,
    });
  });

  it('parts receipted by two batches written at once are both counted', async () => {
    const ch = await channel('multi-concurrent', 'as-is');
    const ms = await sending(20, 2);
    await recordSent(
      ch,
      ms.map((id) => ({ id, carrierIds: [`c${id}a`, `c${id}b`] })),
    );
    await Promise.all([
      apply(
        ms.map((id) => receipt(ch, `c${id}a`)),
        fixed('as-is'),
      ),
      apply(
        ms.map((id) => receipt(ch, `c${id}b`)),
        fixed('as-is'),
      ),
    ]);
    expect((await outcomes(ms)).every((m) => m.status === 'delivered')).toBe(true);
  });
});

describe('recordSentMessages', () => {
  it('one carrier id given to two parts, or to two messages, in one batch does not fail it', async () => {
    const ch = await channel('shared-ids', 'as-is');
    const [a, b, c] = await sending(3, 2);
    expect(
      await recordSent(ch, [
        { id: a!, carrierIds: ['same', 'same'] },
        { id: b!, carrierIds: ['k', 'b2'] },
        { id: c!, carrierIds: ['k', 'c2'] },
      ]),
    ).toBe(3);
    const rows = await pool.query(
      'select carrier_message_id, message_id, part_no, covers from message_parts where channel_id = $1 order by 1',
      [ch],
    );
    expect(rows.rows).toEqual([
      { carrier_message_id: 'b2', message_id: b, part_no: 2, covers: 1 },
      { carrier_message_id: 'c2', message_id: c, part_no: 2, covers: 1 },
      { carrier_message_id: 'k', message_id: c, part_no: 1, covers: 1 },
      { carrier_message_id: 'same', message_id: a, part_no: 1, covers: 2 },
    ]);
    // One receipt for the shared id answers for both parts.
    await apply([receipt(ch, 'same')], fixed('as-is'));
    expect((await outcomes([a!]))[0]!.status).toBe('delivered');
  });

  it('writes no parts for a message this node no longer holds', async () => {
    const ch = await channel('not-held', 'as-is');
    const [a] = await sending(1, 2);
    await pool.query(`update messages set claimed_by = 'n2' where id = $1`, [a]);
    expect(await recordSent(ch, [{ id: a!, carrierIds: ['h1', 'h2'] }])).toBe(0);
    const rows = await pool.query('select count(*)::int as n from message_parts where message_id = $1', [a]);
    expect(rows.rows[0].n).toBe(0);
  });
});
