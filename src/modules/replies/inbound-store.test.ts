// Replies on a real PostgreSQL: attribution, text PostgreSQL refuses, a poison row beside receipts
// in one batch, and concatenated replies reassembled from parts kept in the database.
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { buildPdu } from '../../smpp/pdu.ts';
import { buildReceiptDeliverSm } from '../../smpp/receipt.ts';
import type { DeliverSm } from '../../smpp/pdu-types.ts';
import { insertMessages } from '../messages/messages.repository.ts';
import { createReceiptIngest } from '../receipts/receipt-ingest.ts';
import { inboundFromPdu } from './inbound.ts';
import { flushExpiredReplyParts, storeInboundMessages } from './inbound-store.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let channelId: number;
const now = new Date('2026-11-22T10:00:00Z');
const logger = pino({ level: 'silent' });

async function tenant(name: string, senderCode: string | null) {
  const r = await t.db.pool.query<{ id: string }>(
    'insert into tenants (name, sender_code) values ($1, $2) returning id',
    [name, senderCode],
  );
  return Number(r.rows[0]!.id);
}

/** A message of `tenantId` to `recipient`, sent on the channel at `sentAt` under `carrierId`. */
async function sent(tenantId: number, recipient: string, sentAt: Date, carrierId: string | null = null) {
  const [m] = await insertMessages(
    t.db.pool,
    [
      {
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
      },
    ],
    sentAt,
  );
  await t.db.pool.query(
    `update messages set status = 'sent', channel_id = $2, sent_at = $3, carrier_message_id = $4 where id = $1`,
    [m!.id, channelId, sentAt, carrierId],
  );
  return m!.id;
}

function mo(
  fields: {
    from: string;
    to: string;
    text?: Buffer;
    dataCoding?: number;
    esmClass?: number;
  } & Partial<DeliverSm>,
): DeliverSm {
  const { from, to, text, ...rest } = fields;
  return buildPdu('deliver_sm', {
    sourceAddr: from,
    destinationAddr: to,
    shortMessage: text ?? Buffer.alloc(0),
    ...rest,
  });
}

const udh8 = (ref: number, total: number, seq: number) => Buffer.from([5, 0, 3, ref, total, seq]);
const udh16 = (ref: number, total: number, seq: number) =>
  Buffer.from([6, 8, 4, ref >> 8, ref & 0xff, total, seq]);

function input(pdu: DeliverSm, receivedAt = now) {
  return inboundFromPdu({ channelId, pdu, receivedAt });
}

async function replies() {
  const r = await t.db.pool.query(
    `select tenant_id, attribution, candidate_tenant_ids, sender, destination, content, sanitized, raw_hex,
            parts, incomplete from inbound_messages order by id`,
  );
  return r.rows.map((row) => ({
    ...row,
    tenant_id: row.tenant_id === null ? null : Number(row.tenant_id),
    candidate_tenant_ids: row.candidate_tenant_ids?.map(Number) ?? null,
  }));
}

beforeAll(async () => {
  t = await createTestDatabase();
  const c = await t.db.pool.query<{ id: string }>(
    `insert into channels (name, host, port, system_id, source_addr) values ('c1', '127.0.0.1', 2775, 'x', '106900')
     returning id`,
  );
  channelId = Number(c.rows[0]!.id);
});
afterAll(async () => t.drop());
beforeEach(async () => {
  await t.db.pool.query('truncate inbound_messages, inbound_parts, messages, pending_receipts cascade');
});

