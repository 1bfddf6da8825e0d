import { describe, expect, it } from 'vitest';
import { CommandId, CommandStatus, statusName } from './constants.ts';
import { PduEncodeError } from './errors.ts';
import type { Pdu, PduCommand } from './pdu.ts';
import { buildPdu, decodePdu, encodePdu } from './pdu.ts';
import { encodeWithSequence } from './pdu-encode.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const cstr = (s: string) => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])]);

function withHeader(commandId: number, status: number, seq: number, body: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(16 + body.length, 0);
  header.writeUInt32BE(commandId, 4);
  header.writeUInt32BE(status, 8);
  header.writeUInt32BE(seq, 12);
  return Buffer.concat([header, body]);
}

function roundTrip(pdu: Pdu): Pdu {
  const result = decodePdu(encodePdu(pdu));
  if (!result.ok) throw new Error(result.error.message);
  return result.pdu;
}

const sm = {
  serviceType: 'CMT',
  sourceAddrTon: 5,
  sourceAddrNpi: 0,
  sourceAddr: 'Hongyan',
  destAddrTon: 1,
  destAddrNpi: 1,
  destinationAddr: '8613800138000',
  esmClass: 0x40,
  protocolId: 0,
  priorityFlag: 1,
  scheduleDeliveryTime: '',
  validityPeriod: '000001000000000R',
  registeredDelivery: 1,
  replaceIfPresentFlag: 0,
  dataCoding: 8,
  smDefaultMsgId: 0,
  shortMessage: Buffer.from('050003a10201', 'hex'),
};

const { destAddrTon: _ton, destAddrNpi: _npi, destinationAddr: _addr, ...smWithoutDest } = sm;

/** One PDU of every command, with non-default values in every field. */
const samples: { [C in PduCommand]: Pdu & { command: C } } = {
  bind_transmitter: buildPdu('bind_transmitter', {
    sequenceNumber: 1,
    systemId: 'SMPP3TEST',
    password: 'secret08',
    systemType: 'SUBMIT1',
    addrTon: 1,
    addrNpi: 1,
    addressRange: '^86',
  }),
  bind_receiver: buildPdu('bind_receiver', { sequenceNumber: 2, systemId: 'rx', password: 'pw' }),
  bind_transceiver: buildPdu('bind_transceiver', { sequenceNumber: 3, systemId: 'trx', password: 'pw' }),
  bind_transmitter_resp: buildPdu('bind_transmitter_resp', {
    sequenceNumber: 1,
    systemId: 'SMSC',
    tlvs: { scInterfaceVersion: 0x34 },
  }),
  bind_receiver_resp: buildPdu('bind_receiver_resp', { sequenceNumber: 2, systemId: 'SMSC' }),
  bind_transceiver_resp: buildPdu('bind_transceiver_resp', {
    sequenceNumber: 3,
    commandStatus: CommandStatus.ESME_RINVPASWD,
    systemId: '',
  }),
  outbind: buildPdu('outbind', { sequenceNumber: 4, systemId: 'SMSC', password: 'pw' }),
  unbind: buildPdu('unbind', { sequenceNumber: 5 }),
  unbind_resp: buildPdu('unbind_resp', { sequenceNumber: 5 }),
  generic_nack: buildPdu('generic_nack', { sequenceNumber: 6, commandStatus: CommandStatus.ESME_RINVCMDID }),
  submit_sm: buildPdu('submit_sm', {
    sequenceNumber: 0x7fffffff,
    ...sm,
    tlvs: {
      sarMsgRefNum: 0xa1,
      sarTotalSegments: 2,
      sarSegmentSeqnum: 1,
      sourcePort: 1234,
      destinationPort: 5678,
      userMessageReference: 42,
      unknown: [{ tag: 0x1401, value: Buffer.from('vendor') }],
    },
  }),
  submit_sm_resp: buildPdu('submit_sm_resp', { sequenceNumber: 7, messageId: '0A1B2C3D' }),
  submit_multi: buildPdu('submit_multi', {
    sequenceNumber: 8,
    ...smWithoutDest,
    destAddresses: [
      { kind: 'sme', destAddrTon: 1, destAddrNpi: 1, destinationAddr: '8613800138000' },
      { kind: 'dl', dlName: 'friends' },
    ],
  }),
  submit_multi_resp: buildPdu('submit_multi_resp', {
    sequenceNumber: 8,
    messageId: 'm1',
    unsuccessSmes: [
      { destAddrTon: 1, destAddrNpi: 1, destinationAddr: '8613900139000', errorStatusCode: 0x0b },
    ],
  }),
  deliver_sm: buildPdu('deliver_sm', {
    sequenceNumber: 9,
    ...sm,
    esmClass: 0x04,
    tlvs: {
      receiptedMessageId: '0A1B2C3D',
      messageState: 2,
      networkErrorCode: { type: 3, code: 0x0105 },
    },
  }),
  deliver_sm_resp: buildPdu('deliver_sm_resp', { sequenceNumber: 9 }),
  data_sm: buildPdu('data_sm', {
    sequenceNumber: 10,
    sourceAddr: 'a'.repeat(64),
    destinationAddr: '8613800138000',
    tlvs: {
      messagePayload: Buffer.alloc(1000, 0x41),
      alertOnMessageDelivery: true,
      qosTimeToLive: 0xffffffff,
    },
  }),
  data_sm_resp: buildPdu('data_sm_resp', {
    sequenceNumber: 10,
    messageId: 'x',
    tlvs: { deliveryFailureReason: 1, additionalStatusInfoText: 'absent subscriber', dpfResult: 0 },
  }),
  query_sm: buildPdu('query_sm', { sequenceNumber: 11, messageId: 'abc', sourceAddr: '1069' }),
  query_sm_resp: buildPdu('query_sm_resp', {
    sequenceNumber: 11,
    messageId: 'abc',
    finalDate: '240101120000000+',
    messageState: 2,
    errorCode: 0,
  }),
  cancel_sm: buildPdu('cancel_sm', {
    sequenceNumber: 12,
    messageId: 'abc',
    destinationAddr: '8613800138000',
  }),
  cancel_sm_resp: buildPdu('cancel_sm_resp', { sequenceNumber: 12 }),
  replace_sm: buildPdu('replace_sm', {
    sequenceNumber: 13,
    messageId: 'abc',
    shortMessage: Buffer.from('hi'),
  }),
  replace_sm_resp: buildPdu('replace_sm_resp', { sequenceNumber: 13 }),
  enquire_link: buildPdu('enquire_link', { sequenceNumber: 14 }),
  enquire_link_resp: buildPdu('enquire_link_resp', { sequenceNumber: 14 }),
  alert_notification: buildPdu('alert_notification', {
    sequenceNumber: 15,
    sourceAddr: '8613800138000',
    esmeAddr: 'esme',
    tlvs: { msAvailabilityStatus: 0 },
  }),
};

