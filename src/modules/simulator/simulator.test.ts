// The simulator through real sockets on 127.0.0.1, with our own SMPP client as the peer:
// receipts, ids, multipart, replies, store and forward, retries.

import { afterEach, describe, expect, it } from 'vitest';
import { EsmClass, MessageState } from '../../smpp/constants.ts';
import { receiptFromDeliverSm } from '../../smpp/receipt.ts';
import { decodeShortMessage, encodeMessage } from '../../smpp/segments.ts';
import {
  bindClient,
  fastProfile,
  receiptFields,
  runCleanups,
  startTestSimulator,
  submitInit,
  until,
} from './test-helpers.ts';

afterEach(runCleanups);

describe('default profile', () => {
  it('answers submits and delivers a receipt for each within a second; text and TLVs agree', async () => {
    const sim = await startTestSimulator();
    const client = await bindClient(sim.port, 'hongyan');
    const resps = await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        client.session.request(submitInit({ shortMessage: Buffer.from(`message ${i}`) })),
      ),
    );
    const ids = resps.map((r) => r.messageId);
    expect(resps.every((r) => r.commandStatus === 0)).toBe(true);
    expect(new Set(ids).size).toBe(5);
    await until(() => client.delivered.length === 5);
    for (const pdu of client.delivered) {
      const f = receiptFields(pdu);
      expect(pdu.esmClass).toBe(EsmClass.TYPE_SMSC_DELIVERY_RECEIPT);
      expect(ids).toContain(f.id);
      expect(pdu.tlvs.receiptedMessageId).toBe(f.id);
      expect(pdu.tlvs.messageState).toBe(MessageState.DELIVERED);
      expect(pdu.tlvs.networkErrorCode).toBeUndefined();
      expect(f).toMatchObject({ sub: '001', dlvrd: '001', stat: 'DELIVRD', err: '000', text: 'message' });
      expect(receiptFromDeliverSm(pdu)).toMatchObject({ messageId: f.id, state: 'delivered', final: true });
      expect(f['submit date']).toMatch(/^\d{10}$/);
      expect(f['done date']).toMatch(/^\d{10}$/);
      // A receipt comes from the handset and goes back to the sender.
      expect(pdu.sourceAddr).toBe('8613800138000');
      expect(pdu.destinationAddr).toBe('10690001');
    }
    await until(() => sim.stats().receiptsSent === 5);
    expect(sim.stats()).toMatchObject({
      submits: 5,
      accepted: 5,
      receiptsSent: 5,
      pendingReceipts: 0,
      binds: 1,
      sessions: 1,
    });
  });

  it('sends no receipt when registered_delivery does not ask for one', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('fast')] });
    const client = await bindClient(sim.port, 'fast');
    await client.session.request(submitInit({ registeredDelivery: 0 }));
    await client.session.request(submitInit({ registeredDelivery: 1 }));
    await until(() => sim.stats().receiptsSent === 1);
    expect(client.delivered.length).toBe(1);
    expect(sim.stats().pendingReceipts).toBe(0);
  });

  it('reports failures with UNDELIV, the err code and network_error_code', async () => {
    const sim = await startTestSimulator({
      profiles: [fastProfile('fails', { deliveryRate: 0, expiredRate: 0 })],
    });
    const client = await bindClient(sim.port, 'fails');
    const resp = await client.session.request(submitInit());
    await until(() => client.delivered.length === 1);
    const pdu = client.delivered[0]!;
    const f = receiptFields(pdu);
    expect(f).toMatchObject({ id: resp.messageId, stat: 'UNDELIV', dlvrd: '000' });
    expect(pdu.tlvs.messageState).toBe(MessageState.UNDELIVERABLE);
    expect(pdu.tlvs.networkErrorCode).toEqual({ type: 3, code: Number(f.err) });
    expect(Number(f.err)).toBeGreaterThan(0);
  });
});