describe('attribution', () => {
  it('gives a reply to the tenant whose extension code follows the channel number', async () => {
    const a = await tenant('ext-a', '71');
    const b = await tenant('ext-b', '712');
    const other = await tenant('ext-other', '80');
    await sent(other, '+8613700000001', now);
    await storeInboundMessages(t.db.pool, {
      messages: [
        input(mo({ from: '8613700000001', to: '10690071', text: Buffer.from('to a') })),
        input(mo({ from: '8613700000001', to: '10690071299', text: Buffer.from('to b, longest code') })),
      ],
      now,
    });
    expect(await replies()).toMatchObject([
      { tenant_id: a, attribution: 'extension', content: 'to a' },
      { tenant_id: b, attribution: 'extension', content: 'to b, longest code' },
    ]);
  });

  it('without a code, gives it to the one tenant that messaged the handset on this channel', async () => {
    const only = await tenant('only', null);
    const old = await tenant('long-ago', null);
    await sent(only, '+8613700000002', new Date(now.getTime() - 3_600_000));
    // Outside the receipt window: no longer a candidate.
    await sent(old, '+8613700000002', new Date(now.getTime() - 80 * 3_600_000));
    await storeInboundMessages(t.db.pool, {
      messages: [input(mo({ from: '8613700000002', to: '106900', text: Buffer.from('TD') }))],
      now,
      windowHours: 72,
    });
    expect(await replies()).toMatchObject([
      { tenant_id: only, attribution: 'recent_sender', candidate_tenant_ids: null, content: 'TD' },
    ]);
  });

  it('without a code, leaves it unattributed with the candidates when two tenants messaged the handset', async () => {
    const x = await tenant('x', null);
    const y = await tenant('y', null);
    await sent(x, '+8613700000003', new Date(now.getTime() - 60_000));
    await sent(y, '+8613700000003', new Date(now.getTime() - 30_000));
    await storeInboundMessages(t.db.pool, {
      messages: [input(mo({ from: '8613700000003', to: '106900', text: Buffer.from('STOP') }))],
      now,
    });
    expect(await replies()).toEqual([
      expect.objectContaining({
        tenant_id: null,
        attribution: 'ambiguous',
        candidate_tenant_ids: [x, y].sort((p, q) => p - q),
        content: 'STOP',
      }),
    ]);
  });

  it('leaves a reply nobody messaged the handset for unattributed as unknown', async () => {
    await storeInboundMessages(t.db.pool, {
      messages: [input(mo({ from: '8613700000004', to: '106900', text: Buffer.from('hi') }))],
      now,
    });
    expect(await replies()).toMatchObject([{ tenant_id: null, attribution: 'unknown' }]);
  });
});

