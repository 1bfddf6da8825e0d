// What the simulated carrier decides for each submit and receipt, as pure functions of a profile
// and an injected random(): whether and how to answer, the outcome and its receipt delay, the
// message ids, throttling. Every decision draws from the same random(), so that a seeded
// generator replays a whole run.

import { CommandStatus, MessageState } from '../../smpp/constants.ts';
import type { ReceiptState } from '../../smpp/receipt.ts';
import type { IdFormat, LatencyRange, ProfileRates, SimulatorProfile } from './simulator.models.ts';

export type SubmitOutcome = 'accept' | 'no_response' | 'queue_full' | 'reject';

/** One draw splits [0,1) into slices: no response, queue full, reject, accept. */
export function decideSubmit(profile: ProfileRates, random: () => number): SubmitOutcome {
  const u = random();
  let edge = profile.noResponseRate;
  if (u < edge) return 'no_response';
  edge += profile.queueFullRate;
  if (u < edge) return 'queue_full';
  edge += profile.rejectRate;
  if (u < edge) return 'reject';
  return 'accept';
}

export function pickRejectStatus(profile: SimulatorProfile, random: () => number): number {
  const statuses = profile.rejectStatuses;
  if (statuses.length === 0) return CommandStatus.ESME_RSUBMITFAIL;
  return statuses[Math.floor(random() * statuses.length)] ?? statuses[0]!;
}

export type ReceiptStat = 'DELIVRD' | 'UNDELIV' | 'EXPIRED';

/** A message's final outcome. Shared constants: deciding one allocates nothing. */
export interface Fate {
  stat: ReceiptStat;
  /** The same outcome in the receipt module's terms (formatReceiptText). */
  state: ReceiptState;
  /** message_state TLV value. */
  messageState: number;
  /** The receipt's err: field; for failures also the GSM network_error_code. */
  err: number;
  /** err as the receipt text writes it: three digits. */
  errText: string;
}

export const DELIVERED: Fate = {
  stat: 'DELIVRD',
  state: 'delivered',
  messageState: MessageState.DELIVERED,
  err: 0,
  errText: '000',
};
// Absent subscriber: the handset stayed off until the validity period ran out.
export const EXPIRED: Fate = {
  stat: 'EXPIRED',
  state: 'expired',
  messageState: MessageState.EXPIRED,
  err: 27,
  errText: '027',
};

// GSM MAP errors that SMSCs report in UNDELIV receipts, weighted roughly as seen in traffic:
// absent subscriber dominates, then unknown subscriber (numbers no longer in service).
const undeliverable: readonly { fate: Fate; weight: number }[] = [
  {
    fate: {
      stat: 'UNDELIV',
      state: 'undeliverable',
      messageState: MessageState.UNDELIVERABLE,
      err: 27,
      errText: '027',
    },
    weight: 35,
  }, // absent subscriber
  {
    fate: {
      stat: 'UNDELIV',
      state: 'undeliverable',
      messageState: MessageState.UNDELIVERABLE,
      err: 1,
      errText: '001',
    },
    weight: 25,
  }, // unknown subscriber
  {
    fate: {
      stat: 'UNDELIV',
      state: 'undeliverable',
      messageState: MessageState.UNDELIVERABLE,
      err: 13,
      errText: '013',
    },
    weight: 15,
  }, // call barred
  {
    fate: {
      stat: 'UNDELIV',
      state: 'undeliverable',
      messageState: MessageState.UNDELIVERABLE,
      err: 31,
      errText: '031',
    },
    weight: 10,
  }, // subscriber busy
  {
    fate: {
      stat: 'UNDELIV',
      state: 'undeliverable',
      messageState: MessageState.UNDELIVERABLE,
      err: 11,
      errText: '011',
    },
    weight: 8,
  }, // teleservice not provisioned
  {
    fate: {
      stat: 'UNDELIV',
      state: 'undeliverable',
      messageState: MessageState.UNDELIVERABLE,
      err: 34,
      errText: '034',
    },
    weight: 7,
  }, // system failure
];
const undeliverableWeight = undeliverable.reduce((sum, u) => sum + u.weight, 0);
const UNKNOWN_SUBSCRIBER = undeliverable[1]!.fate;

