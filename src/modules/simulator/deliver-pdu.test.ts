import { describe, expect, it } from 'vitest';
import { encodeGsm7 } from '../../smpp/gsm7.ts';
import { formatReceiptText, isReceipt, receiptFromDeliverSm } from '../../smpp/receipt.ts';
import { encodeMessage } from '../../smpp/segments.ts';
import { DELIVERED, decideFate, EXPIRED } from './decisions.models.ts';
import { buildDeliverSm, receiptText, receiptTextOf } from './deliver-pdu.ts';
import type { PendingDelivery } from './deliveries.ts';
import { seeded } from './test-helpers.ts';

function receipt(fields: Partial<PendingDelivery> = {}): PendingDelivery {
  return {
    kind: 'receipt',
    seq: 0,
    systemId: 'hongyan',
    messageId: '1763779200000123',
    handset: '8613800138000',
    handsetTon: 1,
    handsetNpi: 1,
    sender: '10690001',
    senderTon: 0,
    senderNpi: 0,
    submittedAt: Date.UTC(2025, 11, 31, 23, 59, 59, 900),
    doneAt: Date.UTC(2026, 0, 1, 0, 0, 0, 100),
    fate: DELIVERED,
    text: 'hello world',
    attempts: 0,
    ...fields,
  };
}

describe('receipt text', () => {
  it('is exactly what formatReceiptText builds, for every outcome', () => {
    const random = seeded(5);
    const fates = new Set([DELIVERED, EXPIRED]);
    for (let i = 0; i < 200; i++) fates.add(decideFate({ deliveryRate: 0, expiredRate: 0 }, random));
    expect(fates.size).toBeGreaterThan(4);
    let at = Date.UTC(2026, 1, 28, 23, 58);
    for (const fate of fates) {
      for (const text of ['', 'hello world', '12345678901234567890']) {
        at += 45_000;
        const item = receipt({ fate, text, submittedAt: at, doneAt: at + 61_000 });
        expect(receiptText(item)).toBe(
          formatReceiptText({
            id: item.messageId,
            state: fate.state,
            submitDate: new Date(item.submittedAt),
            doneDate: new Date(item.doneAt),
            err: fate.err,
            text,
          }),
        );
      }
    }
  });

  it('reads back through the receipt parser, text and TLVs agreeing', () => {
    const failed = decideFate({ deliveryRate: 0, expiredRate: 0 }, seeded(1));
    for (const fate of [DELIVERED, EXPIRED, failed]) {
      const pdu = { ...buildDeliverSm(receipt({ fate })), sequenceNumber: 1, commandStatus: 0, tlvs: {} };
      const withTlvs = { ...pdu, tlvs: buildDeliverSm(receipt({ fate })).tlvs ?? {} };
      for (const candidate of [pdu, withTlvs]) {
        expect(isReceipt(candidate)).toBe(true);
        const parsed = receiptFromDeliverSm(candidate)!;
        expect(parsed).toMatchObject({
          messageId: '1763779200000123',
          state: fate.state,
          stat: fate.stat,
          final: true,
        });
        expect(parsed.doneDate).toEqual(new Date(Date.UTC(2026, 0, 1, 0, 0)));
        expect(parsed.submitDate).toEqual(new Date(Date.UTC(2025, 11, 31, 23, 59)));
      }
      expect(withTlvs.tlvs.networkErrorCode).toEqual(
        fate.err === 0 ? undefined : { type: 3, code: fate.err },
      );
    }
  });

  it('quotes the first 20 characters of the message, as printable ASCII', () => {
    const gsm = encodeGsm7('Your code is 123456, valid 5 minutes');
    expect(receiptTextOf(gsm, 0, 0)).toBe('Your code is 123456,');
    expect(receiptTextOf(encodeGsm7('Price: 5$ @home [ok]'), 0, 0)).toBe('Price: 5$ @home [ok]');
    expect(receiptTextOf(Buffer.from('short'), 0, 0)).toBe('short');
    const ucs2 = encodeMessage('【鸿雁】验证码 123456', 1);
    expect(receiptTextOf(ucs2.parts[0]!, ucs2.dataCoding, ucs2.esmClass)).toBe('??????? 123456');
    const long = encodeMessage('x'.repeat(200), 9);
    expect(receiptTextOf(long.parts[1]!, long.dataCoding, long.esmClass)).toBe('x'.repeat(20));
  });
});

describe('reply', () => {
  it('is an MO deliver_sm from the handset to the sender', () => {
    const pdu = buildDeliverSm(receipt({ kind: 'reply', messageId: '', text: '退订' }));
    expect(pdu).toMatchObject({
      esmClass: 0,
      dataCoding: 8,
      sourceAddr: '8613800138000',
      destinationAddr: '10690001',
    });
    expect(pdu.shortMessage.swap16().toString('utf16le')).toBe('退订');
    expect(pdu.tlvs).toEqual({});
  });
});
