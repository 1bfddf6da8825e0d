import type { Selectable } from 'kysely';
import type { MessagesTable } from '../../db/schema.ts';
import { maskCode, type SentCode } from '../verifications/verifications.models.ts';

type MessageRow = Selectable<MessagesTable>;

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/**
 * The public shape of a message: every state it passed through, with its time (the final one with
 * its error or receipt code). `code`: the code
 * the Verify API sent in it (repository.sentCodesOf), shown as asterisks of its length to every
 * reader; the stored row and what the carrier gets keep it.
 */
export function toMessageView(row: MessageRow, code?: SentCode) {
  const events: { status: string; at: string; code?: string; detail?: string | null }[] = [
    { status: 'accepted', at: row.created_at.toISOString() },
  ];
  const push = (status: string, at: Date | null) => {
    if (at) events.push({ status, at: at.toISOString() });
  };
  push('held', row.held_at);
  push('queued', row.queued_at);
  push('sending', row.sending_at);
  push('sent', row.sent_at);
  // The final state carries the code it ended with: the carrier's receipt code (carrier.UNDELIV.034),
  // or Hongyan's own (dispatch.attempts_exhausted…); a delivery has none.
  if (row.done_at && !['held', 'queued', 'sending', 'sent'].includes(row.status)) {
    push(row.status, row.done_at);
    if (row.error_code !== null)
      Object.assign(events.at(-1)!, { code: row.error_code, detail: row.error_detail });
  }
  return {
    id: String(row.id),
    to: row.recipient,
    type: row.type,
    content: code === undefined ? row.content : maskCode(row.content, code),
    encoding: row.encoding,
    parts: row.parts,
    status: row.status,
    client_ref: row.client_ref,
    batch_id: row.batch_id === null ? null : String(row.batch_id),
    send_at: iso(row.send_at),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    attempts: row.attempts,
    carrier_message_id: row.carrier_message_id,
    error: row.error_code === null ? null : { code: row.error_code, detail: row.error_detail },
    duplicate_risk: row.duplicate_risk,
    events,
  };
}
