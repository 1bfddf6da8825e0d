import { describe, expect, it } from 'vitest';
import { buildPdu, decodePdu, encodePdu } from './pdu.ts';
import {
  buildReceiptDeliverSm,
  formatReceiptText,
  isReceipt,
  parseReceiptDate,
  parseReceiptText,
  receiptFromDeliverSm,
  receiptStateOfStat,
} from './receipt.ts';

describe('parseReceiptText', () => {
  it('parses the Appendix B format', () => {
    const text =
      'id:0123456789 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:Hello world';
    expect(parseReceiptText(text)).toEqual({
      id: '0123456789',
      sub: '001',
      dlvrd: '001',
      submitDate: '2401011200',
      doneDate: '2401011201',
      stat: 'DELIVRD',
      err: '000',
      text: 'Hello world',
    });
  });

  it('takes upper-case keys, underscores and dates with seconds', () => {
    const text =
      'ID:A1B2C3 SUB:001 DLVRD:000 SUBMIT_DATE:240101120000 DONE_DATE:240101120130 STAT:UNDELIV ERR:001 TEXT:';
    expect(parseReceiptText(text)).toMatchObject({
      id: 'A1B2C3',
      submitDate: '240101120000',
      doneDate: '240101120130',
      stat: 'UNDELIV',
      err: '001',
      text: '',
    });
  });

  it('tolerates extra spaces, missing fields, and keys without a separator', () => {
    expect(
      parseReceiptText(
        '  id: 123  sub:1   dlvrd:1 submitdate:2401011200  done date:2401011201 stat:DELIVRD  err:0 Text:foo ',
      ),
    ).toEqual({
      id: '123',
      sub: '1',
      dlvrd: '1',
      submitDate: '2401011200',
      doneDate: '2401011201',
      stat: 'DELIVRD',
      err: '0',
      text: 'foo ',
    });
    expect(parseReceiptText('id:123 stat:EXPIRED')).toEqual({ id: '123', stat: 'EXPIRED' });
    expect(
      parseReceiptText(
        'id:4c7a1d2e sub:001 dlvrd:001 submit date:1512311200 done date:1512311201 stat:DELIVRD err:000',
      ),
    ).toMatchObject({
      id: '4c7a1d2e',
      stat: 'DELIVRD',
    });
  });

  it('takes everything after text: as text, even key-like words', () => {
    expect(parseReceiptText('id:1 stat:DELIVRD err:000 text:your id:999 stat:FAKE')).toMatchObject({
      id: '1',
      stat: 'DELIVRD',
      text: 'your id:999 stat:FAKE',
    });
  });

  it('returns null for text that is not a receipt', () => {
    expect(parseReceiptText('Hello, how are you?')).toBeNull();
    expect(parseReceiptText('TD')).toBeNull();
    expect(parseReceiptText('I paid:100 yuan')).toBeNull();
    expect(parseReceiptText('')).toBeNull();
  });
});

describe('states and dates', () => {
  it('normalizes stat values', () => {
    const cases: [string, string][] = [
      ['DELIVRD', 'delivered'],
      ['delivered', 'delivered'],
      ['EXPIRED', 'expired'],
      ['DELETED', 'deleted'],
      ['UNDELIV', 'undeliverable'],
      ['ACCEPTD', 'accepted'],
      ['UNKNOWN', 'unknown'],
      ['REJECTD', 'rejected'],
      ['ENROUTE', 'enroute'],
      ['MK:0005', 'undeliverable'],
      ['MB:1042', 'undeliverable'],
      ['WHATEVER', 'unknown'],
    ];
    for (const [stat, state] of cases) expect(receiptStateOfStat(stat), stat).toBe(state);
  });

  it('parses 10, 12 and 14 digit dates in a given UTC offset', () => {
    expect(parseReceiptDate('2401311259')?.toISOString()).toBe('2024-01-31T12:59:00.000Z');
    expect(parseReceiptDate('240131125930')?.toISOString()).toBe('2024-01-31T12:59:30.000Z');
    expect(parseReceiptDate('20240131125930')?.toISOString()).toBe('2024-01-31T12:59:30.000Z');
    expect(parseReceiptDate('2401311259', 480)?.toISOString()).toBe('2024-01-31T04:59:00.000Z');
    expect(parseReceiptDate('2413011200')).toBeUndefined();
    expect(parseReceiptDate('24010112')).toBeUndefined();
    expect(parseReceiptDate('')).toBeUndefined();
  });

  it('formats receipt text that parses back', () => {
    const text = formatReceiptText({
      id: 'abc',
      state: 'delivered',
      submitDate: new Date('2024-01-31T12:59:00Z'),
      doneDate: new Date('2024-01-31T13:00:00Z'),
      text: 'Your verification code is 123456',
    });
    expect(text).toBe(
      'id:abc sub:001 dlvrd:001 submit date:2401311259 done date:2401311300 stat:DELIVRD err:000 text:Your verification co',
    );
    expect(parseReceiptText(text)).toMatchObject({
      id: 'abc',
      stat: 'DELIVRD',
      text: 'Your verification co',
    });
  });
});

