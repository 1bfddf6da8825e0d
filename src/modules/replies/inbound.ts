// A reply (MO) as it comes off the wire: a deliver_sm or data_sm that is not a receipt. Decoding
// lives here, apart from receipt ingestion, so that replies and receipts evolve separately.
import { decodeShortMessage } from '../../smpp/segments.ts';
import type { IncomingRequest } from '../../smpp/session-types.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import type { InboundInput } from './replies.sql.ts';

export function inboundFromPdu({
  channelId,
  pdu,
  receivedAt,
}: {
  channelId: number;
  pdu: Extract<IncomingRequest, { command: 'deliver_sm' | 'data_sm' }>;
  receivedAt: Date;
}): InboundInput {
  const body = pdu.command === 'deliver_sm' ? pdu : null;
  const payload = pdu.tlvs.messagePayload ?? body?.shortMessage ?? Buffer.alloc(0);
  const decoded = decodeShortMessage(payload, body?.dataCoding ?? 0, ((body?.esmClass ?? 0) & 0x40) !== 0);
  const phone = normalizePhone(`+${pdu.sourceAddr.replace(/^\+/, '')}`);
  return {
    channelId,
    sender: phone.ok ? phone.e164 : pdu.sourceAddr,
    destination: pdu.destinationAddr,
    content: decoded.text,
    receivedAt,
  };
}
