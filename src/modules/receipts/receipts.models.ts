// Pure rules of receipt matching: how a receipt's carrier id is read under a channel's id
// convention, which message a set of look-up hits names, how `auto` learns a convention, and how
// the parts' states make a message's outcome. No I/O: the SQL and the ingest apply these.
import type { ReceiptState } from '../../smpp/receipt.ts';
import type { IdConvention } from '../channels/channels.models.ts';

export type FixedIdConvention = Exclude<IdConvention, 'auto'>;
export const FIXED_ID_CONVENTIONS: readonly FixedIdConvention[] = [
  'as-is',
  'hex-resp-decimal-receipt',
  'decimal-resp-hex-receipt',
];

/** Longer ids are not numbers anyone converts; capping keeps BigInt work trivial. */
const MAX_NUMERIC_ID_LENGTH = 64;

/**
 * The submit_sm_resp ids that a receipt's id names under one convention: exactly one reading of
 * the id (one number, or the string itself), in the spellings a carrier may use for it (hex in
 * lower and upper case). Empty when the id cannot be read that way (`x1` is not decimal): such a
 * receipt names no message and is parked, never tried another way.
 */
export function responseIdsOf(receiptId: string, convention: FixedIdConvention): string[] {
  if (convention === 'as-is') return [receiptId];
  const id = receiptId.trim();
  if (id === '' || id.length > MAX_NUMERIC_ID_LENGTH) return [];
  if (convention === 'hex-resp-decimal-receipt') {
    if (!/^[0-9]+$/.test(id)) return [];
    const hex = BigInt(id).toString(16);
    return hex === hex.toUpperCase() ? [hex] : [hex, hex.toUpperCase()];
  }
  const digits = id.replace(/^0x/i, '');
  if (!/^[0-9a-f]+$/i.test(digits)) return [];
  return [BigInt(`0x${digits}`).toString(10)];
}

/**
 * The conventions a receipt is read under: the channel's own, what `auto` learned, or — while
 * `auto` is still learning — all three, each as its own reading.
 */
export function readingsFor(
  convention: IdConvention,
  learned: FixedIdConvention | null,
): readonly FixedIdConvention[] {
  if (convention !== 'auto') return [convention];
  return learned === null ? FIXED_ID_CONVENTIONS : [learned];
}

/** One message (part) found by one reading of a receipt's id. */
export interface ReadingHit {
  convention: FixedIdConvention;
  messageId: number;
  /** 0 for a single-part message, else the part number (1-based). */
  partNo: number;
  /** The message still awaits this receipt (`sent` or `unknown`, the part not yet final). */
  awaiting: boolean;
}

export type Resolution =
  | { kind: 'match'; messageId: number; partNo: number }
  | { kind: 'none' }
  /** Two readings name two different messages: applied to neither. */
  | { kind: 'ambiguous' }
  /** `auto` is still learning: one message found, by these readings only. */
  | { kind: 'evidence'; messageId: number; partNo: number; conventions: FixedIdConvention[] };

/**
 * Within one reading, several rows mean the carrier reused an id (sequential ids wrap): the
 * newest message still awaiting a receipt owns it, else the newest (whose receipt is then a
 * duplicate, recorded as such).
 */
function pickWithinReading(hits: ReadingHit[]): ReadingHit | undefined {
  let best: ReadingHit | undefined;
  for (const h of hits) {
    if (
      best === undefined ||
      (h.awaiting && !best.awaiting) ||
      (h.awaiting === best.awaiting && h.messageId > best.messageId)
    )
      best = h;
  }
  return best;
}

/**
 * Which message a receipt names, from the hits of its readings. With one reading (a set or a
 * learned convention) that reading decides. While `auto` learns, a receipt is never applied: if
 * its readings name two messages it is ambiguous, if one, that is evidence for the readings that
 * found it (the receipt waits, parked, until the convention is learned) — because the message a
 * receipt really names may not be written yet (it overtook its submit_sm_resp), and the one
 * another reading finds is then someone else's.
 */
export function resolveReceipt(hits: ReadingHit[], readings: readonly FixedIdConvention[]): Resolution {
  const picked = readings
    .map((c) => pickWithinReading(hits.filter((h) => h.convention === c)))
    .filter((h): h is ReadingHit => h !== undefined);
  if (picked.length === 0) return { kind: 'none' };
  if (readings.length === 1)
    return { kind: 'match', messageId: picked[0]!.messageId, partNo: picked[0]!.partNo };
  const messages = new Set(picked.map((h) => `${h.messageId}:${h.partNo}`));
  if (messages.size > 1) return { kind: 'ambiguous' };
  return {
    kind: 'evidence',
    messageId: picked[0]!.messageId,
    partNo: picked[0]!.partNo,
    conventions: picked.map((h) => h.convention),
  };
}

export type Votes = Record<FixedIdConvention, number>;

export function noVotes(): Votes {
  return { 'as-is': 0, 'hex-resp-decimal-receipt': 0, 'decimal-resp-hex-receipt': 0 };
}

/**
 * Adds one piece of evidence. A message found by several readings at once (the id `7` reads the
 * same every way) tells nothing and counts for none.
 */
export function addEvidence(votes: Votes, conventions: readonly FixedIdConvention[]): Votes {
  if (conventions.length !== 1) return votes;
  const c = conventions[0]!;
  return { ...votes, [c]: votes[c] + 1 };
}

export const LEARN_MIN_VOTES = 20;
/** The winner must outnumber all other evidence together by this factor. */
export const LEARN_MARGIN = 4;