/** Every fate a receipt can carry, by its code (fateCode), to read one back from stored state. */
const fatesByCode = new Map<string, Fate>(
  [DELIVERED, EXPIRED, ...undeliverable.map((u) => u.fate)].map((f) => [fateCode(f), f]),
);

/** A fate in a few characters, e.g. "UNDELIV:1", for the simulator's state file. */
export function fateCode(fate: Fate): string {
  return `${fate.stat}:${fate.err}`;
}

export function fateOfCode(code: string): Fate | undefined {
  return fatesByCode.get(code);
}

/**
 * The outcome for one recipient: UNDELIV (unknown subscriber) when its number ends with one of the
 * profile's undeliveredSuffixes, else drawn per the rates.
 */
export function fateFor(
  profile: Pick<
    SimulatorProfile,
    'deliveryRate' | 'expiredRate' | 'undeliveredSuffixes' | 'deliveryPhases' | 'prefixDeliveryRates'
  >,
  handset: string,
  random: () => number,
  /** Submits this simulator accepted before this one (for deliveryPhases). */
  acceptedBefore = 0,
): Fate {
  const suffixes = profile.undeliveredSuffixes;
  for (let i = 0; i < suffixes.length; i++) if (handset.endsWith(suffixes[i]!)) return UNKNOWN_SUBSCRIBER;
  const deliveryRate = deliveryRateFor(profile, handset, acceptedBefore);
  if (deliveryRate === profile.deliveryRate) return decideFate(profile, random);
  return decideFate({ deliveryRate, expiredRate: Math.min(profile.expiredRate, 1 - deliveryRate) }, random);
}

/** The delivery rate of one submit: the recipient's prefix rate, else the phase reached, else the profile's. */
export function deliveryRateFor(
  profile: Pick<SimulatorProfile, 'deliveryRate' | 'deliveryPhases' | 'prefixDeliveryRates'>,
  handset: string,
  acceptedBefore: number,
): number {
  const digits = handset.startsWith('+') ? handset.slice(1) : handset;
  let best: { prefix: string; deliveryRate: number } | undefined;
  for (const p of profile.prefixDeliveryRates ?? [])
    if (digits.startsWith(p.prefix) && (!best || p.prefix.length > best.prefix.length)) best = p;
  if (best) return best.deliveryRate;
  let rate = profile.deliveryRate;
  for (const phase of profile.deliveryPhases ?? [])
    if (acceptedBefore >= phase.afterAccepted) rate = phase.deliveryRate;
  return rate;
}

export function decideFate(
  profile: Pick<ProfileRates, 'deliveryRate' | 'expiredRate'>,
  random: () => number,
): Fate {
  const u = random();
  if (u < profile.deliveryRate) return DELIVERED;
  if (u < profile.deliveryRate + profile.expiredRate) return EXPIRED;
  let pick = random() * undeliverableWeight;
  for (const u of undeliverable) {
    pick -= u.weight;
    if (pick < 0) return u.fate;
  }
  return undeliverable[0]!.fate;
}

/**
 * A latency between min and max with its median at `median` and a long right tail: log-normal
 * with the max three standard deviations out, clamped. Two draws (Box-Muller).
 */
export function sampleLatencyMs(range: LatencyRange, random: () => number): number {
  const { min, median, max } = range;
  if (max <= min) return min;
  if (median <= 0) return min;
  const sigma = Math.log(Math.max(max, median + 1) / median) / 3;
  const u1 = Math.max(random(), Number.MIN_VALUE);
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * random());
  const value = median * Math.exp(sigma * z);
  return value < min ? min : value > max ? max : Math.round(value);
}

/** Does a message with this registered_delivery and fate get a receipt? (SMPP 3.4 5.2.17) */
export function wantsReceipt(registeredDelivery: number, fate: Fate): boolean {
  const smsc = registeredDelivery & 0x03;
  return smsc === 1 || (smsc === 2 && fate !== DELIVERED);
}

// ---- ids -----------------------------------------------------------------------------------------