describe('encodePdu/decodePdu round trip', () => {
  it('covers every SMPP 3.4 command', () => {
    expect(Object.keys(samples).sort()).toEqual(Object.keys(CommandId).sort());
  });

  for (const [name, pdu] of Object.entries(samples)) {
    it(name, () => {
      const bytes = encodePdu(pdu);
      expect(bytes.readUInt32BE(0)).toBe(bytes.length);
      expect(bytes.readUInt32BE(4)).toBe(CommandId[pdu.command]);
      expect(roundTrip(pdu)).toEqual(pdu);
    });
  }
});

describe('known byte vectors', () => {
  it('bind_transmitter (section 4.1.1 layout)', () => {
    const expected = hex(`
      0000002f 00000002 00000000 00000001
      534d50503354455354 00  7365637265743038 00  5355424d495431 00  34 01 01 00`);
    const pdu = { ...samples.bind_transmitter, addressRange: '' };
    expect(encodePdu(pdu)).toEqual(expected);
    expect(decodePdu(expected)).toEqual({ ok: true, pdu });
  });

  it('enquire_link and generic_nack', () => {
    const enquire = hex('00000010 00000015 00000000 00000001');
    expect(encodePdu(buildPdu('enquire_link', { sequenceNumber: 1 }))).toEqual(enquire);
    const nack = hex('00000010 80000000 00000003 00000005');
    expect(encodePdu(buildPdu('generic_nack', { sequenceNumber: 5, commandStatus: 3 }))).toEqual(nack);
    expect(decodePdu(nack)).toEqual({
      ok: true,
      pdu: { command: 'generic_nack', sequenceNumber: 5, commandStatus: 3, tlvs: {} },
    });
  });

  it('submit_sm', () => {
    const body = Buffer.concat([
      cstr(''),
      hex('01 01'),
      cstr('10690001'),
      hex('01 01'),
      cstr('8613800138000'),
      hex('00 00 00'),
      cstr(''),
      cstr(''),
      hex('01 00 00 00'),
      hex('05'),
      Buffer.from('hello'),
    ]);
    const bytes = withHeader(0x00000004, 0, 2, body);
    const pdu = buildPdu('submit_sm', {
      sequenceNumber: 2,
      sourceAddrTon: 1,
      sourceAddrNpi: 1,
      sourceAddr: '10690001',
      destAddrTon: 1,
      destAddrNpi: 1,
      destinationAddr: '8613800138000',
      registeredDelivery: 1,
      shortMessage: Buffer.from('hello'),
    });
    expect(encodePdu(pdu)).toEqual(bytes);
    expect(decodePdu(bytes)).toEqual({ ok: true, pdu });
  });

  it('deliver_sm carrying a receipt in TLVs', () => {
    const text =
      'id:0A1B2C3D sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000';
    const body = Buffer.concat([
      cstr(''),
      hex('01 01'),
      cstr('8613800138000'),
      hex('00 00'),
      cstr('10690001'),
      hex('04 00 00'),
      cstr(''),
      cstr(''),
      hex('00 00 00 00'),
      Buffer.from([text.length]),
      Buffer.from(text),
      hex('001e 0009'),
      cstr('0A1B2C3D'),
      hex('0427 0001 02'),
      hex('0423 0003 03 0001'),
    ]);
    const bytes = withHeader(0x00000005, 0, 0x10, body);
    const result = decodePdu(bytes);
    expect(result.ok).toBe(true);
    if (!result.ok || result.pdu.command !== 'deliver_sm') return;
    expect(result.pdu.esmClass).toBe(4);
    expect(result.pdu.shortMessage.toString()).toBe(text);
    expect(result.pdu.tlvs).toEqual({
      receiptedMessageId: '0A1B2C3D',
      messageState: 2,
      networkErrorCode: { type: 3, code: 1 },
    });
    expect(encodePdu(result.pdu)).toEqual(bytes);
  });
});

