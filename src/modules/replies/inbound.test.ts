import { describe, expect, it } from 'vitest';
import { buildPdu } from '../../smpp/pdu.ts';
import { inboundFromPdu } from './inbound.ts';

const receivedAt = new Date('2026-11-22T10:00:00Z');

describe('inboundFromPdu', () => {
  it('cuts the UDH from the user data and reads its concatenation', () => {
    const pdu = buildPdu('deliver_sm', {
      sourceAddr: '8613700000001',
      destinationAddr: '1069001001',
      esmClass: 0x40,
      shortMessage: Buffer.from([6, 8, 4, 0x12, 0x34, 2, 1, 0x41, 0x42]),
    });
    expect(inboundFromPdu({ channelId: 3, pdu, receivedAt })).toEqual({
      channelId: 3,
      sender: '+8613700000001',
      destination: '1069001001',
      dataCoding: 0,
      body: Buffer.from('AB'),
      concat: { ref: 0x1234, total: 2, seq: 1 },
      receivedAt,
    });
  });

  it('takes the whole payload as user data when the UDH flag is wrong (header longer than the payload)', () => {
    const pdu = buildPdu('deliver_sm', {
      sourceAddr: '8613700000001',
      destinationAddr: '106900',
      esmClass: 0x40,
      shortMessage: Buffer.from([9, 0x41]),
    });
    const input = inboundFromPdu({ channelId: 3, pdu, receivedAt });
    expect(input.body).toEqual(Buffer.from([9, 0x41]));
    expect(input.concat).toBeUndefined();
  });

  it('reads data_sm text from message_payload with SAR TLVs, and its data coding', () => {
    const pdu = buildPdu('data_sm', {
      sourceAddr: '8613700000001',
      destinationAddr: '106900',
      dataCoding: 8,
      tlvs: {
        messagePayload: Buffer.from([0x90, 0x00]),
        sarMsgRefNum: 9,
        sarTotalSegments: 3,
        sarSegmentSeqnum: 2,
      },
    });
    expect(inboundFromPdu({ channelId: 3, pdu, receivedAt })).toMatchObject({
      dataCoding: 8,
      body: Buffer.from([0x90, 0x00]),
      concat: { ref: 9, total: 3, seq: 2 },
    });
  });
});
