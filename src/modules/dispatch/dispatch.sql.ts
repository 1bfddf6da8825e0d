// Hot-path statements of the dispatcher, one exported function per statement (graphile worker's
// `src/sql/*.ts` habit). Every statement handles a whole batch; time comes in as a parameter so
// that tests can drive a fake clock.
import type pg from 'pg';
import { prepared } from '../../db/prepared.ts';
import { RECORD_FAILED } from './dispatch.models.ts';
import { type FinalReceiptState, partRowsOf } from '../receipts/receipts.models.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export interface ClaimedMessage {
  id: number;
  tenantId: number;
  priority: number;
  recipient: string;
  content: string;
  parts: number;
  attempts: number;
  duplicateRisk: boolean;
  senderCode: string | null;
  /** Extension code of the message's signature (compliance/signatures), appended after senderCode. */
  signatureExtension?: string | null;
  /** When the message expires if the carrier has not taken it (epoch ms). */
  deadlineAt: number;
  /** The node's fence epoch when it was claimed (nodes.ts): sent only in that epoch. */
  epoch?: number;
}

/** How long after it was due (created, or its `send_at`) a message may still go out, by type. */
export interface Deadlines {
  verificationSeconds: number;
  notificationSeconds: number;
  marketingSeconds: number;
}

const deadlineParams = (d: Deadlines) => [d.verificationSeconds, d.notificationSeconds, d.marketingSeconds];

/**
 * Claims due queued messages for this node: lower priority value first (verification codes ahead
 * of notifications ahead of marketing), and within a priority at most `perTenant` rows from each
 * tenant, so one tenant's 200,000-message batch cannot hold back another tenant's messages.
 *
 * The recursive part is a skip scan over the partial index (priority, tenant_id, ...) that finds
 * each (priority, tenant) with work in O(log n) per key instead of a DISTINCT over every queued
 * row; each key then yields its oldest rows with FOR UPDATE SKIP LOCKED, so dispatchers on other
 * nodes skip them rather than wait.
 *
 * A picked row past its deadline ends `expired`, and one already claimed `maxAttempts` times (by
 * nodes that died holding it) ends `failed`, in the same statement: neither is ever sent, and
 * neither costs a query of its own.
 */
