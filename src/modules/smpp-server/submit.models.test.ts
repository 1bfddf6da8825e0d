import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CommandStatus, statusName } from '../../smpp/constants.ts';
import { buildPdu } from '../../smpp/pdu.ts';
import { encodeGsm7 } from '../../smpp/gsm7.ts';
import { encodeUcs2 } from '../../smpp/ucs2.ts';
import {
  commandStatusOfError,
  documentedStatusCodes,
  partOf,
  receiptErrOf,
  receiptStateOf,
  recipientOf,
  textOfParts,
} from './submit.models.ts';

describe('submit models', () => {
  it('reads the recipient: TON 1 digits get their "+", other forms go as written', () => {
    expect(recipientOf('8613800138000', 1)).toBe('+8613800138000');
    expect(recipientOf('13800138000', 0)).toBe('13800138000');
    expect(recipientOf('+8613800138000', 1)).toBe('+8613800138000');
  });

  it('decodes data_coding 0 (GSM), 3 (Latin-1) and 8 (UCS-2)', () => {
    const pdu = (dataCoding: number, shortMessage: Buffer) =>
      partOf(buildPdu('submit_sm', { destinationAddr: '1', dataCoding, shortMessage }));
    expect(textOfParts([pdu(0, encodeGsm7('Hello {€}'))])).toBe('Hello {€}');
    expect(textOfParts([pdu(3, Buffer.from('Café', 'latin1'))])).toBe('Café');
    expect(textOfParts([pdu(8, encodeUcs2('【鸿雁】你好'))])).toBe('【鸿雁】你好');
  });

  it('finds the concatenation reference in an 8-bit or 16-bit UDH, or in SAR TLVs', () => {
    const eight = partOf(
      buildPdu('submit_sm', {
        destinationAddr: '1',
        esmClass: 0x40,
        dataCoding: 8,
        shortMessage: Buffer.concat([Buffer.from([5, 0, 3, 9, 2, 1]), encodeUcs2('你')]),
      }),
    );
    expect(eight.concat).toEqual({ reference: 9, total: 2, seq: 1 });
    expect(textOfParts([eight])).toBe('你');
    const sixteen = partOf(
      buildPdu('submit_sm', {
        destinationAddr: '1',
        esmClass: 0x40,
        shortMessage: Buffer.concat([Buffer.from([6, 8, 4, 0x12, 0x34, 3, 3]), encodeGsm7('end')]),
      }),
    );
    expect(sixteen.concat).toEqual({ reference: 0x1234, total: 3, seq: 3 });
    const sar = partOf(
      buildPdu('submit_sm', {
        destinationAddr: '1',
        shortMessage: encodeGsm7('x'),
        tlvs: { sarMsgRefNum: 300, sarTotalSegments: 2, sarSegmentSeqnum: 2 },
      }),
    );
    expect(sar.concat).toEqual({ reference: 300, total: 2, seq: 2 });
    // A single "part" of one is no concatenation; message_payload is read when short_message is empty.
    const payload = partOf(
      buildPdu('data_sm', {
        destinationAddr: '1',
        dataCoding: 8,
        tlvs: { messagePayload: encodeUcs2('长') },
      }),
    );
    expect(payload.concat).toBeUndefined();
    expect(textOfParts([payload])).toBe('长');
  });

  it('joins parts as bytes, so a UCS-2 surrogate pair split across parts stays whole', () => {
    const bytes = encodeUcs2('a😀b');
    const first = { body: bytes.subarray(0, 4), dataCoding: 8 };
    const second = { body: bytes.subarray(4), dataCoding: 8 };
    expect(textOfParts([first, second])).toBe('a😀b');
  });

  it('maps our error codes to command_status', () => {
    expect(commandStatusOfError('messages.invalid_recipient')).toBe(CommandStatus.ESME_RINVDSTADR);
    expect(commandStatusOfError('messages.content_too_long')).toBe(CommandStatus.ESME_RINVMSGLEN);
    expect(commandStatusOfError('limit.recipient_frequency')).toBe(CommandStatus.ESME_RTHROTTLED);
    expect(commandStatusOfError('billing.insufficient_quota')).toBe(CommandStatus.ESME_RMSGQFUL);
    expect(commandStatusOfError('compliance.banned_word')).toBe(CommandStatus.ESME_RSUBMITFAIL);
    expect(commandStatusOfError('compliance.signature_required')).toBe(CommandStatus.ESME_RSUBMITFAIL);
    expect(commandStatusOfError(undefined)).toBe(CommandStatus.ESME_RSYSERR);
    expect(commandStatusOfError('internal.error')).toBe(CommandStatus.ESME_RSYSERR);
  });

  it('writes the receipt state and err of a final status', () => {
    expect(receiptStateOf('delivered')).toBe('delivered');
    expect(receiptStateOf('undelivered')).toBe('undeliverable');
    expect(receiptStateOf('expired')).toBe('expired');
    expect(receiptStateOf('rejected')).toBe('rejected');
    expect(receiptStateOf('canceled')).toBe('deleted');
    expect(receiptErrOf(null)).toBe('000');
    expect(receiptErrOf('smpp.ESME_RINVDSTADR')).toBe('000');
    expect(receiptErrOf('UNDELIV:001')).toBe('001');
    expect(receiptErrOf('gsm.34')).toBe('034');
  });

  it('docs/smpp-server.md lists each mapped error code with its command_status', () => {
    const doc = readFileSync(new URL('../../../docs/smpp-server.md', import.meta.url), 'utf8');
    for (const [code, status] of Object.entries(documentedStatusCodes)) {
      const row = doc.split('\n').find((line) => line.startsWith('|') && line.includes(`\`${code}\``));
      expect(row, code).toBeDefined();
      expect(row).toContain(statusName(status));
    }
  });
});
