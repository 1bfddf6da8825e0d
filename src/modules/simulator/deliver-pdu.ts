// The deliver_sm for a pending receipt or reply, built when it is sent (not when it is scheduled),
// so that a million stored items hold a few strings each instead of a PDU with its buffers.

import { EsmClass, MessageState } from '../../smpp/constants.ts';
import type { DeliverSm, PduInit } from '../../smpp/pdu-types.ts';
import { decodeShortMessage, encodeMessage } from '../../smpp/segments.ts';
import type { PendingDelivery } from './deliveries.ts';

type DeliverSmInit = PduInit<DeliverSm> & { command: 'deliver_sm' };

/** GSM network_error_code type (SMPP 3.4 5.3.2.31). */
const NETWORK_TYPE_GSM = 3;
/** Characters of the original message quoted in a receipt's text: field (SMPP 3.4 appendix B). */
const RECEIPT_TEXT_CHARS = 20;

/**
 * The first characters of a submitted message, for the receipt's text: field. Only the first
 * octets are decoded: 40 hold 20 UCS-2 characters or at least 20 unpacked GSM septets.
 */
export function receiptTextOf(payload: Buffer, dataCoding: number, esmClass: number): string {
  const hasUdh = (esmClass & EsmClass.UDHI) !== 0;
  const udh = hasUdh && payload.length > 0 ? 1 + payload[0]! : 0;
  const head = payload.length > udh + 40 ? payload.subarray(0, udh + 40) : payload;
  const text = decodeShortMessage(head, dataCoding, hasUdh).text.slice(0, RECEIPT_TEXT_CHARS);
  // The receipt travels as GSM default-alphabet text: anything outside printable ASCII would be
  // garbled on the way, so it is shown as '?' like many SMSCs do.
  return /^[\x20-\x7e]*$/.test(text) ? text : text.replace(/[^\x20-\x7e]/g, '?');
}

const replyCache = new Map<string, { dataCoding: number; bytes: Buffer }>();

function encodedReply(text: string): { dataCoding: number; bytes: Buffer } {
  let cached = replyCache.get(text);
  if (cached === undefined) {
    // Reply texts come from profiles, validated to fit one part; a longer one is cut to its first.
    const encoded = encodeMessage(text, 0);
    cached = { dataCoding: encoded.dataCoding, bytes: encoded.parts[0] ?? Buffer.alloc(0) };
    if (replyCache.size < 10_000) replyCache.set(text, cached);
  }
  return cached;
}

const pad = (v: number, width: number) => String(v).padStart(width, '0');

/** YYMMDDhhmm, the date format of receipt texts (SMPP 3.4 appendix B), in UTC. */
function receiptDate(ms: number): string {
  const d = new Date(ms);
  return (
    pad(d.getUTCFullYear() % 100, 2) +
    pad(d.getUTCMonth() + 1, 2) +
    pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) +
    pad(d.getUTCMinutes(), 2)
  );
}

function formatReceiptText(r: {
  id: string;
  sub: number;
  dlvrd: number;
  submitDate: Date;
  doneDate: Date;
  stat: string;
  err: number;
  text: string;
}): string {
  return (
    `id:${r.id} sub:${pad(r.sub, 3)} dlvrd:${pad(r.dlvrd, 3)} submit date:${receiptDate(r.submitDate.getTime())}` +
    ` done date:${receiptDate(r.doneDate.getTime())} stat:${r.stat} err:${pad(r.err, 3)} text:${r.text}`
  );
}

export function buildDeliverSm(item: PendingDelivery): DeliverSmInit {
  const base = {
    command: 'deliver_sm' as const,
    serviceType: '',
    // Both a receipt and a reply come from the handset and go to the number that sent to it.
    sourceAddrTon: item.handsetTon,
    sourceAddrNpi: item.handsetNpi,
    sourceAddr: item.handset,
    destAddrTon: item.senderTon,
    destAddrNpi: item.senderNpi,
    destinationAddr: item.sender,
    protocolId: 0,
    priorityFlag: 0,
    scheduleDeliveryTime: '',
    validityPeriod: '',
    registeredDelivery: 0,
    replaceIfPresentFlag: 0,
    smDefaultMsgId: 0,
  };
  if (item.kind === 'reply') {
    const { dataCoding, bytes } = encodedReply(item.text);
    return { ...base, esmClass: 0, dataCoding, shortMessage: bytes };
  }
  const { fate } = item;
  const text = formatReceiptText({
    id: item.messageId,
    sub: 1,
    dlvrd: fate.messageState === MessageState.DELIVERED ? 1 : 0,
    submitDate: new Date(item.submittedAt),
    doneDate: new Date(item.doneAt),
    stat: fate.stat,
    err: fate.err,
    text: item.text,
  });
  return {
    ...base,
    esmClass: EsmClass.TYPE_SMSC_DELIVERY_RECEIPT,
    dataCoding: 0,
    shortMessage: Buffer.from(text, 'latin1'),
    tlvs:
      fate.err === 0
        ? { receiptedMessageId: item.messageId, messageState: fate.messageState }
        : {
            receiptedMessageId: item.messageId,
            messageState: fate.messageState,
            networkErrorCode: { type: NETWORK_TYPE_GSM, code: fate.err },
          },
  };
}
