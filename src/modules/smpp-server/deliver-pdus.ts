// The deliver_sm of each outbox row: a receipt (Appendix B text and the receipted_message_id /
// message_state TLVs) or a reply (MO) as plain deliver_sm.
import { buildPdu } from '../../smpp/pdu.ts';
import type { DeliverSm } from '../../smpp/pdu-types.ts';
import { buildReceiptDeliverSm } from '../../smpp/receipt.ts';
import { encodeGsm7, isGsm7 } from '../../smpp/gsm7.ts';
import { encodeUcs2 } from '../../smpp/ucs2.ts';
import type { OutboxRow } from './smpp-outbox.sql.ts';
import { receiptErrOf, receiptStateOf } from './submit.models.ts';

const SHORT_MESSAGE_MAX = 254;

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) ? value : fallback;
}

export function deliverSmOf(row: OutboxRow): DeliverSm {
  const p = row.payload;
  if (row.kind === 'receipt') {
    return buildReceiptDeliverSm({
      id: text(p.message_id),
      state: receiptStateOf(text(p.status)),
      submitDate: new Date(text(p.submit_date)),
      doneDate: new Date(text(p.done_date)),
      err: receiptErrOf(typeof p.error_code === 'string' ? p.error_code : null),
      text: text(p.text),
      sourceAddr: text(p.source_addr),
      sourceAddrTon: num(p.source_ton, 1),
      sourceAddrNpi: num(p.source_npi, 1),
      destinationAddr: text(p.dest_addr),
      destAddrTon: num(p.dest_ton, 0),
      destAddrNpi: num(p.dest_npi, 0),
    });
  }
  const content = text(p.content);
  const gsm = isGsm7(content);
  const data = gsm ? encodeGsm7(content) : encodeUcs2(content);
  const from = text(p.from).replace(/^\+/, '');
  return buildPdu('deliver_sm', {
    sourceAddrTon: /^\d{11,}$/.test(from) ? 1 : 0,
    sourceAddrNpi: 1,
    sourceAddr: from,
    destAddrTon: 0,
    destAddrNpi: 0,
    destinationAddr: text(p.to),
    esmClass: 0,
    dataCoding: gsm ? 0 : 8,
    shortMessage: data.length <= SHORT_MESSAGE_MAX ? data : Buffer.alloc(0),
    tlvs: data.length <= SHORT_MESSAGE_MAX ? {} : { messagePayload: data },
  });
}
