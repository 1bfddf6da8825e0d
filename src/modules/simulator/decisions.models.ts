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
 * First message id of a run. Ids grow from the start time × 1000, so a restarted simulator never
 * reissues an id that an earlier run gave (a client would match a new receipt to an old message)
 * unless the earlier run issued more than 1000 ids per millisecond it lived.
 */
export function firstMessageNumber(nowMs: number): number {
  return Math.floor(nowMs) * 1000;
}

export function responseIdOf(n: number, format: IdFormat): string {
  return format === 'decimal' ? String(n) : n.toString(16);
}

export function receiptIdOf(n: number, format: IdFormat): string {
  return format === 'hex' ? n.toString(16) : String(n);
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
