// A receipt's journey after parsing: read its carrier id under the channel's convention, find the
// one message it names, apply it (or record it as a duplicate), else park it; later, retry the
// parked ones. Each function runs in the caller's transaction, so a batch is applied, recorded,
// parked and counted together or not at all (and then the carrier resends it).
import type pg from 'pg';
import {
  type FinalReceiptState,
  type FixedIdConvention,
  keepOnePerPart,
  type Resolution,
  resolveReceipt,
  responseIdsOf,
} from './receipts.models.ts';
import {
  applyPartReceipts,
  applySinglePartReceipts,
  applySinglePartReceiptsCounted,
  addReceiptCounts,
  deleteParkedReceipts,
  findReceiptHits,
  lockMessagesForParts,
  noCounts,
  parkReceipts,
  type ReceiptCounts,
  type ReceiptLookup,
  recordDuplicateReceipts,
  selectParkedReceipts,
} from './receipts.sql.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface ReceiptInput {
  channelId: number;
  /** The id as the receipt gives it. */
  carrierId: string;
  state: FinalReceiptState;
  errorCode: string | null;
  doneAt: Date;
}

export interface KnownPart {
  messageId: number;
  /** 0 for a single-part message, else the part number (1-based). */
  partNo: number;
}

/** The readings a channel's receipts get: one, or all three while `auto` is learning. */
export type ReadingsOf = (channelId: number) => readonly FixedIdConvention[];

/** A message found by one reading only while `auto` was learning: a vote for that reading. */
export interface Evidence {
  channelId: number;
  parkedId: number;
  conventions: FixedIdConvention[];
}

function countsFor(counts: Map<number, ReceiptCounts>, channelId: number): ReceiptCounts {
  let c = counts.get(channelId);
  if (!c) counts.set(channelId, (c = noCounts()));
  return c;
}

/** Every response id a receipt may name under its readings: the hint stored with a parked one. */
function hintsOf(r: ReceiptInput, readings: readonly FixedIdConvention[]): string[] {
  const hints = new Set(readings.flatMap((c) => responseIdsOf(r.carrierId, c)));
  return hints.size > 0 ? [...hints] : [r.carrierId];
}

async function resolveAll(
  db: Queryable,
  receipts: ReceiptInput[],
  readingsOf: ReadingsOf,
  known?: (channelId: number, responseId: string) => KnownPart | undefined,
  lookUpWhileLearning = true,
): Promise<Resolution[]> {
  const resolutions: Resolution[] = receipts.map(() => ({ kind: 'none' }));
  const lookups: ReceiptLookup[] = [];
  receipts.forEach((r, ord) => {
    const readings = readingsOf(r.channelId);
    if (readings.length > 1 && !lookUpWhileLearning) return;
    if (readings.length === 1 && known) {
      for (const id of responseIdsOf(r.carrierId, readings[0]!)) {
        const hit = known(r.channelId, id);
        if (hit) {
          resolutions[ord] = { kind: 'match', ...hit };
          return;
        }
      }
    }
    for (const convention of readings)
      for (const responseId of responseIdsOf(r.carrierId, convention))
        lookups.push({ ord, channelId: r.channelId, convention, responseId });
  });
  if (lookups.length === 0) return resolutions;
  const hits = await findReceiptHits(db, lookups);
  const byOrd = new Map<number, typeof hits>();
  for (const h of hits) {
    const list = byOrd.get(h.ord);
    if (list) list.push(h);
    else byOrd.set(h.ord, [h]);
  }
  for (const [ord, list] of byOrd)
    resolutions[ord] = resolveReceipt(list, readingsOf(receipts[ord]!.channelId));
  return resolutions;
}

/**
 * Applies the matched receipts. Of two for one part in the batch, one counts (keepOnePerPart);
 * one whose message or part could not take it is recorded in receipt_duplicates. Returns the
 * indexes applied and the indexes recorded as duplicates.
 */
