// The admission steps of recipient protection (see messages/admission.ts): they run inside the
// insert transaction of every insert path and refuse rows by themselves.
//   100 compliance.lists      platform and tenant blacklists, the tenant's opt-outs
//   150 compliance.quiet_hours marketing outside the recipient's daytime: held (the row's send_at
//                              moves to the window's opening) or refused, per tenant
//   200 limit.frequency       per-recipient rolling-window caps, counted in `messages` itself under
//                              advisory locks per bucket of recipients, so N concurrent sends admit
//                              exactly the allowed count, across processes (no send log to write:
//                              the admitted rows are what the next group counts)
//   300 compliance.marketing_review  after insert: a marketing batch's messages wait for review
// Quiet hours is a step that adjusts rows rather than a function the use case applies, so that
// it holds on every insert path alike (single, grouped, idempotent, batch) with one read of the
// tenants' settings per group.
import type { AdmissionContext, AdmissionStep } from '../../messages/admission.ts';
import type { NewMessageRow } from '../../messages/messages.repository.ts';
import type { AppError } from '../../../shared/errors.ts';
import { blacklisted, optedOut, quietHours, recipientFrequency } from './protection.errors.ts';
import { type CapWindow, LONGEST_WINDOW_MS, listVerdict, trippedWindow } from './protection.models.ts';
import {
  countRecentSends,
  findAllowlisted,
  findFirstIdSince,
  findListHits,
  keyOf,
  lockRecipients,
  readSettings,
  readSettingsAndAllowlists,
} from './protection.sql.ts';
import { nextOpening, zonesOf } from './quiet-hours.models.ts';
import { holdForReview } from './review.sql.ts';

const distinct = <T>(values: T[]) => [...new Set(values)];

/** With allOrNothing, one refusal refuses every row (with the first refusal's error). */
function settle(verdicts: (AppError | null)[], context: AdmissionContext): (AppError | null)[] {
  if (!context.allOrNothing) return verdicts;
  const first = verdicts.find((v) => v !== null);
  return first ? verdicts.map(() => first) : verdicts;
}

export const listsStep: AdmissionStep = {
  name: 'compliance.lists',
  order: 100,
  async check(client, rows, context) {
    const hits = await findListHits(client, {
      phones: distinct(rows.map((r) => r.recipient)),
      tenantIds: distinct(rows.map((r) => r.tenantId)),
    });
    if (hits.size === 0) return rows.map(() => null);
    const verdicts = rows.map((row) => {
      const found = hits.get(keyOf(row.tenantId, row.recipient));
      const verdict = found ? listVerdict(found, row.type) : null;
      if (verdict === null) return null;
      if (verdict === 'opt_out') return optedOut();
      return blacklisted({
        details: { list: verdict === 'platform_blacklist' ? 'platform' : 'tenant' },
      });
    });
    return settle(verdicts, context);
  },
};

export const quietHoursStep: AdmissionStep = {
  name: 'compliance.quiet_hours',
  order: 150,
  async check(client, rows, context) {
    const marketing = rows.filter((r) => r.type === 'marketing');
    if (marketing.length === 0) return rows.map(() => null);
    const settings = await readSettings(client, distinct(marketing.map((r) => r.tenantId)));
    const verdicts = rows.map((row) => {
      if (row.type !== 'marketing') return null;
      const quiet = settings.get(row.tenantId)!.quiet_hours;
      if (!quiet.enabled) return null;
      const due = row.sendAt ?? context.now;
      const opening = nextOpening(due, zonesOf(row.recipient), quiet);
      if (opening.getTime() === due.getTime()) return null;
      if (quiet.action === 'reject')
        return quietHours({ details: { window: { start: quiet.start, end: quiet.end }, opens_at: opening } });
      // Held until the window opens: the insert makes a row with a send_at `held`, and the
      // scheduler releases it then. The row object is the one the insert writes.
      (row as NewMessageRow).sendAt = opening;
      return null;
    });
    return settle(verdicts, context);
  },
};

export const frequencyCapStep: AdmissionStep = {
  name: 'limit.frequency',
  order: 200,
  async check(client, rows, context) {
    const { settings, withAllowlist } = await readSettingsAndAllowlists(
      client,
      distinct(rows.map((r) => r.tenantId)),
    );
    const capped = (row: NewMessageRow) => {
      const limits = settings.get(row.tenantId)!.caps[row.type as 'marketing'];
      return limits !== undefined && (limits.minute ?? limits.hour ?? limits.day) !== null;
    };
    let candidates = rows.filter(capped);
    if (candidates.length === 0) return rows.map(() => null);
    if (withAllowlist.length > 0) {
      const allowed = await findAllowlisted(client, {
        phones: distinct(candidates.map((r) => r.recipient)),
        tenantIds: withAllowlist,
      });
      candidates = candidates.filter((r) => !allowed.has(keyOf(r.tenantId, r.recipient)));
      if (candidates.length === 0) return rows.map(() => null);
    }
    await lockRecipients(client, distinct(candidates.map((r) => keyOf(r.tenantId, r.recipient))));
    // Counted after the locks: under READ COMMITTED this statement sees every message a previous
    // holder of one of these buckets committed, so the group counts what was admitted before it.
    const keys = new Map<string, { tenantId: number; phone: string; type: string }>();
    for (const r of candidates)
      keys.set(`${keyOf(r.tenantId, r.recipient)}|${r.type}`, {
        tenantId: r.tenantId,
        phone: r.recipient,
        type: r.type,
      });
    const counted = await countRecentSends(client, {
      keys: [...keys.values()],
      now: context.now,
      firstId: await findFirstIdSince(client, new Date(context.now.getTime() - LONGEST_WINDOW_MS)),
    });
    const counts = new Map<string, Record<CapWindow, number>>();
    for (const c of counted)
      counts.set(`${keyOf(c.tenantId, c.phone)}|${c.type}`, { minute: c.minute, hour: c.hour, day: c.day });
    const check = new Set(candidates);
    const verdicts = rows.map((row) => {
      if (!check.has(row)) return null;
      const key = `${keyOf(row.tenantId, row.recipient)}|${row.type}`;
      const current = counts.get(key) ?? { minute: 0, hour: 0, day: 0 };
      const limits = settings.get(row.tenantId)!.caps[row.type as 'marketing'];
      const tripped = trippedWindow(limits, current);
      if (tripped) {
        return recipientFrequency({
          message: `The recipient's ${row.type} cap of ${tripped.limit} per ${tripped.window} is reached.`,
          details: { window: tripped.window, limit: tripped.limit, type: row.type },
        });
      }
      // Rows of the same group to the same number count against each other.
      counts.set(key, { minute: current.minute + 1, hour: current.hour + 1, day: current.day + 1 });
      return null;
    });
    return settle(verdicts, context);
  },
};

export function marketingReviewStep(): AdmissionStep {
  return {
    name: 'compliance.marketing_review',
    order: 300,
    async check(_client, rows) {
      return rows.map(() => null);
    },
    async afterInsert(client, rows, inserted, context) {
      const held = await holdForReview(client, { rows, inserted, now: context.now });
      // The answer tells the tenant its messages wait (held), not that they are queued.
      for (const i of held) inserted[i]!.status = 'held';
    },
  };
}

/** Every step of recipient protection, for app/context.ts to register. */
export function protectionSteps(): AdmissionStep[] {
  return [listsStep, quietHoursStep, frequencyCapStep, marketingReviewStep()];
}