describe('decodePdu leniency and errors', () => {
  it('accepts a submit_sm_resp whose message_id lacks the NUL at the end of the PDU', () => {
    const result = decodePdu(withHeader(0x80000004, 0, 9, Buffer.from('abc123')));
    expect(result).toMatchObject({ ok: true, pdu: { command: 'submit_sm_resp', messageId: 'abc123' } });
  });

  it('accepts responses with an error status and no body', () => {
    for (const id of [0x80000004, 0x80000002, 0x80000021, 0x80000003, 0x80000103]) {
      const result = decodePdu(withHeader(id, CommandStatus.ESME_RTHROTTLED, 9, Buffer.alloc(0)));
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.pdu.commandStatus).toBe(0x58);
    }
    expect(decodePdu(withHeader(0x80000004, 0x58, 1, Buffer.alloc(0)))).toMatchObject({
      ok: true,
      pdu: { messageId: '' },
    });
  });

  it('accepts strings longer than the spec maximum and 2-octet message_state', () => {
    const body = Buffer.concat([cstr('x'.repeat(100)), hex('0427 0002 0005')]);
    const result = decodePdu(withHeader(0x80000004, 0, 1, body));
    expect(result).toMatchObject({
      ok: true,
      pdu: { messageId: 'x'.repeat(100), tlvs: { messageState: 5 } },
    });
  });

  it('reports sm_length past the end with ESME_RINVMSGLEN and the header fields', () => {
    const good = encodePdu(samples.submit_sm);
    const smLengthAt = good.indexOf(Buffer.from('050003a10201', 'hex')) - 1;
    const bad = Buffer.from(good.subarray(0, smLengthAt + 3));
    bad.writeUInt32BE(bad.length, 0);
    expect(decodePdu(bad)).toEqual({
      ok: false,
      error: { code: CommandStatus.ESME_RINVMSGLEN, message: expect.stringContaining('sm_length') },
      commandId: 4,
      sequenceNumber: 0x7fffffff,
    });
  });

  it('reports unknown commands, short headers, length mismatches, truncated requests, bad TLVs', () => {
    const codeOf = (buf: Buffer) => {
      const r = decodePdu(buf);
      return r.ok ? 'ok' : statusName(r.error.code);
    };
    expect(codeOf(withHeader(0x00000099, 0, 1, Buffer.alloc(0)))).toBe('ESME_RINVCMDID');
    expect(codeOf(Buffer.alloc(0))).toBe('ESME_RINVCMDLEN');
    expect(codeOf(hex('00000010 00000015 0000'))).toBe('ESME_RINVCMDLEN');
    expect(codeOf(hex('00000011 00000015 00000000 00000001'))).toBe('ESME_RINVCMDLEN');
    expect(codeOf(withHeader(0x00000004, 0, 1, cstr('CMT')))).toBe('ESME_RINVCMDLEN');
    const tlvPastEnd = Buffer.concat([encodePdu(samples.submit_sm).subarray(16), hex('0424 00ff 41')]);
    expect(codeOf(withHeader(0x00000004, 0, 1, tlvPastEnd))).toBe('ESME_RINVOPTPARSTREAM');
    const truncatedTlv = Buffer.concat([encodePdu(samples.submit_sm).subarray(16), hex('04')]);
    expect(codeOf(withHeader(0x00000004, 0, 1, truncatedTlv))).toBe('ESME_RINVOPTPARSTREAM');
    // Trailing junk after a header-only PDU is ignored: the enquire_link is still answered.
    expect(codeOf(withHeader(0x00000015, 0, 1, hex('ff')))).toBe('ok');
    const badFlag = Buffer.concat([cstr(''), hex('00 00'), cstr(''), hex('01 07')]);
    expect(codeOf(withHeader(0x00000021, 0, 1, badFlag))).toBe('ESME_RINVDESTFLAG');
  });

  it('keeps TLVs with odd lengths raw', () => {
    const body = Buffer.concat([encodePdu(samples.deliver_sm_resp).subarray(16), hex('0423 0002 0300')]);
    const result = decodePdu(withHeader(0x80000005, 0, 1, body));
    expect(result).toMatchObject({ ok: true, pdu: { tlvs: { unknown: [{ tag: 0x0423 }] } } });
  });
});