/**
 * The convention the evidence settles on, or null while it does not. A receipt that overtook its
 * own submit result can find another message through a wrong reading and vote for it, so one
 * vote decides nothing: it takes LEARN_MIN_VOTES for one convention and a LEARN_MARGIN lead over
 * all the others together (measured on the reported SMSC, ~15% of receipts overtook their write).
 */
export function learnedConvention(votes: Votes): FixedIdConvention | null {
  let best: FixedIdConvention | null = null;
  let total = 0;
  for (const c of FIXED_ID_CONVENTIONS) {
    total += votes[c];
    if (best === null || votes[c] > votes[best]) best = c;
  }
  if (best === null) return null;
  const winner = votes[best];
  const others = total - winner;
  return winner >= LEARN_MIN_VOTES && winner >= LEARN_MARGIN * others ? best : null;
}

export type FinalReceiptState = 'delivered' | 'undelivered' | 'expired' | 'rejected' | 'unknown';

/**
 * The outcome a receipt state gives its message or part. `enroute` and `accepted` are progress
 * reports (carriers use ACCEPTD for "taken by the handset's network"), so they give none.
 * `unknown` (also every unrecognised stat) is recorded but stays replaceable: a later final
 * receipt for the same message or part overrides it.
 */
export function finalStateOf(state: ReceiptState): FinalReceiptState | null {
  switch (state) {
    case 'delivered':
      return 'delivered';
    case 'undeliverable':
    case 'deleted':
      return 'undelivered';
    case 'expired':
      return 'expired';
    case 'rejected':
      return 'rejected';
    case 'unknown':
      return 'unknown';
    default:
      return null;
  }
}

/** The carrier's own code, kept as it came: `carrier.UNDELIV.034`. Null for a delivery. */
export function receiptErrorCode(state: FinalReceiptState, stat: string, err: string | undefined) {
  if (state === 'delivered') return null;
  return `carrier.${stat.toUpperCase()}${err ? `.${err}` : ''}`;
}

/** A receipt that may replace the recorded state: none yet, or only `unknown`. */
export function canReplace(recorded: FinalReceiptState | null): boolean {
  return recorded === null || recorded === 'unknown';
}

export interface PartOutcome {
  partNo: number;
  /** How many of the message's parts this row stands for (parts given one carrier id). */
  covers: number;
  state: FinalReceiptState | null;
  errorCode: string | null;
}

/**
 * A multi-part message's outcome from every part's state (not only those in the latest batch):
 * final when every part has a state, `delivered` only if every part was; otherwise the state and
 * carrier code of the lowest-numbered part that was not delivered. The SQL in receipts.sql.ts
 * computes the same; this is its specification and test oracle.
 */
export function messageOutcome(
  parts: PartOutcome[],
  total: number,
): {
  delivered: number;
  failed: number;
  status: FinalReceiptState | null;
  errorCode: string | null;
} {
  let delivered = 0;
  let failed = 0;
  let firstFailed: PartOutcome | undefined;
  for (const p of [...parts].sort((a, b) => a.partNo - b.partNo)) {
    if (p.state === 'delivered') delivered += p.covers;
    else if (p.state !== null) {
      failed += p.covers;
      firstFailed ??= p;
    }
  }
  if (delivered + failed < total) return { delivered, failed, status: null, errorCode: null };
  if (firstFailed === undefined) return { delivered, failed, status: 'delivered', errorCode: null };
  return { delivered, failed, status: firstFailed.state, errorCode: firstFailed.errorCode };
}

export interface PartRow {
  channelId: number;
  carrierId: string;
  messageId: number;
  partNo: number;
  covers: number;
}

/**
 * The message_parts rows for a batch of submit results, one per (channel, carrier id), so the
 * upsert never sees one key twice (PostgreSQL refuses that, and the recorder used to retry the
 * batch for ever). Parts of one message that share an id become one row on the first of them,
 * covering them all: one receipt then answers for all. When two messages got one id, the newer
 * (higher id) keeps it, as a later batch's upsert would; the other ends `unknown` at the window.
 * Rows come sorted by key so that concurrent upserts lock in one order.
 */
export function partRowsOf(results: { id: number; channelId: number; carrierIds: string[] }[]): PartRow[] {
  const rows = new Map<string, PartRow>();
  for (const r of results) {
    if (r.carrierIds.length < 2) continue;
    const own = new Map<string, PartRow>();
    r.carrierIds.forEach((carrierId, i) => {
      const mine = own.get(carrierId);
      if (mine) mine.covers++;
      else
        own.set(carrierId, { channelId: r.channelId, carrierId, messageId: r.id, partNo: i + 1, covers: 1 });
    });
    for (const row of own.values()) {
      const key = `${row.channelId}:${row.carrierId}`;
      const other = rows.get(key);
      if (other === undefined || other.messageId < row.messageId) rows.set(key, row);
    }
  }
  return [...rows.values()].sort(
    (a, b) =>
      a.channelId - b.channelId || (a.carrierId < b.carrierId ? -1 : a.carrierId > b.carrierId ? 1 : 0),
  );
}

/**
 * Of several receipts in one batch for the same message part, the one to apply: a final state
 * over `unknown`, then the latest to arrive. The others are duplicates. Returns the indexes kept.
 */
export function keepOnePerPart(
  matched: { index: number; messageId: number; partNo: number; state: FinalReceiptState }[],
): Set<number> {
  const best = new Map<string, (typeof matched)[number]>();
  for (const m of matched) {
    const key = `${m.messageId}:${m.partNo}`;
    const cur = best.get(key);
    if (cur === undefined || !(m.state === 'unknown' && cur.state !== 'unknown')) best.set(key, m);
  }
  return new Set([...best.values()].map((m) => m.index));
}