export async function claimNextMessages(
  db: Queryable,
  {
    nodeId,
    limit,
    perTenant,
    now,
    deadlines,
    maxAttempts,
    maxKeys = 256,
    sendingAt = now,
  }: {
    nodeId: string;
    limit: number;
    perTenant: number;
    now: Date;
    deadlines: Deadlines;
    maxAttempts: number;
    maxKeys?: number;
    /**
     * The `sending_at` the claimed rows get: the dispatcher's ClaimInstant, which no other write
     * of this node shares, so that a claim whose answer was lost can be undone by it alone.
     */
    sendingAt?: Date | string;
  },
): Promise<ClaimedMessage[]> {
  const result = await db.query<{
    id: number;
    tenant_id: number;
    priority: number;
    recipient: string;
    content: string;
    parts: number;
    attempts: number;
    duplicate_risk: boolean;
    sender_code: string | null;
    signature_extension: string | null;
    status: string;
    deadline_ms: number;
  }>(
    prepared(
      'claim-next-messages',
      `with recursive keys as (
       (select priority, tenant_id from messages
         where status = 'queued' and next_attempt_at <= $1
         order by priority, tenant_id limit 1)
       union all
       select n.priority, n.tenant_id from keys k cross join lateral (
         select m.priority, m.tenant_id from messages m
          where m.status = 'queued' and m.next_attempt_at <= $1
            and (m.priority, m.tenant_id) > (k.priority, k.tenant_id)
          order by m.priority, m.tenant_id limit 1) n
     ),
     picked as (
       select c.id, c.tenant_id, c.deadline_at,
              case when c.attempts >= $9 then 'failed' when c.deadline_at <= $1 then 'expired' else 'sending' end
                as outcome
         -- A suspended tenant's messages stay queued (held) until it is reactivated; one index
         -- probe per (priority, tenant) key, not per message.
         from (select * from keys k0
                where not exists (select 1 from tenants t where t.id = k0.tenant_id and t.status = 'suspended')
                limit $5) k cross join lateral (
         select m.id, m.tenant_id, m.attempts,
                coalesce(m.send_at, m.created_at) + make_interval(secs =>
                  case m.type when 'verification' then $6::int when 'notification' then $7::int else $8::int end)
                  as deadline_at
           from messages m
          where m.status = 'queued' and m.priority = k.priority and m.tenant_id = k.tenant_id
            and m.next_attempt_at <= $1
          order by m.next_attempt_at, m.id
          limit $4
          for update skip locked) c
       limit $3
     )
     update messages m
        set status = p.outcome,
            sending_at = case when p.outcome = 'sending' then $10::timestamptz else m.sending_at end,
            claimed_by = case when p.outcome = 'sending' then $2 else m.claimed_by end,
            attempts = m.attempts + case when p.outcome = 'sending' then 1 else 0 end,
            done_at = case when p.outcome = 'sending' then m.done_at else $1 end,
            error_code = case p.outcome when 'failed' then 'dispatch.attempts_exhausted'
                           when 'expired' then 'dispatch.deadline_passed' else m.error_code end,
            error_detail = case p.outcome
                             when 'failed' then 'claimed ' || m.attempts || ' times, the last error: '
                               || coalesce(m.error_code, 'none (its node stopped)')
                             when 'expired' then 'not taken by the carrier before its deadline; the last error: '
                               || coalesce(m.error_code, 'none')
                             else m.error_detail end,
            updated_at = $1
       from picked p left join tenants t on t.id = p.tenant_id
      where m.id = p.id
     returning m.id, m.tenant_id, m.priority, m.recipient, m.content, m.parts, m.attempts, m.duplicate_risk,
       t.sender_code, m.status, (extract(epoch from p.deadline_at) * 1000)::float8 as deadline_ms,
       (select s.extension_code from signatures s where s.id = m.signature_id) as signature_extension`,
      [now, nodeId, limit, perTenant, maxKeys, ...deadlineParams(deadlines), maxAttempts, sendingAt],
    ),
  );
  return result.rows
    .filter((r) => r.status === 'sending')
    .map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      priority: r.priority,
      recipient: r.recipient,
      content: r.content,
      parts: r.parts,
      attempts: r.attempts,
      duplicateRisk: r.duplicate_risk,
      senderCode: r.sender_code,
      signatureExtension: r.signature_extension,
      deadlineAt: r.deadline_ms,
    }))
    .sort((a, b) => a.priority - b.priority || a.id - b.id);
}

export interface SentResult {
  id: number;
  channelId: number;
  sourceAddr: string;
  /** Carrier ids of the parts, in part order. */
  carrierIds: string[];
  /** True when a part may have been transmitted twice (a retry after an unanswered submit). */
  duplicateRisk: boolean;
  /**
   * The delivery receipt of a single-part message that arrived before this result was written
   * (the receipt ingest lends it to the recorder): written with it, in the same statement.
   */
  receipt?: ReceiptOutcome;
}

/** A receipt's outcome for its message, as applySinglePartReceipts writes it. */
export interface ReceiptOutcome {
  state: FinalReceiptState;
  errorCode: string | null;
  doneAt: Date;
}

/** recordSentMessages, when only the count matters (no result carries a receipt). */
export async function recordSentMessages(
  db: Queryable,
  args: { nodeId: string; results: SentResult[]; now: Date; slot?: number },
): Promise<number> {
  return (await recordSubmitResults(db, args)).recorded;
}

/**
 * Records messages the carrier took (every part answered with status 0). Only rows this node
 * still holds in `sending` are touched, so a result that arrives after a crash recovery handed
 * the message to another node cannot overwrite that node's outcome. The message and its parts'
 * carrier ids are written by one statement: a crash cannot leave a message `sent` without the
 * message_parts its part receipts need. Parts come deduplicated by (channel, carrier id) —
 * see partRowsOf — since one key twice in an upsert fails the whole statement.
 *
 * A single-part result that carries its receipt goes from `sending` straight to the receipt's
 * state, with the receipt's columns as applySinglePartReceipts writes them and sent_at as for any
 * other, and is counted in receipt_counters (`slot`) as an applied receipt: one non-HOT update of
 * the row instead of two. The triggers see `sending` -> final and write what the two updates
 * wrote (migration 0039): the capture, then the refund if the receipt failed the message, and the
 * `sent` webhook event before the final one. Returns how many rows
 * were written and the messages whose receipt was written with them; a receipt whose message was
 * not (or is not single-part) is the caller's to apply the usual way.
 */
