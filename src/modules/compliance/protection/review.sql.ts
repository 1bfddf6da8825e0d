// Marketing batches' second review (seed 002), its statements. A batch under review has its
// messages `held` with no send_at, which the scheduler never releases; approval gives each its
// time (the batch's send_at, or now, moved past the recipient's quiet hours), rejection cancels
// them with the reviewer's reason (billing releases what they reserved from the status change).
import type pg from 'pg';
import type { NewMessageRow } from '../../messages/messages.repository.ts';
import { readSettings } from './protection.sql.ts';
import { reviewDueFor } from '../settings/settings.models.ts';
import { readComplianceSettings } from '../settings/settings.sql.ts';
import { nextOpening, zonesOf } from './quiet-hours.models.ts';

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** The code a message of a rejected marketing batch ends with (docs/errors.md, message codes). */
export const REVIEW_REJECTED_CODE = 'compliance.marketing_review_rejected';

/**
 * Before the insert: marks the marketing batch rows of tenants under review, so that the insert
 * writes them `held` for it with no send_at (insertMessages, `heldForReview`) instead of writing
 * them queued and updating every one of them after (160–210 ms for 10,000 rows, issue 8's figure).
 */
export async function markForReview(db: Queryable, rows: readonly NewMessageRow[]): Promise<void> {
  const marketing = rows.filter((r) => r.type === 'marketing' && r.batchId !== null);
  if (marketing.length === 0) return;
  const settings = await readSettings(db, [...new Set(marketing.map((r) => r.tenantId))]);
  for (const r of marketing) if (settings.get(r.tenantId)!.marketing_review) r.heldForReview = true;
}

/** After the insert: each batch with rows held for review (markForReview) gets its review row. */
export async function openReviews(
  db: Queryable,
  { rows, now }: { rows: readonly NewMessageRow[]; now: Date },
): Promise<void> {
  const batches = new Map<number, number>();
  for (const r of rows) if (r.heldForReview === true) batches.set(r.batchId!, r.tenantId);
  if (batches.size === 0) return;
  // The marketing desk's hours as the operator set them (compliance settings).
  const expectedBy = reviewDueFor(await readComplianceSettings(db), 'marketing', now);
  await db.query(
    `insert into marketing_reviews (batch_id, tenant_id, status, submitted_at, expected_by)
     select b, t, 'pending', $3, $4 from unnest($1::bigint[], $2::bigint[]) as u(b, t)
     on conflict (batch_id) do nothing`,
    [[...batches.keys()], [...batches.values()], now, expectedBy],
  );
}

export interface ReviewRow {
  batch_id: string;
  tenant_id: string;
  status: 'pending' | 'approved' | 'rejected';
  submitted_at: Date;
  expected_by: Date;
  decided_at: Date | null;
  decided_by: string | null;
  reason: string | null;
}

export async function getReview(db: Queryable, batchId: number, tenantId?: number) {
  const result = await db.query<ReviewRow>(
    `select * from marketing_reviews where batch_id = $1 and ($2::bigint is null or tenant_id = $2)`,
    [batchId, tenantId ?? null],
  );
  return result.rows[0] ?? null;
}

export async function lockReview(db: Queryable, batchId: number) {
  const result = await db.query<ReviewRow & { send_at: Date | null }>(
    `select r.*, b.send_at from marketing_reviews r join batches b on b.id = r.batch_id
      where r.batch_id = $1 for update of r`,
    [batchId],
  );
  return result.rows[0] ?? null;
}

export async function listPendingReviews(db: Queryable, { limit }: { limit: number }) {
  const result = await db.query(
    `select r.batch_id, r.tenant_id, t.name as tenant_name, r.submitted_at, r.expected_by, b.content, b.total,
            b.accepted, b.send_at
       from marketing_reviews r join batches b on b.id = r.batch_id join tenants t on t.id = r.tenant_id
      where r.status = 'pending' order by r.submitted_at, r.batch_id limit $1`,
    [limit],
  );
  return result.rows;
}

/** Approval: each held-for-review message gets its time; answers how many were queued and held. */
export async function releaseReviewedBatch(
  db: Queryable,
  { review, by, now }: { review: ReviewRow & { send_at: Date | null }; by: string; now: Date },
) {
  const tenantId = Number(review.tenant_id);
  const quiet = (await readSettings(db, [tenantId])).get(tenantId)!.quiet_hours;
  const waiting = await db.query<{ id: string; recipient: string }>(
    `select id, recipient from messages where batch_id = $1 and status = 'held' and send_at is null`,
    [review.batch_id],
  );
  const base = review.send_at && review.send_at > now ? review.send_at : now;
  // Quiet hours at approval always hold (even for a tenant that refuses at intake): the batch
  // was accepted, and the tenant has waited for the review already.
  const sendAts = waiting.rows.map((m) => {
    const at = quiet.enabled ? nextOpening(base, zonesOf(m.recipient), quiet) : base;
    return at.getTime() > now.getTime() ? at : null;
  });
  await db.query(
    `update messages m set status = case when u.s is null then 'queued' else 'held' end,
            send_at = u.s, queued_at = case when u.s is null then $3::timestamptz end,
            next_attempt_at = coalesce(u.s, $3::timestamptz), updated_at = $3
       from unnest($1::bigint[], $2::timestamptz[]) as u(id, s)
      where m.id = u.id and m.status = 'held'`,
    [waiting.rows.map((m) => m.id), sendAts, now],
  );
  await db.query(
    `update marketing_reviews set status = 'approved', decided_at = $2, decided_by = $3 where batch_id = $1`,
    [review.batch_id, now, by],
  );
  const queued = sendAts.filter((s) => s === null).length;
  return { queued, held: sendAts.length - queued };
}

/** Rejection: the batch's waiting messages are canceled with the reason. Answers how many. */
export async function cancelRejectedBatch(
  db: Queryable,
  { batchId, by, reason, now }: { batchId: number; by: string; reason: string; now: Date },
): Promise<number> {
  const canceled = await db.query(
    `update messages set status = 'canceled', canceled_at = $2, done_at = $2, updated_at = $2,
            error_code = $3, error_detail = $4
      where batch_id = $1 and status = 'held'`,
    [batchId, now, REVIEW_REJECTED_CODE, reason],
  );
  await db.query(
    `update marketing_reviews set status = 'rejected', decided_at = $2, decided_by = $3, reason = $4
      where batch_id = $1`,
    [batchId, now, by, reason],
  );
  return canceled.rowCount ?? 0;
}

/** The review as the tenant's batch view shows it. */
export function reviewView(row: ReviewRow | null) {
  if (!row) return null;
  return {
    status: row.status,
    submitted_at: row.submitted_at.toISOString(),
    expected_by: row.expected_by.toISOString(),
    decided_at: row.decided_at?.toISOString() ?? null,
    reason: row.reason,
  };
}