async function applyMatched(
  db: Queryable,
  receipts: ReceiptInput[],
  resolutions: Resolution[],
  now: Date,
): Promise<{ applied: Set<number>; duplicates: Set<number> }> {
  const matched: { index: number; messageId: number; partNo: number; state: FinalReceiptState }[] = [];
  resolutions.forEach((res, index) => {
    if (res.kind === 'match')
      matched.push({ index, messageId: res.messageId, partNo: res.partNo, state: receipts[index]!.state });
  });
  const kept = keepOnePerPart(matched);
  const row = (m: (typeof matched)[number]) => ({
    messageId: m.messageId,
    partNo: m.partNo,
    state: m.state,
    errorCode: receipts[m.index]!.errorCode,
    doneAt: receipts[m.index]!.doneAt,
  });
  const single = matched.filter((m) => kept.has(m.index) && m.partNo === 0);
  const multi = matched.filter((m) => kept.has(m.index) && m.partNo > 0);
  const singleDone = await applySinglePartReceipts(db, { rows: single.map(row), now });
  await lockMessagesForParts(
    db,
    [...new Set(multi.map((m) => m.messageId))].sort((a, b) => a - b),
  );
  const partsDone = await applyPartReceipts(db, { rows: multi.map(row), now });
  const applied = new Set<number>();
  const duplicates = new Set<number>();
  const duplicateRows = [];
  for (const m of matched) {
    const done = m.partNo === 0 ? singleDone.has(m.messageId) : partsDone.has(`${m.messageId}:${m.partNo}`);
    if (kept.has(m.index) && done) {
      applied.add(m.index);
    } else {
      duplicates.add(m.index);
      const r = receipts[m.index]!;
      duplicateRows.push({ ...row(m), channelId: r.channelId, carrierId: r.carrierId });
    }
  }
  await recordDuplicateReceipts(db, { rows: duplicateRows, now });
  return { applied, duplicates };
}

/**
 * Applies a batch of newly received receipts; those that name no message (yet) are parked. While
 * a channel's `auto` convention is still learning, its receipts are parked without a look-up:
 * the sweeper's retries gather the evidence (see resolveReceipt).
 */
export async function applyReceipts(
  db: Queryable,
  {
    receipts,
    now,
    readingsOf,
    known,
    slot = 0,
  }: {
    receipts: ReceiptInput[];
    now: Date;
    readingsOf: ReadingsOf;
    /** This node's memory of the response ids it recorded, to skip the look-up. */
    known?: (channelId: number, responseId: string) => KnownPart | undefined;
    /** The receipt_counters slot this batch adds to. */
    slot?: number;
  },
) {
  if (receipts.length === 0) return { applied: 0, parked: 0, duplicate: 0 };
  const resolutions = await resolveAll(db, receipts, readingsOf, known, false);
  const { applied } = await applyMatched(db, receipts, resolutions, now);
  const toPark = receipts.flatMap((_, i) => (resolutions[i]!.kind === 'match' ? [] : [i]));
  const parkedOf = await parkReceipts(db, {
    rows: toPark.map((i) => ({
      ...receipts[i]!,
      hints: hintsOf(receipts[i]!, readingsOf(receipts[i]!.channelId)),
    })),
    now,
  });
  // A receipt not parked because a copy of it already waits is a duplicate, like one of a final message.
  const parked = new Set([...parkedOf].map((k) => toPark[k]!));
  const counts = new Map<number, ReceiptCounts>();
  receipts.forEach((r, i) => {
    const c = countsFor(counts, r.channelId);
    c.received++;
    if (applied.has(i)) c.applied++;
    else if (parked.has(i)) c.parked++;
    else c.duplicate++;
  });
  await addReceiptCounts(db, { counts, slot });
  return {
    applied: applied.size,
    parked: parked.size,
    duplicate: receipts.length - applied.size - parked.size,
  };
}

