// A channel's circuit-breaker settings, read and changed the same way from the operator API
// (/v1/operator/channels/:id/breaker) and from `hongyan route breaker`: checked here (one code,
// routing.invalid_breaker), written with their audit row in one transaction, and read by every
// worker at its next channel sync (no restart, no rebind: the bind settings do not change).
import type { Kysely } from 'kysely';
import { inTransaction, queryableOf } from '../../../db/queryable.ts';
import type { Database } from '../../../db/schema.ts';
import { audit } from '../../accounts/audit.ts';
import { channelNotFound } from '../../channels/channels.errors.ts';
import { channelKey } from '../../channels/channels.models.ts';
import { type ChangedBy, lockChannel } from '../../channels/channels.usecases.ts';
import { invalidBreaker } from '../routing.errors.ts';
import { DEFAULT_BREAKER } from './health.models.ts';
import { HEALTH_WINDOW } from './health.monitor.ts';

export interface BreakerPatch {
  degradeBelow?: number;
  recoverAbove?: number;
  probeShare?: number;
  channelSpecificCodes?: string[];
}

export interface BreakerView {
  channel_id: number;
  channel: string;
  /** Degraded when its delivery rate falls below this (0..1). */
  degrade_below: number;
  /** Back when the rate of what it carried since the switch reaches this (>= degrade_below). */
  recover_above: number;
  /** Share of the traffic that still probes it while degraded (0..0.5). */
  probe_share: number;
  /** Carrier codes meaning this channel cannot carry the message: retried once elsewhere. */
  channel_specific_codes: string[];
  /** How the rate is judged (fixed in this version, shown so that operators can read a switch). */
  window: number;
  min_receipts: number;
  probe_window: number;
  submit_errors_above: number;
  /** The quick rule: each of these newest-receipt counts judged alone, at this confidence. */
  quick_receipts: number[];
  quick_confidence: number;
}

const CODE = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_CODES = 50;

/** What is wrong with a breaker's settings once the patch is applied (empty: nothing). */
export function breakerProblems(next: Required<BreakerPatch>): string[] {
  const problems: string[] = [];
  const share = (name: string, v: number, max: number) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max)
      problems.push(`${name}: a number from 0 to ${max}`);
    // numeric(4,3): a finer value would be rounded silently.
    else if (Math.abs(v * 1000 - Math.round(v * 1000)) > 1e-9)
      problems.push(`${name}: at most 3 decimals (0.925)`);
  };
  share('degrade_below', next.degradeBelow, 1);
  share('recover_above', next.recoverAbove, 1);
  // More than half would make a degraded channel carry most of the traffic.
  share('probe_share', next.probeShare, 0.5);
  if (problems.length === 0 && next.recoverAbove < next.degradeBelow)
    problems.push('recover_above: at least degrade_below (the hysteresis that keeps it from flapping)');
  if (next.channelSpecificCodes.length > MAX_CODES)
    problems.push(`channel_specific_codes: at most ${MAX_CODES}`);
  const bad = next.channelSpecificCodes.filter((c) => !CODE.test(c));
  if (bad.length > 0)
    problems.push(
      `channel_specific_codes: ${bad.map((c) => JSON.stringify(c)).join(', ')} is not a code (letters, digits, "_", ".", ":", "-"; e.g. smpp.ESME_RSUBMITFAIL)`,
    );
  return problems;
}

type Row = {
  id: number;
  name: string;
  degrade_below: string;
  recover_above: string;
  probe_share: string;
  channel_specific_codes: string[];
};

function viewOf(r: Row): BreakerView {
  return {
    channel_id: r.id,
    channel: r.name,
    degrade_below: Number(r.degrade_below),
    recover_above: Number(r.recover_above),
    probe_share: Number(r.probe_share),
    channel_specific_codes: r.channel_specific_codes,
    window: HEALTH_WINDOW,
    min_receipts: DEFAULT_BREAKER.minSamples,
    probe_window: DEFAULT_BREAKER.probeWindow,
    submit_errors_above: DEFAULT_BREAKER.submitErrorsAbove,
    quick_receipts: [...DEFAULT_BREAKER.quickSamples],
    quick_confidence: 0.999,
  };
}

const COLUMNS = [
  'id',
  'name',
  'degrade_below',
  'recover_above',
  'probe_share',
  'channel_specific_codes',
] as const;

export async function readBreaker({
  db,
  nameOrId,
}: {
  db: Kysely<Database>;
  nameOrId: string;
}): Promise<BreakerView> {
  const key = channelKey(nameOrId);
  const row = await db
    .selectFrom('channels')
    .select(COLUMNS)
    .where(key.column, '=', key.value)
    .executeTakeFirst();
  if (!row) throw channelNotFound();
  return viewOf(row);
}

/** Changes what the patch names; the rest keeps its value. Audited as channel.breaker_changed. */
export async function changeBreaker({
  db,
  nameOrId,
  patch,
  by,
}: {
  db: Kysely<Database>;
  nameOrId: string;
  patch: BreakerPatch;
  by: ChangedBy;
}): Promise<BreakerView> {
  return inTransaction(db, async (trx) => {
    const id = await lockChannel(trx, nameOrId);
    const before = await readBreaker({ db: trx, nameOrId: String(id) });
    const codes = patch.channelSpecificCodes?.map((c) => c.trim()).filter((c) => c !== '');
    const next = {
      degradeBelow: patch.degradeBelow ?? before.degrade_below,
      recoverAbove: patch.recoverAbove ?? before.recover_above,
      probeShare: patch.probeShare ?? before.probe_share,
      channelSpecificCodes: codes === undefined ? before.channel_specific_codes : [...new Set(codes)],
    };
    const problems = breakerProblems(next);
    if (problems.length > 0) throw invalidBreaker({ message: problems.join('; '), details: problems });
    const row = await trx
      .updateTable('channels')
      .set({
        degrade_below: next.degradeBelow,
        recover_above: next.recoverAbove,
        probe_share: next.probeShare,
        channel_specific_codes: next.channelSpecificCodes,
      })
      .where('id', '=', id)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    const after = viewOf(row);
    const settings = (v: BreakerView) => ({
      degrade_below: v.degrade_below,
      recover_above: v.recover_above,
      probe_share: v.probe_share,
      channel_specific_codes: v.channel_specific_codes,
    });
    await audit(queryableOf(trx), {
      actor: by.actor,
      action: 'channel.breaker_changed',
      target: `channel:${id}`,
      before: settings(before),
      after: settings(after),
      ip: by.ip ?? null,
    });
    return after;
  });
}
