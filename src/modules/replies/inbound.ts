// A reply (MO) as it comes off the wire: a deliver_sm or data_sm that is not a receipt. Decoding
// lives here, apart from receipt ingestion, so that replies and receipts evolve separately.
import { decodeShortMessage, ESM_CLASS_UDHI } from '../../smpp/segments.ts';
import type { IncomingRequest } from '../../smpp/session-types.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import { type ConcatRef, concatOf } from './inbound.models.ts';

/** One received reply, or one part of a concatenated reply. */
export interface InboundInput {
  channelId: number;
  sender: string;
  destination: string;
  dataCoding: number;
  /** User data without the UDH. */
  body: Buffer;
  /** Set when this is one part of a concatenated reply. */
  concat?: ConcatRef;
  receivedAt: Date;
}

export function inboundFromPdu({
  channelId,
  pdu,
  receivedAt,
}: {
  channelId: number;
  pdu: Extract<IncomingRequest, { command: 'deliver_sm' | 'data_sm' }>;
  receivedAt: Date;
}): InboundInput {
  const payload =
    pdu.tlvs.messagePayload ??
    (pdu.command === 'deliver_sm' ? pdu.shortMessage : undefined) ??
    Buffer.alloc(0);
  const hasUdh = (pdu.esmClass & ESM_CLASS_UDHI) !== 0;
  // The UDH is cut as decodeShortMessage does: a header longer than the payload means the flag
  // is wrong, and the whole payload is user data.
  const headerEnd = hasUdh && payload.length > 0 ? 1 + payload[0]! : 0;
  const body = headerEnd <= payload.length ? payload.subarray(headerEnd) : payload;
  const udhConcat = hasUdh ? decodeShortMessage(payload, pdu.dataCoding, true).concat : undefined;
  const udh = udhConcat && { ref: udhConcat.reference, total: udhConcat.total, seq: udhConcat.seq };
  const concat = concatOf({
    udh,
    sar: {
      ref: pdu.tlvs.sarMsgRefNum,
      total: pdu.tlvs.sarTotalSegments,
      seq: pdu.tlvs.sarSegmentSeqnum,
    },
  });
  const phone = normalizePhone(`+${pdu.sourceAddr.replace(/^\+/, '')}`);
  return {
    channelId,
    sender: phone.ok ? phone.e164 : pdu.sourceAddr,
    destination: pdu.destinationAddr,
    dataCoding: pdu.dataCoding,
    // A copy: the PDU's buffer is a slice of the socket's read, which must not be kept alive.
    body: Buffer.from(body),
    ...(concat ? { concat } : {}),
    receivedAt,
  };
}