export async function recordSubmitResults(
  db: Queryable,
  { nodeId, results, now, slot = 0 }: { nodeId: string; results: SentResult[]; now: Date; slot?: number },
): Promise<{ recorded: number; receiptsWritten: number[] }> {
  if (results.length === 0) return { recorded: 0, receiptsWritten: [] };
  const parts = partRowsOf(results);
  const updated = await db.query<{ n: number; took: string[] }>(
    prepared(
      'record-sent-messages',
      `with upd as (
       update messages m
          set status = case when u.state is not null and m.parts = 1 then u.state else 'sent' end,
              sent_at = $7, channel_id = u.channel_id, source_addr = u.source_addr,
              carrier_message_id = u.carrier_id, duplicate_risk = m.duplicate_risk or u.dup,
              error_code = case when u.state is not null and m.parts = 1 then u.err end,
              error_detail = null,
              done_at = case when u.state is not null and m.parts = 1 then u.done_at else m.done_at end,
              parts_delivered = case when u.state is not null and m.parts = 1
                                     then case when u.state = 'delivered' then 1 else 0 end
                                     else m.parts_delivered end,
              parts_failed = case when u.state is not null and m.parts = 1
                                  then case when u.state = 'delivered' then 0 else 1 end
                                  else m.parts_failed end,
              updated_at = $7
         from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::boolean[],
                     $13::text[], $14::text[], $15::timestamptz[])
           as u(id, channel_id, source_addr, carrier_id, dup, state, err, done_at)
        where m.id = u.id and m.status = 'sending' and m.claimed_by = $6
       returning m.id, m.channel_id, m.status <> 'sent' as took_receipt),
     parts as (
       insert into message_parts (channel_id, carrier_message_id, message_id, part_no, covers)
       select p.channel_id, p.cid, p.message_id, p.part_no, p.covers
         from unnest($8::bigint[], $9::text[], $10::bigint[], $11::int2[], $12::int2[])
           as p(channel_id, cid, message_id, part_no, covers)
        where p.message_id in (select id from upd)
       on conflict (channel_id, carrier_message_id) do update
         set message_id = excluded.message_id, part_no = excluded.part_no, covers = excluded.covers,
             state = null, error_code = null
       returning 1),
     counted as (
       insert into receipt_counters as c (channel_id, slot, received, applied, parked, duplicate, expired)
       select upd.channel_id, $16, count(*), count(*), 0, 0, 0
         from upd where upd.took_receipt
        group by upd.channel_id
        order by upd.channel_id
       on conflict (channel_id, slot) do update
         set received = c.received + excluded.received, applied = c.applied + excluded.applied)
     select count(*)::int as n, coalesce(array_agg(id) filter (where took_receipt), '{}') as took from upd`,
      [
        results.map((r) => r.id),
        results.map((r) => r.channelId),
        results.map((r) => r.sourceAddr),
        results.map((r) => r.carrierIds[0] ?? null),
        results.map((r) => r.duplicateRisk),
        nodeId,
        now,
        parts.map((p) => p.channelId),
        parts.map((p) => p.carrierId),
        parts.map((p) => p.messageId),
        parts.map((p) => p.partNo),
        parts.map((p) => p.covers),
        results.map((r) => r.receipt?.state ?? null),
        results.map((r) => r.receipt?.errorCode ?? null),
        results.map((r) => r.receipt?.doneAt ?? null),
        slot,
      ],
    ),
  );
  const row = updated.rows[0];
  return { recorded: row?.n ?? 0, receiptsWritten: (row?.took ?? []).map(Number) };
}

export interface RetryResult {
  id: number;
  delayMs: number;
  errorCode: string;
  errorDetail: string;
  duplicateRisk: boolean;
  /**
   * The message never reached the carrier in this claim (handed back by a stopped channel, or
   * throttled until the bind closed): the claim does not count as an attempt.
   */
  notAttempted: boolean;
}