/**
 * applyReceipts for the common batch in one statement: every receipt names, under its channel's
 * one reading, a single-part message this node recorded (`known`), each message once. Null for
 * any other batch (the caller runs applyReceipts in a transaction). One round trip instead of
 * four (begin, apply, count, commit): the carrier sends the next receipts only as fast as we
 * acknowledge these, after the write.
 */
export async function applyKnownReceipts(
  db: Queryable,
  {
    receipts,
    now,
    readingsOf,
    known,
    slot,
  }: {
    receipts: ReceiptInput[];
    now: Date;
    readingsOf: ReadingsOf;
    known: (channelId: number, responseId: string) => KnownPart | undefined;
    slot: number;
  },
): Promise<{ applied: number; parked: number; duplicate: number } | null> {
  const rows: (ReceiptInput & { messageId: number; partNo: number })[] = [];
  const seen = new Set<number>();
  for (const r of receipts) {
    const readings = readingsOf(r.channelId);
    if (readings.length !== 1) return null;
    let hit: KnownPart | undefined;
    for (const id of responseIdsOf(r.carrierId, readings[0]!)) if ((hit = known(r.channelId, id))) break;
    if (!hit || hit.partNo !== 0 || seen.has(hit.messageId)) return null;
    seen.add(hit.messageId);
    rows.push({ ...r, ...hit });
  }
  if (rows.length === 0) return null;
  const applied = await applySinglePartReceiptsCounted(db, { rows, now, slot });
  return { applied: applied.size, parked: 0, duplicate: rows.length - applied.size };
}

/**
 * Retries parked receipts against the messages recorded since (with `responseIds`, only those
 * that may name one of these just-written ids). A receipt older than the receipt window is
 * dropped and counted as expired: its message has become `unknown`. Ambiguous receipts stay
 * parked; while `auto` learns, each single-reading match is returned as evidence.
 */
export async function retryParkedReceipts(
  db: Queryable,
  {
    now,
    windowHours,
    readingsOf,
    limit = 2000,
    responseIds,
    slot = 0,
  }: {
    now: Date;
    windowHours: number;
    readingsOf: ReadingsOf;
    limit?: number;
    responseIds?: string[];
    slot?: number;
  },
) {
  const parked = await selectParkedReceipts(db, { limit, ...(responseIds ? { responseIds } : {}) });
  if (parked.length === 0)
    return { applied: 0, duplicate: 0, expired: 0, seen: 0, evidence: [] as Evidence[] };
  const receipts: ReceiptInput[] = parked.map((p) => ({ ...p, doneAt: p.doneAt ?? now }));
  const resolutions = await resolveAll(db, receipts, readingsOf);
  const { applied, duplicates } = await applyMatched(db, receipts, resolutions, now);
  const oldest = now.getTime() - windowHours * 3600_000;
  const expired = parked.filter(
    (p, i) => !applied.has(i) && !duplicates.has(i) && p.receivedAt.getTime() < oldest,
  );
  await deleteParkedReceipts(db, [
    ...parked.filter((_, i) => applied.has(i) || duplicates.has(i)).map((p) => p.id),
    ...expired.map((p) => p.id),
  ]);
  const counts = new Map<number, ReceiptCounts>();
  parked.forEach((p, i) => {
    if (applied.has(i)) countsFor(counts, p.channelId).applied++;
    if (duplicates.has(i)) countsFor(counts, p.channelId).duplicate++;
  });
  for (const p of expired) countsFor(counts, p.channelId).expired++;
  await addReceiptCounts(db, { counts, slot });
  const evidence: Evidence[] = [];
  resolutions.forEach((res, i) => {
    if (res.kind === 'evidence')
      evidence.push({
        channelId: parked[i]!.channelId,
        parkedId: parked[i]!.id,
        conventions: res.conventions,
      });
  });
  return {
    applied: applied.size,
    duplicate: duplicates.size,
    expired: expired.length,
    seen: parked.length,
    evidence,
  };
}
