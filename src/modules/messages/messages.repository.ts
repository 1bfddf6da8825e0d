// Message intake and reads. Intake writes many rows with one statement (unnest over arrays):
// measured on the 2-core reference machine, one commit per row tops out near 3,000 rows/s while
// multi-row statements reach 40,000+ rows/s.
import { type Kysely, sql } from 'kysely';
import type pg from 'pg';
import type { Database } from '../../db/schema.ts';
import type { SentCode } from '../verifications/verifications.models.ts';

export interface NewMessageRow {
  tenantId: number;
  batchId: number | null;
  type: string;
  priority: number;
  recipient: string;
  content: string;
  encoding: string;
  parts: number;
  clientRef: string | null;
  sendAt: Date | null;
  /** The signature and template it was sent with (compliance); absent: none. */
  signatureId?: number | null;
  templateId?: number | null;
  /** The message's own status callback (webhooks); absent: none. */
  callbackUrl?: string | null;
  /**
   * Written `held` for the marketing review (compliance/protection/review.sql.ts): no send_at, so
   * the scheduler never releases it; the review's approval does.
   */
  heldForReview?: boolean;
  /**
   * A signed request's nonce, spent in the transaction that admits this row (not a column:
   * credentials/nonce.admission.ts); absent for every other request.
   */
  nonce?: { appKey: string; nonce: string } | null;
}

export interface InsertedMessage {
  id: number;
  /** `sending` when it was claimed as it was written (DirectClaim). */
  status: 'queued' | 'held' | 'sending';
  createdAt: Date;
  /** A row claimed as it was written: what the dispatcher needs to send it (as a claim returns). */
  claimed?: { senderCode: string | null; signatureExtension: string | null };
}

/**
 * Rows claimed as they are written, for this node's own dispatcher (intake.ts): the first `room`
 * rows that would be `queued` go in `sending`, claimed by `nodeId`, instead of waiting for a claim,
 * saving the claim's update of each row (one non-HOT update into every index of `messages`).
 */
export interface DirectClaim {
  nodeId: string;
  room: number;
  /**
   * The claimed rows' `sending_at`: an instant no other claim of this node shares (the
   * dispatcher's ClaimInstants), so a write whose outcome is unknown is undone by it alone.
   * The write's own time when absent.
   */
  sendingAt?: string;
}

/** Which rows a DirectClaim takes: due now (no send_at), not held for review, the first `room`. */
export function directClaimFlags(rows: readonly NewMessageRow[], claim: DirectClaim | undefined): boolean[] {
  let room = claim?.room ?? 0;
  return rows.map((r) => {
    if (room <= 0 || r.sendAt !== null || r.heldForReview === true) return false;
    room--;
    return true;
  });
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export async function insertMessages(
  db: Queryable,
  rows: NewMessageRow[],
  now: Date,
  claim?: DirectClaim,
): Promise<InsertedMessage[]> {
  if (rows.length === 0) return [];
  const claimed = directClaimFlags(rows, claim);
  const result = await db.query<{
    id: number;
    status: 'queued' | 'held' | 'sending';
    created_at: Date;
    recipient: string;
    sender_code: string | null;
    signature_extension: string | null;
  }>(
    `insert into messages (tenant_id, batch_id, type, priority, recipient, content, encoding, parts, client_ref,
       send_at, status, held_at, queued_at, next_attempt_at, created_at, updated_at, signature_id, template_id,
       callback_url, sending_at, claimed_by, attempts)
     select t.tenant_id, t.batch_id, t.type, t.priority, t.recipient, t.content, t.encoding, t.parts, t.client_ref,
       case when t.review then null else t.send_at end,
       case when t.review or t.send_at is not null then 'held' when t.claim then 'sending' else 'queued' end,
       case when t.review or t.send_at is not null then $11::timestamptz else null end,
       case when t.review or t.send_at is not null then null else $11::timestamptz end,
       case when t.review then $11::timestamptz else coalesce(t.send_at, $11::timestamptz) end,
       $11::timestamptz, $11::timestamptz, t.signature_id, t.template_id, t.callback_url,
       case when t.claim then coalesce($18::timestamptz, $11::timestamptz) end, case when t.claim then $17::text end,
       case when t.claim then 1 else 0 end
     from unnest($1::bigint[], $2::bigint[], $3::text[], $4::int2[], $5::text[], $6::text[], $7::text[], $8::int2[],
       $9::text[], $10::timestamptz[], $12::bigint[], $13::bigint[], $14::text[], $15::boolean[], $16::boolean[])
       as t(tenant_id, batch_id, type, priority, recipient, content, encoding, parts, client_ref, send_at,
         signature_id, template_id, callback_url, review, claim)
     returning id, status, created_at, recipient,
       case when status = 'sending' then (select s.sender_code from tenants s where s.id = tenant_id) end
         as sender_code,
       case when status = 'sending' then (select s.extension_code from signatures s where s.id = signature_id) end
         as signature_extension`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.batchId),
      rows.map((r) => r.type),
      rows.map((r) => r.priority),
      rows.map((r) => r.recipient),
      rows.map((r) => r.content),
      rows.map((r) => r.encoding),
      rows.map((r) => r.parts),
      rows.map((r) => r.clientRef),
      rows.map((r) => r.sendAt),
      now,
      rows.map((r) => r.signatureId ?? null),
      rows.map((r) => r.templateId ?? null),
      rows.map((r) => r.callbackUrl ?? null),
      rows.map((r) => r.heldForReview === true),
      claimed,
      claim?.nodeId ?? null,
      claim?.sendingAt ?? null,
    ],
  );
  // INSERT ... SELECT FROM unnest returns rows in input order in PostgreSQL; verify rather than trust.
  return result.rows.map((row, i) => {
    if (row.recipient !== rows[i]!.recipient)
      throw new Error('insertMessages: RETURNING order differs from input order');
    const message: InsertedMessage = { id: row.id, status: row.status, createdAt: row.created_at };
    if (row.status === 'sending')
      message.claimed = { senderCode: row.sender_code, signatureExtension: row.signature_extension };
    return message;
  });
}