describe('receipts in deliver_sm', () => {
  const deliver = (fields: Parameters<typeof buildPdu<'deliver_sm'>>[1]) => buildPdu('deliver_sm', fields);

  it('prefers TLVs and falls back to the text', () => {
    const pdu = deliver({
      esmClass: 0x04,
      shortMessage: Buffer.from(
        'id:xyz sub:001 dlvrd:000 submit date:2401011200 done date:2401011201 stat:UNDELIV err:011',
      ),
      tlvs: { receiptedMessageId: 'ABC', messageState: 2, networkErrorCode: { type: 3, code: 11 } },
    });
    expect(receiptFromDeliverSm(pdu)).toEqual({
      messageId: 'ABC',
      state: 'delivered',
      final: true,
      messageState: 2,
      stat: 'UNDELIV',
      err: '011',
      networkErrorCode: { type: 3, code: 11 },
      submitted: 1,
      delivered: 0,
      submitDate: new Date('2024-01-01T12:00:00Z'),
      doneDate: new Date('2024-01-01T12:01:00Z'),
      submitDateText: '2401011200',
      doneDateText: '2401011201',
    });
    expect(receiptFromDeliverSm(pdu, { utcOffsetMinutes: 480 })?.doneDate).toEqual(
      new Date('2024-01-01T04:01:00Z'),
    );
    const textOnly = deliver({ esmClass: 0x04, shortMessage: Buffer.from('id:77 stat:EXPIRED err:000') });
    expect(receiptFromDeliverSm(textOnly)).toMatchObject({ messageId: '77', state: 'expired', final: true });
    const intermediate = deliver({ esmClass: 0x20, tlvs: { receiptedMessageId: '5', messageState: 1 } });
    expect(receiptFromDeliverSm(intermediate)).toMatchObject({
      messageId: '5',
      state: 'enroute',
      final: false,
    });
  });

  it('reads UCS-2 and message_payload receipts, and returns null without an id', () => {
    const ucs2 = Buffer.from('id:9 stat:DELIVRD', 'utf16le').swap16();
    expect(receiptFromDeliverSm(deliver({ esmClass: 4, dataCoding: 8, shortMessage: ucs2 }))).toMatchObject({
      messageId: '9',
      state: 'delivered',
    });
    const payload = deliver({ esmClass: 4, tlvs: { messagePayload: Buffer.from('id:10 stat:REJECTD') } });
    expect(receiptFromDeliverSm(payload)).toMatchObject({ messageId: '10', state: 'rejected' });
    expect(
      receiptFromDeliverSm(deliver({ esmClass: 4, shortMessage: Buffer.from('stat:DELIVRD') })),
    ).toBeNull();
  });

  it('detects receipts by esm_class, and by TLV or text shape when the bit is missing', () => {
    expect(isReceipt(deliver({ esmClass: 0x04 }))).toBe(true);
    expect(isReceipt(deliver({ esmClass: 0x20 }))).toBe(true);
    expect(isReceipt(deliver({ esmClass: 0x08, shortMessage: Buffer.from('id:1 stat:DELIVRD') }))).toBe(
      false,
    );
    expect(isReceipt(deliver({ tlvs: { receiptedMessageId: '1' } }))).toBe(true);
    expect(isReceipt(deliver({ shortMessage: Buffer.from('id:1 sub:001 stat:DELIVRD') }))).toBe(true);
    expect(isReceipt(deliver({ shortMessage: Buffer.from('TD') }))).toBe(false);
    expect(isReceipt(deliver({ shortMessage: Buffer.from('退订', 'utf16le').swap16(), dataCoding: 8 }))).toBe(
      false,
    );
    const udh = Buffer.concat([Buffer.from('050003010201', 'hex'), Buffer.from('id:1 stat:DELIVRD')]);
    expect(isReceipt(deliver({ esmClass: 0x40, shortMessage: udh }))).toBe(true);
  });

  it('builds receipts the parser reads back through the codec', () => {
    const pdu = buildReceiptDeliverSm({
      id: '0A1B2C',
      state: 'undeliverable',
      err: 11,
      submitDate: new Date('2024-01-01T00:00:00Z'),
      doneDate: new Date('2024-01-01T00:01:00Z'),
      text: '【鸿雁】验证码 123456',
      sourceAddr: '8613800138000',
      destinationAddr: '10690001',
      networkErrorCode: { type: 3, code: 11 },
    });
    const decoded = decodePdu(encodePdu({ ...pdu, sequenceNumber: 1 }));
    if (!decoded.ok || decoded.pdu.command !== 'deliver_sm') throw new Error('decode failed');
    expect(isReceipt(decoded.pdu)).toBe(true);
    expect(receiptFromDeliverSm(decoded.pdu)).toMatchObject({
      messageId: '0A1B2C',
      state: 'undeliverable',
      messageState: 5,
      stat: 'UNDELIV',
      err: '011',
      networkErrorCode: { type: 3, code: 11 },
    });
  });
});
