// The ingest end of a receipt's journey: deliver_sm in, one transaction per batch, the answer to
// the carrier only after the commit.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { buildReceiptDeliverSm, type ReceiptState } from '../../smpp/receipt.ts';
import { recordSentMessages, recordSubmitResults, type SentResult } from '../dispatch/dispatch.sql.ts';
import { createReceiptIngest, OVERTAKEN_WAIT_MS } from './receipt-ingest.ts';
import { readReceiptCounts } from './receipts.sql.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let channelId: number;
const now = new Date('2026-11-22T10:00:00Z');
const logger = pino({ level: 'silent' });

async function sent(carrierIds: string[]): Promise<number> {
  const r = await t.db.pool.query<{ id: number }>(
    `insert into messages (tenant_id, type, priority, recipient, content, encoding, parts, status, claimed_by)
     values (1, 'notification', 1, '+8613800000001', 'hi', 'gsm7', $1, 'sending', 'n1') returning id`,
    [carrierIds.length],
  );
  const id = r.rows[0]!.id;
  await recordSentMessages(t.db.pool, {
    nodeId: 'n1',
    now,
    results: [{ id, channelId, sourceAddr: '106900', carrierIds, duplicateRisk: false }],
  });
  return id;
}

function receipt(id: string, state: ReceiptState, err?: string) {
  return buildReceiptDeliverSm({
    id,
    state,
    submitDate: now,
    doneDate: now,
    sourceAddr: '8613800000001',
    destinationAddr: '106900',
    ...(err === undefined ? {} : { err }),
  });
}

async function message(id: number) {
  const r = await t.db.pool.query('select status, error_code from messages where id = $1', [id]);
  return r.rows[0];
}

beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.pool.query(`insert into tenants (name) values ('ingest')`);
  const r = await t.db.pool.query<{ id: number }>(
    `insert into channels (name, host, port, system_id) values ('c', '127.0.0.1', 2775, 'x') returning id`,
  );
  channelId = r.rows[0]!.id;
});
afterAll(async () => t.drop());

