// Pure rules of the customer SMPP server: what a submit_sm/data_sm carries (text, concatenation),
// where it goes, which command_status answers each of our error codes, and the receipt of a
// final status. No I/O.
import { CommandStatus } from '../../smpp/constants.ts';
import type { DataSm, SubmitMulti, SubmitSm } from '../../smpp/pdu-types.ts';
import type { ReceiptState } from '../../smpp/receipt.ts';
import { type ConcatInfo, decodeShortMessage, ESM_CLASS_UDHI } from '../../smpp/segments.ts';

const TON_INTERNATIONAL = 1;

/** The recipient as /v1/messages takes it: an international number (TON 1) gets its "+". */
export function recipientOf(address: string, ton: number): string {
  const trimmed = address.trim();
  if (ton === TON_INTERNATIONAL && /^\d+$/.test(trimmed)) return `+${trimmed}`;
  return trimmed;
}

export interface SubmittedPart {
  /** The user data without its UDH. */
  body: Buffer;
  dataCoding: number;
  /** Present when the PDU is one part of a concatenated message (UDH, or SAR TLVs). */
  concat?: ConcatInfo;
}

/**
 * The user data of a submit_sm/data_sm/submit_multi: short_message, else the message_payload
 * TLV; the concatenation reference from the UDH (8- or 16-bit) or from the SAR TLVs.
 */
export function partOf(pdu: SubmitSm | DataSm | SubmitMulti): SubmittedPart {
  const short = 'shortMessage' in pdu ? pdu.shortMessage : undefined;
  const payload =
    short !== undefined && short.length > 0 ? short : (pdu.tlvs.messagePayload ?? Buffer.alloc(0));
  const hasUdh = (pdu.esmClass & ESM_CLASS_UDHI) !== 0;
  let body = payload;
  let concat: ConcatInfo | undefined;
  if (hasUdh && payload.length > 0 && 1 + payload[0]! <= payload.length) {
    concat = decodeShortMessage(payload, pdu.dataCoding, true).concat;
    body = payload.subarray(1 + payload[0]!);
  }
  const { sarMsgRefNum, sarTotalSegments, sarSegmentSeqnum } = pdu.tlvs;
  if (
    concat === undefined &&
    sarMsgRefNum !== undefined &&
    sarTotalSegments !== undefined &&
    sarSegmentSeqnum !== undefined &&
    sarTotalSegments >= 1 &&
    sarSegmentSeqnum >= 1 &&
    sarSegmentSeqnum <= sarTotalSegments
  ) {
    concat = { reference: sarMsgRefNum, total: sarTotalSegments, seq: sarSegmentSeqnum };
  }
  const part: SubmittedPart = { body, dataCoding: pdu.dataCoding };
  if (concat !== undefined && concat.total > 1) part.concat = concat;
  return part;
}

/** The text of the parts, joined as bytes first (a UCS-2 pair split across parts stays whole). */
export function textOfParts(parts: readonly SubmittedPart[]): string {
  const dataCoding = parts[0]?.dataCoding ?? 0;
  return decodeShortMessage(Buffer.concat(parts.map((p) => p.body)), dataCoding, false).text;
}

/**
 * Our error codes as command_status (docs/smpp-server.md has the table). Codes not listed, and
 * errors without a code, are ESME_RSYSERR: the client may retry them.
 */
const STATUS_BY_CODE: Record<string, number> = {
  'messages.invalid_recipient': CommandStatus.ESME_RINVDSTADR,
  'messages.content_empty': CommandStatus.ESME_RINVMSGLEN,
  'messages.content_too_long': CommandStatus.ESME_RINVMSGLEN,
  'request.invalid_text': CommandStatus.ESME_RINVMSGLEN,
  'limit.recipient_frequency': CommandStatus.ESME_RTHROTTLED,
  'billing.insufficient_quota': CommandStatus.ESME_RMSGQFUL,
  'compliance.opt_out': CommandStatus.ESME_RINVDSTADR,
  'compliance.blacklisted': CommandStatus.ESME_RINVDSTADR,
  'auth.tenant_suspended': CommandStatus.ESME_RINVBNDSTS,
  'accounts.tenant_not_approved': CommandStatus.ESME_RINVBNDSTS,
};

export function commandStatusOfError(code: string | undefined): number {
  if (code === undefined) return CommandStatus.ESME_RSYSERR;
  const status = STATUS_BY_CODE[code];
  if (status !== undefined) return status;
  // Every other refusal of the content (signature, template, content rules, quiet hours, review).
  if (code.startsWith('compliance.') || code.startsWith('templates.') || code.startsWith('signatures.'))
    return CommandStatus.ESME_RSUBMITFAIL;
  if (code.startsWith('messages.') || code.startsWith('routing.')) return CommandStatus.ESME_RSUBMITFAIL;
  return CommandStatus.ESME_RSYSERR;
}

/** The table documented in docs/smpp-server.md, for its test. */
export const documentedStatusCodes = STATUS_BY_CODE;

const RECEIPT_STATE_OF_STATUS: Record<string, ReceiptState> = {
  delivered: 'delivered',
  undelivered: 'undeliverable',
  failed: 'undeliverable',
  expired: 'expired',
  rejected: 'rejected',
  unknown: 'unknown',
  canceled: 'deleted',
};

/** A final message status as the receipt's state (stat DELIVRD, UNDELIV, EXPIRED, REJECTD, UNKNOWN, DELETED). */
export function receiptStateOf(status: string): ReceiptState {
  return RECEIPT_STATE_OF_STATUS[status] ?? 'unknown';
}

/** The receipt's err field: the last three digits of our error code when it has any, else 000. */
export function receiptErrOf(errorCode: string | null): string {
  const digits = /(\d{1,3})\D*$/.exec(errorCode ?? '')?.[1];
  return (digits ?? '0').padStart(3, '0');
}
