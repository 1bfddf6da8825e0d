// query_sm and cancel_sm rules (pure): the message id a customer gives, a message's status as the
// SMPP message_state, its final date as SMPP absolute time, and its error as the one-byte
// network error code.
import { MessageState } from '../../smpp/constants.ts';
import { receiptErrOf } from './submit.models.ts';

/** The message id we answered in submit_sm_resp (the message's decimal id); null when it is not one. */
export function messageIdOf(text: string): number | null {
  if (!/^[1-9]\d{0,15}$/.test(text)) return null;
  return Number(text);
}

/**
 * Not yet final (held, queued, sending, sent) is ENROUTE: SMPP 3.4 has no SCHEDULED (0 is a
 * 5.0 value), and an ESME of 3.4 treats unknown states as errors. Final states as in receipts.
 */
const STATE_OF_STATUS: Record<string, number> = {
  held: MessageState.ENROUTE,
  queued: MessageState.ENROUTE,
  sending: MessageState.ENROUTE,
  sent: MessageState.ENROUTE,
  delivered: MessageState.DELIVERED,
  undelivered: MessageState.UNDELIVERABLE,
  failed: MessageState.UNDELIVERABLE,
  expired: MessageState.EXPIRED,
  rejected: MessageState.REJECTED,
  unknown: MessageState.UNKNOWN,
  canceled: MessageState.DELETED,
};

export function messageStateOfStatus(status: string): number {
  return STATE_OF_STATUS[status] ?? MessageState.UNKNOWN;
}

/** The receipt's err digits (receiptErrOf) when they fit the one byte of error_code, else 0. */
export function networkErrorCodeOf(errorCode: string | null): number {
  const n = Number(receiptErrOf(errorCode));
  return n <= 255 ? n : 0;
}

/**
 * SMPP absolute time (section 7.1.1) in UTC: YYMMDDhhmmsstnnp, e.g. 261130093000000+ (t tenths of
 * a second, nn the offset in quarter hours, p its sign).
 */
export function smppAbsoluteTime(at: Date): string {
  const two = (v: number) => String(v).padStart(2, '0');
  return (
    two(at.getUTCFullYear() % 100) +
    two(at.getUTCMonth() + 1) +
    two(at.getUTCDate()) +
    two(at.getUTCHours()) +
    two(at.getUTCMinutes()) +
    two(at.getUTCSeconds()) +
    Math.floor(at.getUTCMilliseconds() / 100) +
    '00+'
  );
}

/** query_sm_resp's fields of a message: final_date only once it is final (empty before). */
export function queryAnswerOf(message: { status: string; done_at: Date | null; error_code: string | null }) {
  const messageState = messageStateOfStatus(message.status);
  const final = messageState !== MessageState.ENROUTE;
  return {
    messageState,
    finalDate: final && message.done_at !== null ? smppAbsoluteTime(message.done_at) : '',
    errorCode: final ? networkErrorCodeOf(message.error_code) : 0,
  };
}