describe('receipt ingest', () => {
  it('a batch that fails part-way leaves nothing applied, parked or counted, and is not acknowledged', async () => {
    const m = await sent(['a1']);
    // The batch's last statement (the counters) fails: its earlier update must not survive.
    await t.db.pool.query(`create function a1_fail() returns trigger language plpgsql as
      $$ begin raise exception 'counters unavailable'; end $$`);
    await t.db.pool.query(
      'create trigger a1_fail before insert or update on receipt_counters for each row execute function a1_fail()',
    );
    const ingest = createReceiptIngest({ pool: t.db.pool, logger, now: () => now });
    const outcomes = await Promise.allSettled([
      ingest.deliver(channelId, receipt('a1', 'delivered')),
      ingest.deliver(channelId, receipt('nobody', 'delivered')),
    ]);
    await ingest.drain();
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(await message(m)).toMatchObject({ status: 'sent' });
    const parked = await t.db.pool.query('select count(*)::int as n from pending_receipts');
    expect(parked.rows[0].n).toBe(0);
    // The carrier resends; now the batch commits.
    await t.db.pool.query('drop trigger a1_fail on receipt_counters');
    await expect(ingest.deliver(channelId, receipt('a1', 'delivered'))).resolves.toBeUndefined();
    expect(await message(m)).toMatchObject({ status: 'delivered' });
  });

  it('keeps the carrier’s err, and a part that expired first is not reported undelivered', async () => {
    const m = await sent(['p1', 'p2']);
    const ingest = createReceiptIngest({ pool: t.db.pool, logger, now: () => now });
    await ingest.deliver(channelId, receipt('p1', 'expired', '034'));
    await ingest.deliver(channelId, receipt('p2', 'undeliverable', '011'));
    expect(await message(m)).toEqual({ status: 'expired', error_code: 'carrier.EXPIRED.034' });
  });

  it('matches a receipt for this node’s own submission from memory, by the one reading', async () => {
    const ingest = createReceiptIngest({ pool: t.db.pool, logger, now: () => now });
    const m = await sent(['1042']);
    ingest.sentRecorded([{ id: m, channelId, carrierIds: ['1042'] }]);
    // Out of the look-up's sight: only this node's memory can find the message now.
    await t.db.pool.query('update messages set carrier_message_id = null where id = $1', [m]);
    // 4162 written in hex is 1042: on this as-is channel it is some other message's receipt.
    await ingest.deliver(channelId, receipt('4162', 'undeliverable'));
    await ingest.deliver(channelId, receipt('1042', 'delivered'));
    expect(await message(m)).toMatchObject({ status: 'delivered' });
    const counts = (await readReceiptCounts(t.db.pool)).find((c) => c.channelId === channelId)!;
    expect(counts).toMatchObject({ parked: 1, waiting: 1 });
  });

  it('a batch of receipts for its own single-part submissions is applied, counted and its duplicates recorded in one statement', async () => {
    const stored: string[] = [];
    const ingest = createReceiptIngest({
      pool: t.db.pool,
      logger,
      now: () => now,
      onStored: (rs) => stored.push(...rs.map((r) => `${r.carrierId}:${r.state}`)),
    });
    const m1 = await sent(['k1']);
    const m2 = await sent(['k2']);
    ingest.sentRecorded([
      { id: m1, channelId, carrierIds: ['k1'] },
      { id: m2, channelId, carrierIds: ['k2'] },
    ]);
    await t.db.pool.query(`update messages set status = 'delivered' where id = $1`, [m2]);
    const before = (await readReceiptCounts(t.db.pool)).find((c) => c.channelId === channelId)!;
    await Promise.all([
      ingest.deliver(channelId, receipt('k1', 'undeliverable', '011')),
      ingest.deliver(channelId, receipt('k2', 'delivered')),
    ]);
    expect(await message(m1)).toEqual({ status: 'undelivered', error_code: 'carrier.UNDELIV.011' });
    const after = (await readReceiptCounts(t.db.pool)).find((c) => c.channelId === channelId)!;
    expect({
      received: after.received - before.received,
      applied: after.applied - before.applied,
      duplicate: after.duplicate - before.duplicate,
      parked: after.parked - before.parked,
    }).toEqual({ received: 2, applied: 1, duplicate: 1, parked: 0 });
    const dup = await t.db.pool.query(
      `select message_id, part_no, state from receipt_duplicates where carrier_message_id = 'k2'`,
    );
    expect(dup.rows).toEqual([{ message_id: m2, part_no: 0, state: 'delivered' }]);
    expect(stored.sort()).toEqual(['k1:undelivered', 'k2:delivered']);
  });

  it('that statement failing leaves nothing applied or counted, and is not acknowledged', async () => {
    const m = await sent(['k3']);
    const stored: unknown[] = [];
    const ingest = createReceiptIngest({
      pool: t.db.pool,
      logger,
      now: () => now,
      onStored: (r) => stored.push(r),
    });
    ingest.sentRecorded([{ id: m, channelId, carrierIds: ['k3'] }]);
    await t.db.pool.query(`create or replace function k3_fail() returns trigger language plpgsql as
      $$ begin raise exception 'counters unavailable'; end $$`);
    await t.db.pool.query(
      'create trigger k3_fail before insert or update on receipt_counters for each row execute function k3_fail()',
    );
    await expect(ingest.deliver(channelId, receipt('k3', 'delivered'))).rejects.toThrow(
      /counters unavailable/,
    );
    expect(await message(m)).toMatchObject({ status: 'sent' });
    expect(stored).toEqual([]);
    await t.db.pool.query('drop trigger k3_fail on receipt_counters');
    await ingest.deliver(channelId, receipt('k3', 'delivered'));
    expect(await message(m)).toMatchObject({ status: 'delivered' });
  });

  it('a receipt that overtakes its submit result waits for the write in memory, not in the park', async () => {
    const ingest = createReceiptIngest({ pool: t.db.pool, logger, now: () => now });
    const r = await t.db.pool.query<{ id: number }>(
      `insert into messages (tenant_id, type, priority, recipient, content, encoding, parts, status, claimed_by)
       values (1, 'notification', 1, '+8613800000002', 'hi', 'gsm7', 1, 'sending', 'n1') returning id`,
    );
    const m = r.rows[0]!.id;
    const result = { id: m, channelId, sourceAddr: '106900', carrierIds: ['ov1'], duplicateRisk: false };
    const parkedRows = async () =>
      (await t.db.pool.query('select count(*)::int as n from pending_receipts')).rows[0].n as number;
    const parkedBefore = await parkedRows();
    // The recorder took the submit result; the receipt comes before the result is written.
    ingest.submitted(result);
    let answered = false;
    const delivered = ingest.deliver(channelId, receipt('ov1', 'delivered')).then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false); // not acknowledged to the carrier: nothing is stored yet
    expect(await parkedRows()).toBe(parkedBefore);
    expect(await message(m)).toMatchObject({ status: 'sending' });
    // The write commits: the receipt is matched from memory and only then acknowledged.
    await recordSentMessages(t.db.pool, { nodeId: 'n1', now, results: [result] });
    ingest.sentRecorded([result]);
    await delivered;
    expect(await message(m)).toMatchObject({ status: 'delivered' });
    expect(await parkedRows()).toBe(parkedBefore);
  });

  it('a receipt whose submit result is never written goes the parking way after the wait', async () => {
    const ingest = createReceiptIngest({ pool: t.db.pool, logger, now: () => now });
    const parkedRows = async () =>
      (
        await t.db.pool.query(
          `select count(*)::int as n from pending_receipts where carrier_message_id = 'ov2'`,
        )
      ).rows[0].n as number;
    ingest.submitted({ channelId, carrierIds: ['ov2'] });
    const started = Date.now();
    await ingest.deliver(channelId, receipt('ov2', 'delivered'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(OVERTAKEN_WAIT_MS - 50);
    expect(await parkedRows()).toBe(1);
  });

  describe('a receipt lent to the recorder', () => {
    async function sending(recipient: string): Promise<number> {
      const r = await t.db.pool.query<{ id: number }>(
        `insert into messages (tenant_id, type, priority, recipient, content, encoding, parts, status, claimed_by)
         values (1, 'notification', 1, $1, 'hi', 'gsm7', 1, 'sending', 'n1') returning id`,
        [recipient],
      );
      return r.rows[0]!.id;
    }
    const row = (id: number, carrierId: string): SentResult => ({
      id,
      channelId,
      sourceAddr: '106900',
      carrierIds: [carrierId],
      duplicateRisk: false,
    });
    /** The recorder's flush: lend, write with the receipts, settle, report. */
    async function flush(ingest: ReturnType<typeof createReceiptIngest>, rows: SentResult[]) {
      const lent = ingest.lendWaitingReceipts(rows);
      const withReceipts = rows.map((r) => {
        const receipt = lent?.outcomes.get(r.id);
        return receipt ? { ...r, receipt } : r;
      });
      const { receiptsWritten } = await recordSubmitResults(t.db.pool, {
        nodeId: 'n1',
        now,
        results: withReceipts,
        slot: lent?.slot ?? 0,
      });
      lent?.settle(new Set(receiptsWritten));
      ingest.sentRecorded(rows);
      return { lent: [...(lent?.outcomes.keys() ?? [])], receiptsWritten };
    }
    const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

    it('is written with its submit result in one update, counted, and acknowledged after the commit', async () => {
      const stored: string[] = [];
      const ingest = createReceiptIngest({
        pool: t.db.pool,
        logger,
        now: () => now,
        onStored: (rs) => stored.push(...rs.map((r) => `${r.carrierId}:${r.state}`)),
      });
      await ingest.conventions.ensure([channelId]);
      const [a, b, c] = [
        await sending('+8613800000011'),
        await sending('+8613800000012'),
        await sending('+8613800000013'),
      ];
      const rows = [row(a, 'ln1'), row(b, 'ln2'), row(c, 'ln3')];
      for (const r of rows) ingest.submitted(r);
      const answered: string[] = [];
      const deliveries = [
        ingest.deliver(channelId, receipt('ln1', 'delivered')).then(() => answered.push('ln1')),
        ingest.deliver(channelId, receipt('ln2', 'undeliverable', '034')).then(() => answered.push('ln2')),
      ];
      await tick();
      expect(answered).toEqual([]);
      const before = (await readReceiptCounts(t.db.pool)).find((x) => x.channelId === channelId)!;
      // Every update of these rows, as the status triggers see them.
      await t.db.pool.query('create table lent_updates (id bigint, old_status text, new_status text)');
      await t.db.pool.query(`create function lent_updates() returns trigger language plpgsql as
        $$ begin insert into lent_updates values (new.id, old.status, new.status); return null; end $$`);
      await t.db.pool.query(
        'create trigger lent_updates after update on messages for each row execute function lent_updates()',
      );
      const { lent, receiptsWritten } = await flush(ingest, rows);
      expect(lent.sort()).toEqual([a, b].sort());
      expect(receiptsWritten.sort()).toEqual([a, b].sort());
      await Promise.all(deliveries);
      expect(answered.sort()).toEqual(['ln1', 'ln2']);
      const got = await t.db.pool.query(
        `select id, status, error_code, sent_at, done_at, parts_delivered, parts_failed, carrier_message_id
           from messages where id = any($1::bigint[]) order by id`,
        [[a, b, c]],
      );
      expect(got.rows).toEqual([
        {
          id: a,
          status: 'delivered',
          error_code: null,
          sent_at: now,
          done_at: now,
          parts_delivered: 1,
          parts_failed: 0,
          carrier_message_id: 'ln1',
        },
        {
          id: b,
          status: 'undelivered',
          error_code: 'carrier.UNDELIV.034',
          sent_at: now,
          done_at: now,
          parts_delivered: 0,
          parts_failed: 1,
          carrier_message_id: 'ln2',
        },
        {
          id: c,
          status: 'sent',
          error_code: null,
          sent_at: now,
          done_at: null,
          parts_delivered: 0,
          parts_failed: 0,
          carrier_message_id: 'ln3',
        },
      ]);
      await t.db.pool.query('drop trigger lent_updates on messages');
      const updates = await t.db.pool.query(
        'select id, old_status, new_status from lent_updates order by id',
      );
      // One update of each row: straight from sending to the receipt's state.
      expect(updates.rows).toEqual([
        { id: a, old_status: 'sending', new_status: 'delivered' },
        { id: b, old_status: 'sending', new_status: 'undelivered' },
        { id: c, old_status: 'sending', new_status: 'sent' },
      ]);
      const after = (await readReceiptCounts(t.db.pool)).find((x) => x.channelId === channelId)!;
      expect({
        received: after.received - before.received,
        applied: after.applied - before.applied,
        duplicate: after.duplicate - before.duplicate,
        parked: after.parked - before.parked,
      }).toEqual({ received: 2, applied: 2, duplicate: 0, parked: 0 });
      expect(stored.sort()).toEqual(['ln1:delivered', 'ln2:undelivered']);
      // A second receipt for a message that took one this way is a duplicate, as before.
      await ingest.deliver(channelId, receipt('ln1', 'undeliverable'));
      expect(await message(a)).toEqual({ status: 'delivered', error_code: null });
      const last = (await readReceiptCounts(t.db.pool)).find((x) => x.channelId === channelId)!;
      expect(last.duplicate - after.duplicate).toBe(1);
    });

    it('goes back to the ingest when its message was not written, and two receipts for one id are not lent', async () => {
      const ingest = createReceiptIngest({ pool: t.db.pool, logger, now: () => now });
      await ingest.conventions.ensure([channelId]);
      const a = await sending('+8613800000021');
      const b = await sending('+8613800000022');
      // a was handed to another node by crash recovery meanwhile: this node's result is not written.
      await t.db.pool.query(`update messages set claimed_by = 'n2' where id = $1`, [a]);
      const rows = [row(a, 'gb1'), row(b, 'gb2')];
      for (const r of rows) ingest.submitted(r);
      const deliveries = [
        ingest.deliver(channelId, receipt('gb1', 'delivered')),
        ingest.deliver(channelId, receipt('gb2', 'undeliverable')),
        ingest.deliver(channelId, receipt('gb2', 'delivered')),
      ];
      await tick();
      const { lent, receiptsWritten } = await flush(ingest, rows);
      expect(lent).toEqual([a]);
      expect(receiptsWritten).toEqual([]);
      await Promise.all(deliveries);
      // a's receipt went the usual way: this node remembers the id it was given, and a message
      // that cannot take the receipt (not sent by this node) records it as a duplicate.
      const dup = await t.db.pool.query(
        `select message_id, state from receipt_duplicates where carrier_message_id = 'gb1'`,
      );
      expect(dup.rows).toEqual([{ message_id: a, state: 'delivered' }]);
      expect(await message(a)).toMatchObject({ status: 'sending' });
      // b's two receipts went the usual way after the write: one applied (the later), one duplicate.
      expect(await message(b)).toEqual({ status: 'delivered', error_code: null });
    });
  });
});
