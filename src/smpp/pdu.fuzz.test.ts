// Property tests: the decoder is total (never throws, always answers ok or error), and whatever it
// accepts and the encoder can write comes back identical.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommandId } from './constants.ts';
import { PduEncodeError } from './errors.ts';
import type { DecodeResult, Pdu } from './pdu.ts';
import { buildPdu, decodePdu, encodePdu } from './pdu.ts';

const commandIds = Object.values(CommandId);

/** Decodes, checks the result's shape and, when it is re-encodable, that it round-trips. */
function checkTotal(buf: Buffer): DecodeResult {
  const result = decodePdu(buf);
  expect(typeof result.ok).toBe('boolean');
  if (!result.ok) {
    expect(Number.isInteger(result.error.code)).toBe(true);
    expect(result.error.code).toBeGreaterThan(0);
    return result;
  }
  let again: Buffer;
  try {
    again = encodePdu(result.pdu);
  } catch (error) {
    // The decoder is liberal (long strings, missing fields default); the encoder may refuse those.
    expect(error).toBeInstanceOf(PduEncodeError);
    return result;
  }
  expect(decodePdu(again)).toEqual(result);
  return result;
}

const latin1 = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)), maxLength });
const octet = fc.integer({ min: 0, max: 255 });
const timeString = fc.oneof(
  fc.constant(''),
  fc.constant('240101120000000+'),
  fc.constant('000001000000000R'),
);

const submitSm = fc
  .record({
    sequenceNumber: fc.integer({ min: 1, max: 0x7fffffff }),
    serviceType: latin1(5),
    sourceAddrTon: octet,
    sourceAddrNpi: octet,
    sourceAddr: latin1(20),
    destAddrTon: octet,
    destAddrNpi: octet,
    destinationAddr: latin1(20),
    esmClass: octet,
    protocolId: octet,
    priorityFlag: octet,
    scheduleDeliveryTime: timeString,
    validityPeriod: timeString,
    registeredDelivery: octet,
    replaceIfPresentFlag: octet,
    dataCoding: octet,
    smDefaultMsgId: octet,
    shortMessage: fc.uint8Array({ maxLength: 254 }).map((a) => Buffer.from(a)),
    tlvs: fc.record(
      {
        sarMsgRefNum: fc.integer({ min: 0, max: 0xffff }),
        sarTotalSegments: octet,
        sarSegmentSeqnum: octet,
        receiptedMessageId: latin1(64),
        networkErrorCode: fc.record({ type: octet, code: fc.integer({ min: 0, max: 0xffff }) }),
        unknown: fc.array(
          fc.record({
            tag: fc.integer({ min: 0x1400, max: 0x3fff }),
            value: fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
          }),
          { minLength: 1, maxLength: 3 },
        ),
      },
      { requiredKeys: [] },
    ),
    command: fc.constantFrom('submit_sm' as const, 'deliver_sm' as const),
  })
  .map((fields) => buildPdu(fields.command, fields) as Pdu);

const validPdus: Pdu[] = [
  buildPdu('bind_transceiver', { sequenceNumber: 1, systemId: 'sys', password: 'pw', systemType: 'x' }),
  buildPdu('submit_sm_resp', { sequenceNumber: 2, messageId: '12345' }),
  buildPdu('submit_multi', {
    sequenceNumber: 3,
    destAddresses: [
      { kind: 'sme', destAddrTon: 1, destAddrNpi: 1, destinationAddr: '86138' },
      { kind: 'dl', dlName: 'dl' },
    ],
    shortMessage: Buffer.from('hi'),
  }),
  buildPdu('submit_multi_resp', {
    sequenceNumber: 3,
    messageId: 'x',
    unsuccessSmes: [{ destAddrTon: 1, destAddrNpi: 1, destinationAddr: '1', errorStatusCode: 11 }],
  }),
  buildPdu('deliver_sm', {
    sequenceNumber: 4,
    esmClass: 4,
    shortMessage: Buffer.from('id:1 stat:DELIVRD'),
    tlvs: { receiptedMessageId: '1', messageState: 2 },
  }),
  buildPdu('data_sm', { sequenceNumber: 5, tlvs: { messagePayload: Buffer.alloc(300, 1) } }),
  buildPdu('query_sm_resp', { sequenceNumber: 6, messageId: 'q', finalDate: '', messageState: 2 }),
  buildPdu('enquire_link', { sequenceNumber: 7 }),
];

describe('decodePdu is total', () => {
  it('on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        checkTotal(Buffer.from(bytes));
      }),
      { numRuns: 10_000 },
    );
  });

  it('on random bodies behind a plausible header', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...commandIds),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 300 }),
        (commandId, status, body) => {
          const buf = Buffer.alloc(16 + body.length);
          buf.writeUInt32BE(buf.length, 0);
          buf.writeUInt32BE(commandId, 4);
          buf.writeUInt32BE(status, 8);
          buf.writeUInt32BE(1, 12);
          buf.set(body, 16);
          checkTotal(buf);
        },
      ),
      { numRuns: 15_000 },
    );
  });

  it('on mutated valid PDUs: flipped bytes, truncation, extension, corrupt lengths', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: octet }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('extend' as const),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }),
      }),
      fc.record({ kind: fc.constant('length' as const), value: fc.integer({ min: 0, max: 0xffffffff }) }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...validPdus),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (pdu, mutations, fixLength) => {
          let buf = Buffer.from(encodePdu(pdu));
          for (const m of mutations) {
            if (m.kind === 'flip' && buf.length > 0) buf[m.at % buf.length] = m.value;
            if (m.kind === 'truncate') buf = buf.subarray(0, m.at % (buf.length + 1));
            if (m.kind === 'extend') buf = Buffer.concat([buf, m.bytes]);
            if (m.kind === 'length' && buf.length >= 4) buf.writeUInt32BE(m.value, 0);
          }
          // Most mutations are caught by the length check alone; fixing it reaches the body parser.
          if (fixLength && buf.length >= 4) buf.writeUInt32BE(buf.length, 0);
          checkTotal(buf);
        },
      ),
      { numRuns: 15_000 },
    );
  });
});

describe('encode → decode', () => {
  it('round-trips generated submit_sm and deliver_sm', () => {
    fc.assert(
      fc.property(submitSm, (pdu) => {
        const result = decodePdu(encodePdu(pdu));
        expect(result).toEqual({ ok: true, pdu });
      }),
      { numRuns: 2000 },
    );
  });
});