/** Puts messages back in the queue after a retriable error, due after their backoff. */
export async function requeueMessages(
  db: Queryable,
  { nodeId, results, now }: { nodeId: string; results: RetryResult[]; now: Date },
) {
  if (results.length === 0) return 0;
  const updated = await db.query(
    prepared(
      'requeue-messages',
      `update messages m
        set status = 'queued', claimed_by = null, queued_at = $7,
            next_attempt_at = $7::timestamptz + make_interval(secs => u.delay_ms / 1000.0),
            error_code = u.code, error_detail = u.detail, duplicate_risk = m.duplicate_risk or u.dup,
            attempts = greatest(0, m.attempts - case when u.not_attempted then 1 else 0 end), updated_at = $7
       from unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::boolean[], $8::boolean[])
         as u(id, delay_ms, code, detail, dup, not_attempted)
      where m.id = u.id and m.status = 'sending' and m.claimed_by = $6`,
      [
        results.map((r) => r.id),
        results.map((r) => Math.round(r.delayMs)),
        results.map((r) => r.errorCode),
        results.map((r) => r.errorDetail),
        results.map((r) => r.duplicateRisk),
        nodeId,
        now,
        results.map((r) => r.notAttempted),
      ],
    ),
  );
  return updated.rowCount ?? 0;
}

export interface FailedResult {
  id: number;
  status: 'rejected' | 'failed' | 'expired';
  errorCode: string;
  errorDetail: string;
}

/** Final failures at submission: the carrier refused the message, retries ran out, or its deadline passed. */
export async function failMessages(
  db: Queryable,
  { nodeId, results, now }: { nodeId: string; results: FailedResult[]; now: Date },
) {
  if (results.length === 0) return 0;
  const updated = await db.query(
    prepared(
      'fail-messages',
      `update messages m
        set status = u.status, done_at = $6, error_code = u.code, error_detail = u.detail, updated_at = $6
       from unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) as u(id, status, code, detail)
      where m.id = u.id and m.status = 'sending' and m.claimed_by = $5`,
      [
        results.map((r) => r.id),
        results.map((r) => r.status),
        results.map((r) => r.errorCode),
        results.map((r) => r.errorDetail),
        nodeId,
        now,
      ],
    ),
  );
  return updated.rowCount ?? 0;
}

/**
 * Ends messages whose submit result the database refused to store (`dispatch.record_failed`),
 * so that one bad row cannot hold the recorder, nor leave its message in `sending` for ever.
 */
export async function endUnrecordedMessages(
  db: Queryable,
  {
    nodeId,
    rows,
    now,
  }: { nodeId: string; rows: { id: number; status: 'unknown' | 'failed'; detail: string }[]; now: Date },
) {
  if (rows.length === 0) return 0;
  const updated = await db.query(
    `update messages m
        set status = u.status, done_at = $4, error_code = $6, error_detail = u.detail,
            updated_at = $4
       from unnest($1::bigint[], $2::text[], $3::text[]) as u(id, status, detail)
      where m.id = u.id and m.status = 'sending' and m.claimed_by = $5`,
    [rows.map((r) => r.id), rows.map((r) => r.status), rows.map((r) => r.detail), now, nodeId, RECORD_FAILED],
  );
  return updated.rowCount ?? 0;
}

/** Scheduled messages whose time has come move from `held` to the queue. */
export async function releaseHeldMessages(
  db: Queryable,
  { now, limit = 5000 }: { now: Date; limit?: number },
) {
  const result = await db.query(
    `update messages m set status = 'queued', queued_at = $1, next_attempt_at = $1, updated_at = $1
      where m.id in (select id from messages where status = 'held' and send_at <= $1
                      order by send_at limit $2 for update skip locked)`,
    [now, limit],
  );
  return result.rowCount ?? 0;
}

/** What recovery writes to a claim it takes back ($2: now): queued again, flagged. */
const REQUEUE_RECOVERED =
  "status = 'queued', claimed_by = null, duplicate_risk = true, queued_at = $2, next_attempt_at = $2, updated_at = $2";