describe('message parts and ids', () => {
  it('gives each part of a multipart message its own id and its own receipt', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('fast')] });
    const client = await bindClient(sim.port, 'fast');
    const encoded = encodeMessage('【鸿雁】'.padEnd(150, '长'), 7);
    expect(encoded.parts.length).toBe(3);
    const resps = await Promise.all(
      encoded.parts.map((part) =>
        client.session.request(
          submitInit({ esmClass: encoded.esmClass, dataCoding: encoded.dataCoding, shortMessage: part }),
        ),
      ),
    );
    const ids = resps.map((r) => r.messageId);
    expect(new Set(ids).size).toBe(3);
    await until(() => client.delivered.length === 3);
    expect(client.delivered.map((p) => p.tlvs.receiptedMessageId).sort()).toEqual([...ids].sort());
    // Chinese text cannot ride in a GSM receipt text; it is shown as '?', after the UDH is skipped.
    expect(receiptFields(client.delivered[0]!).text).toBe('????????????????????');
  });

  it('hex-resp-decimal-receipt: the response has the id in hex, the receipt the same number in decimal', async () => {
    const sim = await startTestSimulator({
      profiles: [fastProfile('quirky', { idFormat: 'hex-resp-decimal-receipt' })],
    });
    const client = await bindClient(sim.port, 'quirky');
    const resp = await client.session.request(submitInit());
    expect(resp.messageId).toMatch(/^[0-9a-f]+$/);
    expect(resp.messageId).toMatch(/[a-f]/);
    await until(() => client.delivered.length === 1);
    const decimal = BigInt(`0x${resp.messageId}`).toString();
    const pdu = client.delivered[0]!;
    expect(receiptFields(pdu).id).toBe(decimal);
    expect(pdu.tlvs.receiptedMessageId).toBe(decimal);
  });

  it('hex: the same hex id in the response and the receipt', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('hexy', { idFormat: 'hex' })] });
    const client = await bindClient(sim.port, 'hexy');
    const resp = await client.session.request(submitInit());
    await until(() => client.delivered.length === 1);
    expect(receiptFields(client.delivered[0]!).id).toBe(resp.messageId);
  });

  it('answers query_sm with the message state', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('fast')] });
    const client = await bindClient(sim.port, 'fast');
    const resp = await client.session.request(submitInit());
    await until(() => client.delivered.length === 1);
    const query = (messageId: string) =>
      client.session.request({
        command: 'query_sm',
        messageId,
        sourceAddrTon: 0,
        sourceAddrNpi: 0,
        sourceAddr: '10690001',
      });
    const known = await query(resp.messageId);
    expect(known).toMatchObject({ commandStatus: 0, messageState: MessageState.DELIVERED, errorCode: 0 });
    expect(known.finalDate).toMatch(/^\d{12}\d00\+$/);
    const unknown = await query('nope');
    expect(unknown.commandStatus).toBe(0x0c);
  });

  it('accepts data_sm with message_payload and sends its receipt', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('fast')] });
    const client = await bindClient(sim.port, 'fast');
    const resp = await client.session.request({
      command: 'data_sm',
      serviceType: '',
      sourceAddrTon: 0,
      sourceAddrNpi: 0,
      sourceAddr: '10690001',
      destAddrTon: 1,
      destAddrNpi: 1,
      destinationAddr: '8613800138000',
      esmClass: 0,
      registeredDelivery: 1,
      dataCoding: 0,
      tlvs: { messagePayload: Buffer.from('payload text') },
    });
    expect(resp.commandStatus).toBe(0);
    await until(() => client.delivered.length === 1);
    expect(receiptFields(client.delivered[0]!)).toMatchObject({ id: resp.messageId, text: 'payload' });
  });
});

