// query_sm and cancel_sm from a customer's bind: only the messages of the account's tenant are
// found (any other id answers as if it did not exist: ESME_RQUERYFAIL / ESME_RCANCELFAIL). The
// message_id is the one submit_sm_resp answered (the message's id). The source address of the
// request is not compared with the message's: the id, scoped to the tenant, names the message.
import type pg from 'pg';
import { CommandStatus } from '../../smpp/constants.ts';
import type { CancelSm, QuerySm } from '../../smpp/pdu-types.ts';
import type { HandlerResult } from '../../smpp/session-types.ts';
import { messageIdOf, queryAnswerOf } from './message-queries.models.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export async function findMessageStatus(
  db: Queryable,
  { tenantId, id }: { tenantId: number; id: number },
): Promise<{ status: string; done_at: Date | null; error_code: string | null } | undefined> {
  const { rows } = await db.query<{ status: string; done_at: Date | null; error_code: string | null }>(
    'select status, done_at, error_code from messages where id = $1 and tenant_id = $2',
    [id, tenantId],
  );
  return rows[0];
}

/**
 * held or queued → canceled in one statement: a message the dispatcher claimed in the meantime
 * (sending) is not touched, and neither is one already final. The status triggers release its
 * charge and write its receipt (stat DELETED) and its message.status webhook, as for
 * POST /v1/messages/:id/cancel.
 */
export async function cancelUnsentMessage(
  db: Queryable,
  { tenantId, id, now }: { tenantId: number; id: number; now: Date },
): Promise<boolean> {
  const res = await db.query(
    `update messages set status = 'canceled', canceled_at = $3, done_at = $3, updated_at = $3
      where id = $1 and tenant_id = $2 and status in ('held', 'queued')`,
    [id, tenantId, now],
  );
  return (res.rowCount ?? 0) > 0;
}

export async function answerQuerySm(
  db: Queryable,
  { tenantId, pdu }: { tenantId: number; pdu: QuerySm },
): Promise<HandlerResult> {
  const id = messageIdOf(pdu.messageId);
  const message = id === null ? undefined : await findMessageStatus(db, { tenantId, id });
  if (message === undefined) return CommandStatus.ESME_RQUERYFAIL;
  return { command: 'query_sm_resp', messageId: pdu.messageId, ...queryAnswerOf(message) };
}

/**
 * Cancels one message by its id. A cancel_sm without message_id (every pending message from a
 * source to a destination) is not offered: ESME_RCANCELFAIL, as for a message already sent.
 */
export async function answerCancelSm(
  db: Queryable,
  { tenantId, pdu, now }: { tenantId: number; pdu: CancelSm; now: Date },
): Promise<HandlerResult> {
  const id = messageIdOf(pdu.messageId);
  if (id === null || !(await cancelUnsentMessage(db, { tenantId, id, now })))
    return CommandStatus.ESME_RCANCELFAIL;
  return { command: 'cancel_sm_resp' };
}