describe('encodePdu strictness', () => {
  const bad: [string, () => Pdu][] = [
    ['system_id too long', () => ({ ...samples.bind_transmitter, systemId: 'x'.repeat(16) })],
    ['octet out of range', () => ({ ...samples.submit_sm, esmClass: 256 })],
    ['non-integer', () => ({ ...samples.submit_sm, dataCoding: 1.5 })],
    ['non-latin1 character', () => ({ ...samples.submit_sm, sourceAddr: '鸿雁' })],
    ['NUL inside a string', () => ({ ...samples.submit_sm, sourceAddr: 'a\0b' })],
    ['bad time string', () => ({ ...samples.submit_sm, validityPeriod: '2401' })],
    ['short_message over 254', () => ({ ...samples.submit_sm, shortMessage: Buffer.alloc(255) })],
    [
      'payload and short_message',
      () => ({ ...samples.submit_sm, tlvs: { messagePayload: Buffer.from('x') } }),
    ],
    ['unknown TLV key', () => ({ ...samples.submit_sm, tlvs: { nope: 1 } as never })],
    ['TLV out of range', () => ({ ...samples.submit_sm, tlvs: { sarMsgRefNum: 0x10000 } })],
    ['sequence out of range', () => ({ ...samples.enquire_link, sequenceNumber: -1 })],
    ['missing field', () => ({ ...samples.submit_sm, sourceAddr: undefined as never })],
    ['unknown command', () => ({ ...samples.enquire_link, command: 'broadcast_sm' as never })],
  ];
  for (const [what, make] of bad) {
    it(`throws PduEncodeError: ${what}`, () => {
      expect(() => encodePdu(make())).toThrow(PduEncodeError);
    });
  }
});

describe('encodeWithSequence', () => {
  it('encodes a PduInit as encodePdu encodes the full PDU, without touching the object', () => {
    const init = { command: 'submit_sm', ...sm } as const;
    const bytes = encodeWithSequence(init, 0x7fffffff);
    expect(bytes).toEqual(
      encodePdu(buildPdu('submit_sm', { ...sm, sequenceNumber: 0x7fffffff, commandStatus: 0, tlvs: {} })),
    );
    expect(init).not.toHaveProperty('sequenceNumber');
    const withStatus = buildPdu('submit_sm', { ...sm, commandStatus: 5, sequenceNumber: 9 });
    const decoded = decodePdu(encodeWithSequence(withStatus, 3));
    expect(decoded).toMatchObject({ ok: true, pdu: { sequenceNumber: 3, commandStatus: 5 } });
    expect(() => encodeWithSequence(init, -1)).toThrow(PduEncodeError);
  });
});