describe('replies (MO)', () => {
  it('the recipient answers to the sender, in GSM or UCS-2', async () => {
    const sim = await startTestSimulator({
      profiles: [
        fastProfile('chatty', { replyRate: 1, replies: ['退订'] }),
        fastProfile('stop', { replyRate: 1, replies: ['STOP'] }),
      ],
    });
    const client = await bindClient(sim.port, 'chatty');
    await client.session.request(submitInit({ sourceAddr: '1069000042', destinationAddr: '8613900139000' }));
    await until(() => client.delivered.length === 2);
    const reply = client.delivered.find((p) => p.esmClass === 0)!;
    expect(reply.sourceAddr).toBe('8613900139000');
    expect(reply.destinationAddr).toBe('1069000042');
    expect(reply.dataCoding).toBe(8);
    expect(decodeShortMessage(reply.shortMessage, reply.dataCoding, false).text).toBe('退订');

    const other = await bindClient(sim.port, 'stop');
    await other.session.request(submitInit());
    await until(() => sim.stats().repliesSent === 2);
    const stop = other.delivered.find((p) => p.esmClass === 0)!;
    expect([stop.dataCoding, decodeShortMessage(stop.shortMessage, stop.dataCoding, false).text]).toEqual([
      0,
      'STOP',
    ]);
    expect(sim.stats().repliesSent).toBe(2);
  });
});

describe('store and forward', () => {
  it('keeps receipts while no receiver is bound and delivers them when one binds again', async () => {
    const latency = { min: 20, median: 20, max: 20 };
    const sim = await startTestSimulator({ profiles: [fastProfile('sf', { receiptLatencyMs: latency })] });
    const first = await bindClient(sim.port, 'sf');
    const resps = await Promise.all([1, 2, 3, 4].map(() => first.session.request(submitInit())));
    first.session.close('test disconnects');
    await until(() => sim.stats().sessions === 0);
    expect(first.delivered).toEqual([]);
    // Past the due time: the receipts are stored, not lost.
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(sim.stats().pendingReceipts).toBe(4);
    const again = await bindClient(sim.port, 'sf', { mode: 'receiver' });
    await until(() => sim.stats().receiptsSent === 4);
    expect(again.delivered.map((p) => p.tlvs.receiptedMessageId).sort()).toEqual(
      resps.map((r) => r.messageId).sort(),
    );
    expect(sim.stats().pendingReceipts).toBe(0);
  });

  it('sends receipts to a receiver of the same system_id, not to the transmitter or other clients', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('fast')] });
    const tx = await bindClient(sim.port, 'fast', { mode: 'transmitter' });
    const rx = await bindClient(sim.port, 'fast', { mode: 'receiver' });
    const stranger = await bindClient(sim.port, 'someone-else');
    await tx.session.request(submitInit());
    await until(() => rx.delivered.length === 1);
    expect(tx.delivered.length + stranger.delivered.length).toBe(0);
  });

  it('retries a deliver_sm answered with an error', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('fast')] });
    let refusals = 0;
    const client = await bindClient(sim.port, 'fast', { answer: () => (refusals++ < 2 ? 0x08 : 0) });
    const resp = await client.session.request(submitInit());
    await until(() => sim.stats().receiptsSent === 1);
    expect(client.delivered.length).toBe(3);
    expect(client.delivered.every((p) => p.tlvs.receiptedMessageId === resp.messageId)).toBe(true);
    expect(sim.stats()).toMatchObject({ receiptsSent: 1, deliverRetries: 2, pendingReceipts: 0 });
  });

  it('retries a deliver_sm that got no response', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('fast')], requestTimeoutMs: 50 });
    let calls = 0;
    // The first deliver_sm is never answered; the simulator must send it again.
    const client = await bindClient(sim.port, 'fast', {
      answer: () => (calls++ === 0 ? new Promise<number>(() => {}) : 0),
    });
    const resp = await client.session.request(submitInit());
    await until(() => sim.stats().receiptsSent === 1);
    expect(client.delivered.map((p) => p.tlvs.receiptedMessageId)).toEqual([resp.messageId, resp.messageId]);
    expect(sim.stats()).toMatchObject({ deliverRetries: 1, pendingReceipts: 0 });
  });
});