describe('replies that PostgreSQL cannot store as received, in a batch with receipts', () => {
  async function ingestBatch(pdus: DeliverSm[]) {
    const ingest = createReceiptIngest({ pool: t.db.pool, logger, now: () => now, maxBatch: 1000 });
    const outcomes = await Promise.allSettled(pdus.map((p) => ingest.deliver(channelId, p)));
    await ingest.drain();
    return outcomes.map((o) => o.status);
  }

  function receipt(carrierId: string, recipient: string) {
    return buildReceiptDeliverSm({
      id: carrierId,
      state: 'delivered',
      submitDate: now,
      doneDate: now,
      sourceAddr: recipient.slice(1),
      destinationAddr: '106900',
    });
  }

  it('stores NUL, binary and invalid UCS-2 replies, and applies the receipts of the same batch', async () => {
    const owner = await tenant('nul-owner', '55');
    const m1 = await sent(owner, '+8613800000011', now, 'AA11');
    const m2 = await sent(owner, '+8613800000012', now, 'AA12');
    const outcomes = await ingestBatch([
      receipt('AA11', '+8613800000011'),
      mo({ from: '8613800000011', to: '10690055', dataCoding: 3, text: Buffer.from('T\0D\0', 'latin1') }),
      mo({
        from: '8613800000011',
        to: '10690055',
        dataCoding: 4,
        text: Buffer.from([0x00, 0x01, 0xfe, 0xff]),
      }),
      mo({
        from: '8613800000012',
        to: '10690055',
        dataCoding: 8,
        text: Buffer.from([0xdc, 0x00, 0x00, 0x42]),
      }),
      receipt('AA12', '+8613800000012'),
    ]);
    expect(outcomes).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const statuses = await t.db.pool.query('select id, status from messages where id = any($1) order by id', [
      [m1, m2],
    ]);
    expect(statuses.rows.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(await replies()).toMatchObject([
      { tenant_id: owner, content: 'TD', sanitized: true, raw_hex: '5400440' + '0' },
      { tenant_id: owner, content: '\u0001\u00fe\u00ff', sanitized: true, raw_hex: '0001feff' },
      { tenant_id: owner, content: '\uFFFDB', sanitized: true, raw_hex: 'dc000042' },
    ]);
  });

  it('isolates a reply the database refuses: its neighbours and the receipts are stored, it is kept raw or dropped', async () => {
    const owner = await tenant('poison-owner', '56');
    const m1 = await sent(owner, '+8613800000021', now, 'BB21');
    // A refusal no sanitizing can foresee (here a trigger; in life a constraint or an encoding
    // the server rejects): the batch insert fails for this row alone.
    await t.db.pool.query(`
      create or replace function refuse_poison() returns trigger language plpgsql as $$
      begin
        if new.content = 'poison' then raise exception 'refused' using errcode = '22000'; end if;
        if new.raw_hex = '646f6f6d' then raise exception 'refused raw' using errcode = '22000'; end if;
        return new;
      end $$;
      create trigger refuse_poison before insert on inbound_messages for each row execute function refuse_poison();`);
    try {
      const outcomes = await ingestBatch([
        mo({ from: '8613800000021', to: '10690056', text: Buffer.from('before') }),
        mo({ from: '8613800000021', to: '10690056', text: Buffer.from('poison') }),
        receipt('BB21', '+8613800000021'),
        // Refused even as raw bytes: logged with its bytes and dropped, the batch still acknowledged.
        mo({ from: '8613800000021', to: '10690056', text: Buffer.from('doom') }),
        mo({ from: '8613800000021', to: '10690056', text: Buffer.from('after') }),
      ]);
      expect(outcomes).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      const status = await t.db.pool.query('select status from messages where id = $1', [m1]);
      expect(status.rows[0].status).toBe('delivered');
      expect(await replies()).toMatchObject([
        { content: 'before', sanitized: false },
        { content: '', sanitized: true, raw_hex: Buffer.from('poison').toString('hex') },
        { content: 'after', sanitized: false },
      ]);
    } finally {
      await t.db.pool.query('drop trigger refuse_poison on inbound_messages');
    }
  });

  it('refuses the batch when the failure is not the data’s (the carrier resends it)', async () => {
    const failing = {
      connect: async () => {
        throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
      },
    };
    await expect(
      storeInboundMessages(failing as never, {
        messages: [input(mo({ from: '8613800000031', to: '106900', text: Buffer.from('x') }))],
      }),
    ).rejects.toThrow('connection refused');
  });
});

describe('concatenated replies', () => {
  it('reassembles UDH parts that arrive out of order, duplicated and in separate batches into one reply', async () => {
    const owner = await tenant('udh-owner', '61');
    const part = (seq: number, text: string) =>
      input(
        mo({
          from: '8613900000001',
          to: '10690061',
          esmClass: 0x40,
          text: Buffer.concat([udh8(0x2a, 3, seq), Buffer.from(text)]),
        }),
      );
    await storeInboundMessages(t.db.pool, { messages: [part(3, 'three')], now });
    await storeInboundMessages(t.db.pool, { messages: [part(1, 'one '), part(3, 'three')], now });
    // Nothing is shown before the last part: the parts wait in the database (a restart here
    // loses nothing, the next batch finds them).
    expect(await replies()).toEqual([]);
    const waiting = await t.db.pool.query('select seq from inbound_parts where not assembled order by seq');
    expect(waiting.rows.map((r) => r.seq)).toEqual([1, 3]);
    await storeInboundMessages(t.db.pool, { messages: [part(2, 'two ')], now });
    expect(await replies()).toMatchObject([
      { tenant_id: owner, content: 'one two three', parts: 3, incomplete: false },
    ]);
    // The carrier resends a part whose acknowledgement it missed: no second reply.
    await storeInboundMessages(t.db.pool, { messages: [part(2, 'two ')], now });
    await flushExpiredReplyParts(t.db.pool, {
      now: new Date(now.getTime() + 11 * 60_000),
      timeoutMs: 600_000,
    });
    expect(await replies()).toHaveLength(1);
  });

  it('takes parts reusing an assembled reply’s reference with other bytes for a new reply, not a resend', async () => {
    const part = (seq: number, text: string) =>
      input(
        mo({
          from: '8613900000008',
          to: '106900',
          esmClass: 0x40,
          text: Buffer.concat([udh8(0x01, 2, seq), Buffer.from(text)]),
        }),
      );
    await storeInboundMessages(t.db.pool, { messages: [part(1, 'first '), part(2, 'reply')], now });
    await storeInboundMessages(t.db.pool, {
      messages: [part(2, 'reply'), part(1, 'second '), part(2, 'one')],
      now,
    });
    expect((await replies()).map((r) => r.content)).toEqual(['first reply', 'second one']);
  });

  it('reassembles 16-bit UDH references and SAR TLVs, UCS-2 split across parts', async () => {
    const bytes = Buffer.from('退订谢谢', 'utf16le').swap16();
    const udhParts = [1, 2].map((seq) =>
      input(
        mo({
          from: '8613900000002',
          to: '106900',
          esmClass: 0x40,
          dataCoding: 8,
          text: Buffer.concat([udh16(0x1234, 2, seq), seq === 1 ? bytes.subarray(0, 3) : bytes.subarray(3)]),
        }),
      ),
    );
    const sarParts = [2, 1].map((seq) =>
      input(
        mo({
          from: '8613900000003',
          to: '106900',
          text: Buffer.from(seq === 1 ? 'STOP ' : 'please'),
          tlvs: { sarMsgRefNum: 513, sarTotalSegments: 2, sarSegmentSeqnum: seq },
        }),
      ),
    );
    await storeInboundMessages(t.db.pool, { messages: [...udhParts, ...sarParts], now });
    expect(await replies()).toMatchObject([
      { sender: '+8613900000002', content: '退订谢谢', parts: 2, incomplete: false },
      { sender: '+8613900000003', content: 'STOP please', parts: 2, incomplete: false },
    ]);
  });

  it('completes a reply whose parts are stored by two batches at the same time', async () => {
    const part = (seq: number) =>
      input(
        mo({
          from: '8613900000004',
          to: '106900',
          esmClass: 0x40,
          text: Buffer.concat([udh8(7, 2, seq), Buffer.from(`p${seq}`)]),
        }),
      );
    await Promise.all([
      storeInboundMessages(t.db.pool, { messages: [part(1)], now }),
      storeInboundMessages(t.db.pool, { messages: [part(2)], now }),
    ]);
    expect(await replies()).toMatchObject([{ content: 'p1p2', parts: 2, incomplete: false }]);
  });

  it('keeps parts from different handsets or references apart', async () => {
    const part = (from: string, ref: number, seq: number) =>
      input(
        mo({
          from,
          to: '106900',
          esmClass: 0x40,
          text: Buffer.concat([udh8(ref, 2, seq), Buffer.from(`${from}-${ref}`)]),
        }),
      );
    await storeInboundMessages(t.db.pool, {
      messages: [part('8613900000005', 1, 1), part('8613900000006', 1, 2), part('8613900000005', 2, 2)],
      now,
    });
    expect(await replies()).toEqual([]);
  });

  it('after the timeout stores what arrived as one reply flagged incomplete, not before', async () => {
    const owner = await tenant('partial-owner', '62');
    const part = (seq: number) =>
      input(
        mo({
          from: '8613900000007',
          to: '10690062',
          esmClass: 0x40,
          text: Buffer.concat([udh8(9, 3, seq), Buffer.from(`part${seq} `)]),
        }),
      );
    await storeInboundMessages(t.db.pool, { messages: [part(1), part(3)], now });
    const early = await flushExpiredReplyParts(t.db.pool, {
      now: new Date(now.getTime() + 9 * 60_000),
      timeoutMs: 600_000,
    });
    expect(early).toBe(0);
    expect(await replies()).toEqual([]);
    const late = await flushExpiredReplyParts(t.db.pool, {
      now: new Date(now.getTime() + 10 * 60_000 + 1),
      timeoutMs: 600_000,
    });
    expect(late).toBe(1);
    expect(await replies()).toMatchObject([
      { tenant_id: owner, content: 'part1 part3 ', parts: 2, incomplete: true },
    ]);
    const left = await t.db.pool.query('select count(*)::int as n from inbound_parts where not assembled');
    expect(left.rows[0].n).toBe(0);
  });
});
