// What the operator's review queues of signatures and templates share, pure: the decision an
// operator makes on one pending item, and what a queue item adds to its kind's view.
import { type ComplianceSettings, type ReviewKind, reviewTimingFor } from './settings/settings.models.ts';

/** An operator's decision on one pending item. */
export interface ReviewDecision {
  id: number;
  approve: boolean;
  /** The reason the tenant sees; required for a rejection, null for an approval. */
  reason: string | null;
  by: string;
  now: Date;
}

/**
 * What a queue item adds to its kind's view: whose it is, its age in wall time and in working
 * minutes, its due time and whether it is overdue (the due time is also its expected decision).
 */
export function reviewQueueFields(
  row: { tenant_id: number; tenant_name: string; submitted_at: Date },
  kind: ReviewKind,
  settings: ComplianceSettings,
  now: Date,
) {
  const timing = reviewTimingFor(settings, kind, row.submitted_at, now);
  return {
    tenant_id: String(row.tenant_id),
    tenant_name: row.tenant_name,
    ...timing,
    decision_expected_by: timing.due_at,
  };
}