/**
 * Messages claimed by a node that is gone (crashed, killed) go back to the queue. Their
 * submission may or may not have reached the carrier, so each is marked `duplicate_risk`.
 */
export async function recoverAbandonedMessages(
  db: Queryable,
  { liveNodeIds, now }: { liveNodeIds: string[]; now: Date },
) {
  const result = await db.query(
    `update messages m
        set ${REQUEUE_RECOVERED}
      where m.status = 'sending' and not (m.claimed_by = any($1::text[]))`,
    [liveNodeIds, now],
  );
  return result.rowCount ?? 0;
}

/**
 * This node's own claims, after it may have been taken for dead (nodes.ts, NodeFence): queued
 * again and marked `duplicate_risk`, as a peer's recovery would, unless a peer already did.
 * `ids` narrows it to one claim's messages.
 */
export async function recoverOwnClaims(
  db: Queryable,
  { nodeId, now, ids }: { nodeId: string; now: Date; ids?: number[] },
) {
  const result = await db.query(
    `update messages m
        set ${REQUEUE_RECOVERED}
      where m.status = 'sending' and m.claimed_by = $1 and ($3::bigint[] is null or m.id = any ($3::bigint[]))`,
    [nodeId, now, ids ?? null],
  );
  return result.rowCount ?? 0;
}

/**
 * Messages this node claimed that it never sent: those of a claim, or of a write that claimed as
 * it wrote (intake.ts DirectClaimer), whose outcome is unknown (`sendingAt`, the claim's unique
 * instant, see ClaimInstants) or these `ids`. Back to the queue as if never claimed: no attempt
 * counted, no duplicate risk.
 */
export async function requeueUnsentClaims(
  db: Queryable,
  { nodeId, now, sendingAt, ids }: { nodeId: string; now: Date; sendingAt?: Date | string; ids?: number[] },
) {
  const result = await db.query(
    `update messages m
        set status = 'queued', claimed_by = null, sending_at = null, attempts = greatest(m.attempts - 1, 0),
            queued_at = $2, next_attempt_at = $2, updated_at = $2
      where m.status = 'sending' and m.claimed_by = $1
        and ($3::timestamptz is null or m.sending_at = $3) and ($4::bigint[] is null or m.id = any ($4::bigint[]))
        and ($3::timestamptz is not null or $4::bigint[] is not null)`,
    [nodeId, now, sendingAt ?? null, ids ?? null],
  );
  return result.rowCount ?? 0;
}

/**
 * Queued messages past their deadline end `expired`, for when no dispatcher claims them (no
 * channel bound, a long backlog); a claim would expire them the same way, never send them.
 */
export async function expireOverdueMessages(
  db: Queryable,
  { now, deadlines, limit = 10_000 }: { now: Date; deadlines: Deadlines; limit?: number },
) {
  const result = await db.query(
    `update messages m set status = 'expired', done_at = $1, error_code = 'dispatch.deadline_passed',
            error_detail = 'not taken by the carrier before its deadline; the last error: ' || coalesce(m.error_code, 'none'),
            updated_at = $1
      where m.id in (select id from messages
                      where status = 'queued'
                        and coalesce(send_at, created_at) + make_interval(secs =>
                          case type when 'verification' then $2::int when 'notification' then $3::int else $4::int end) <= $1
                      limit $5 for update skip locked)`,
    [now, ...deadlineParams(deadlines), limit],
  );
  return result.rowCount ?? 0;
}

/** A sent message with no final receipt within the window becomes `unknown` (and stays charged). */
export async function expireAwaitingReceipts(
  db: Queryable,
  { now, windowHours, limit = 10_000 }: { now: Date; windowHours: number; limit?: number },
) {
  const result = await db.query(
    `update messages m set status = 'unknown', done_at = $1, error_code = 'receipts.window_elapsed',
            error_detail = 'no final delivery receipt within ' || $2 || ' hours', updated_at = $1
      where m.id in (select id from messages where status = 'sent'
                      and sent_at < $1::timestamptz - make_interval(hours => $2)
                      limit $3 for update skip locked)`,
    [now, windowHours, limit],
  );
  return result.rowCount ?? 0;
}