/**
 * First message number of a run, for every id format but 'sequential'. Numbers grow from the start
 * time × 1000, so a restarted simulator never reissues a number that an earlier run gave (a client
 * would match a new receipt to an old message) unless the earlier run issued more than 1000 per
 * millisecond it lived.
 */
export function firstMessageNumber(nowMs: number): number {
  return Math.floor(nowMs) * 1000;
}

/** The first id of a carrier with sequential ids and no earlier state. */
export const FIRST_SEQUENTIAL_NUMBER = 1001;

/** Does this id format count from FIRST_SEQUENTIAL_NUMBER (its own counter, kept across restarts)? */
export function isSequential(format: IdFormat): boolean {
  return format === 'sequential';
}

const hex16 = (n: number) => n.toString(16).padStart(16, '0');

/** A 32-bit mix of the two halves of n (for the random-looking half of a UUID-like id). */
function mix32(lo: number, hi: number, seed: number): number {
  let h = Math.imul(lo ^ seed, 0x85ebca6b) ^ Math.imul(hi + seed, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A UUID-like id for message number n: 16 hex digits that look random, then n in 16 hex digits, in
 * 8-4-4-4-12 groups. numberOfUuid reads n back (for query_sm).
 */
export function uuidOf(n: number): string {
  const lo = n >>> 0;
  const hi = Math.floor(n / 2 ** 32);
  const a = mix32(lo, hi, 0x9e3779b9).toString(16).padStart(8, '0');
  const b = mix32(lo, hi, 0x7f4a7c15).toString(16).padStart(8, '0');
  const c = hex16(n);
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}`;
}

export function numberOfUuid(id: string): number | undefined {
  const m = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(id);
  if (m === null) return undefined;
  const n = Number.parseInt(m[1]! + m[2]!, 16);
  return Number.isSafeInteger(n) && uuidOf(n) === id.toLowerCase() ? n : undefined;
}

export function responseIdOf(n: number, format: IdFormat): string {
  switch (format) {
    case 'decimal':
    case 'sequential':
    case 'decimal-resp-hex-receipt':
      return String(n);
    case 'hex':
    case 'hex-resp-decimal-receipt':
      return n.toString(16);
    case 'uuid':
      return uuidOf(n);
  }
}

export function receiptIdOf(n: number, format: IdFormat): string {
  switch (format) {
    case 'decimal':
    case 'sequential':
    case 'hex-resp-decimal-receipt':
      return String(n);
    case 'hex':
    case 'decimal-resp-hex-receipt':
      return n.toString(16);
    case 'uuid':
      return uuidOf(n);
  }
}

/**
 * SMPP absolute time (section 7.1.1) in UTC: YYMMDDhhmmsstnnp, e.g. 260101093000000+ where t is
 * tenths of a second, nn the offset from UTC in quarter hours and p its sign.
 */
export function smppAbsoluteTime(ms: number): string {
  const d = new Date(ms);
  const two = (v: number) => (v < 10 ? '0' : '') + v;
  return (
    two(d.getUTCFullYear() % 100) +
    two(d.getUTCMonth() + 1) +
    two(d.getUTCDate()) +
    two(d.getUTCHours()) +
    two(d.getUTCMinutes()) +
    two(d.getUTCSeconds()) +
    Math.floor(d.getUTCMilliseconds() / 100) +
    '00+'
  );
}

// ---- throttling ----------------------------------------------------------------------------------

/** A token bucket holding at most one second of the rate, so a burst can use one second's worth. */
export interface TokenBucket {
  tokens: number;
  refilledAt: number;
}

export function newTokenBucket(ratePerSecond: number, nowMs: number): TokenBucket {
  return { tokens: ratePerSecond, refilledAt: nowMs };
}

/** Takes a token if there is one; false means the submit is over the rate. */
export function takeToken(bucket: TokenBucket, ratePerSecond: number, nowMs: number): boolean {
  const elapsed = nowMs - bucket.refilledAt;
  if (elapsed > 0) {
    bucket.tokens = Math.min(ratePerSecond, bucket.tokens + (elapsed * ratePerSecond) / 1000);
    bucket.refilledAt = nowMs;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return true;
  }
  return false;
}