export interface NewBatchRow {
  tenantId: number;
  type: string;
  content: string;
  sendAt: Date | null;
  total: number;
  accepted: number;
  rejected: number;
}

/** The batch row, written in the same transaction as its messages. */
export async function insertBatchRow(db: Queryable, row: NewBatchRow) {
  const result = await db.query<{
    id: number;
    total: number;
    accepted: number;
    rejected: number;
    created_at: Date;
  }>(
    `insert into batches (tenant_id, type, content, send_at, total, accepted, rejected)
     values ($1, $2, $3, $4, $5, $6, $7) returning id, total, accepted, rejected, created_at`,
    [row.tenantId, row.type, row.content, row.sendAt, row.total, row.accepted, row.rejected],
  );
  return result.rows[0]!;
}

/** The batch row's counts after admission refused some of the rows it was written with. */
export async function recountBatch(db: Queryable, batchId: number, accepted: number, rejected: number) {
  await db.query('update batches set accepted = $2, rejected = $3 where id = $1', [
    batchId,
    accepted,
    rejected,
  ]);
}

export function createMessagesRepository(db: Kysely<Database>) {
  return {
    async getMessage({ tenantId, id }: { tenantId: number; id: number }) {
      return db
        .selectFrom('messages')
        .selectAll()
        .where('id', '=', id)
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
    },
    async getMessageById(id: number) {
      return db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async listMessages(filter: {
      tenantId: number;
      recipient?: string;
      status?: string;
      batchId?: number;
      templateId?: number;
      clientRef?: string;
      createdAfter?: Date;
      createdBefore?: Date;
      beforeId?: number;
      limit: number;
    }) {
      let q = db.selectFrom('messages').selectAll().where('tenant_id', '=', filter.tenantId);
      if (filter.recipient !== undefined) q = q.where('recipient', '=', filter.recipient);
      if (filter.status !== undefined) q = q.where('status', '=', filter.status);
      if (filter.batchId !== undefined) q = q.where('batch_id', '=', filter.batchId);
      if (filter.templateId !== undefined) q = q.where('template_id', '=', filter.templateId);
      if (filter.clientRef !== undefined) q = q.where('client_ref', '=', filter.clientRef);
      if (filter.createdAfter !== undefined) q = q.where('created_at', '>=', filter.createdAfter);
      if (filter.createdBefore !== undefined) q = q.where('created_at', '<', filter.createdBefore);
      if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
      return q.orderBy('id', 'desc').limit(filter.limit).execute();
    },
    /**
     * The codes the Verify API sent in these messages (verifications module's tables), by message
     * id, for masking them in every view. Only `verification` messages are looked up (other pages
     * cost nothing); each is one probe of verification_sends' message_id index (migration 0038).
     */
    async sentCodesOf(tenantId: number, rows: readonly { id: number; type: string }[]) {
      const sent = new Map<number, SentCode>();
      const verify = rows.filter((r) => r.type === 'verification');
      if (verify.length === 0) return sent;
      const ids = verify.map((r) => r.id);
      const found = await sql<{
        message_id: string;
        code_salt: Buffer;
        code_hash: Buffer;
        code_length: number;
      }>`
        select s.message_id, v.code_salt, v.code_hash, v.code_length
          from verification_sends s
          join verifications v on v.id = s.verification_id
         where s.message_id = any (${ids}::bigint[]) and s.tenant_id = ${tenantId}`.execute(db);
      for (const r of found.rows) {
        sent.set(Number(r.message_id), { salt: r.code_salt, hash: r.code_hash, length: r.code_length });
      }
      return sent;
    },
    async getBatch({ tenantId, id }: { tenantId: number; id: number }) {
      return db
        .selectFrom('batches')
        .selectAll()
        .where('id', '=', id)
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
    },
    async countBatchByStatus(batchId: number) {
      const rows = await db
        .selectFrom('messages')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('batch_id', '=', batchId)
        .groupBy('status')
        .execute();
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])) as Record<string, number>;
    },
    /** held → canceled, atomically: a message the scheduler already released is not touched. */
    async cancelHeldMessage({ tenantId, id, now }: { tenantId: number; id: number; now: Date }) {
      return db
        .updateTable('messages')
        .set({ status: 'canceled', canceled_at: now, done_at: now, updated_at: now })
        .where('id', '=', id)
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'held')
        .returningAll()
        .executeTakeFirst();
    },
    async cancelHeldBatch({ tenantId, id, now }: { tenantId: number; id: number; now: Date }) {
      return db.transaction().execute(async (trx) => {
        const canceled = await trx
          .updateTable('messages')
          .set({ status: 'canceled', canceled_at: now, done_at: now, updated_at: now })
          .where('batch_id', '=', id)
          .where('tenant_id', '=', tenantId)
          .where('status', '=', 'held')
          .executeTakeFirst();
        const n = Number(canceled.numUpdatedRows);
        if (n > 0) {
          await trx.updateTable('batches').set({ canceled_at: now }).where('id', '=', id).execute();
        }
        return n;
      });
    },
  };
}

export type MessagesRepository = ReturnType<typeof createMessagesRepository>;
