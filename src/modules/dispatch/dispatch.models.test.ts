import { describe, expect, it } from 'vitest';
import { CommandStatus } from '../../smpp/constants.ts';
import {
  classifyStatus,
  DEADLINE_PASSED,
  decideAfterError,
  isRowError,
  resultOfFailedSubmit,
  MAX_ATTEMPTS,
  retryDelayMs,
  SendRate,
  throttleResubmitDelayMs,
} from './dispatch.models.ts';

/** A deterministic PRNG (mulberry32), so a simulated carrier refuses the same submits every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Returns true when the carrier throttles a submit made at `t` ms. */
type Carrier = (t: number) => boolean;

/** Throttles everything above `tps`, with a one-second burst like our simulator's bucket. */
function tokenBucketCarrier(tps: number): Carrier {
  let tokens = tps;
  let at = 0;
  return (t) => {
    tokens = Math.min(tps, tokens + ((t - at) * tps) / 1000);
    at = t;
    if (tokens >= 1) {
      tokens -= 1;
      return false;
    }
    return true;
  };
}

function randomCarrier(share: number, seed = 7): Carrier {
  const random = seeded(seed);
  return () => random() < share;
}

/**
 * Feeds a SendRate an endless backlog over simulated time (1 ms steps): a window of outstanding
 * submits, answers after `latencyMs`, throttled submits resubmitted like any other. Returns the
 * accepted submits per second, the throttled ones per second, and the rate at the end.
 */
function simulate({
  maxTps,
  carrier,
  seconds,
  windowSize = 200,
  latencyMs = 5,
}: {
  maxTps: number;
  carrier: Carrier;
  seconds: number;
  windowSize?: number;
  latencyMs?: number;
}) {
  const rate = new SendRate(maxTps, 0);
  const inFlight: { at: number; sentAt: number; throttled: boolean }[] = [];
  const accepted = new Array<number>(seconds).fill(0);
  const throttled = new Array<number>(seconds).fill(0);
  for (let t = 0; t < seconds * 1000; t++) {
    const second = Math.floor(t / 1000);
    while (inFlight.length > 0 && inFlight[0]!.at <= t) {
      const answer = inFlight.shift()!;
      rate.answered(t, answer.throttled, answer.sentAt);
      if (answer.throttled) throttled[second]!++;
      else accepted[second]!++;
    }
    while (inFlight.length < windowSize && rate.tryTake(t))
      inFlight.push({ at: t + latencyMs, sentAt: t, throttled: carrier(t) });
  }
  const perSecond = (counts: number[], from: number) =>
    counts.slice(from).reduce((a, b) => a + b, 0) / (seconds - from);
  return { rate, accepted, throttled, perSecond };
}

describe('SendRate against simulated carriers', () => {
  const maxTps = 5000;
  const clean = simulate({ maxTps, carrier: () => false, seconds: 20 });
  const cleanRate = clean.perSecond(clean.accepted, 5);

  it('sends at the channel maximum when nothing is throttled', () => {
    expect(cleanRate).toBeGreaterThan(0.95 * maxTps);
    expect(clean.rate.throttleEvents).toBe(0);
  });

  it('settles just under a token-bucket limit (>= 80 % of it) and keeps probing', () => {
    const limit = 2000;
    const run = simulate({ maxTps, carrier: tokenBucketCarrier(limit), seconds: 30 });
    const settled = run.perSecond(run.accepted, 10);
    expect(settled).toBeGreaterThanOrEqual(0.8 * limit);
    expect(settled).toBeLessThanOrEqual(limit * 1.01);
    expect(run.rate.currentTps).toBeGreaterThan(0.8 * limit);
    expect(run.rate.currentTps).toBeLessThan(1.2 * limit);
    // Throttling happened and was counted, and once settled only a small share is refused.
    expect(run.rate.throttleEvents).toBeGreaterThan(0);
    expect(run.rate.cuts).toBeGreaterThan(0);
    expect(run.perSecond(run.throttled, 10)).toBeLessThan(0.1 * limit);
  });

  it('settles under a low limit far below the configured maximum', () => {
    const limit = 200;
    const run = simulate({ maxTps: 100_000, carrier: tokenBucketCarrier(limit), seconds: 30 });
    expect(run.perSecond(run.accepted, 10)).toBeGreaterThanOrEqual(0.8 * limit);
    expect(run.rate.currentTps).toBeLessThan(1.2 * limit);
  });

  it('keeps the rate against a carrier refusing 10 % at random (>= 50 % of the clean throughput)', () => {
    const run = simulate({ maxTps, carrier: randomCarrier(0.1), seconds: 20 });
    const settled = run.perSecond(run.accepted, 5);
    expect(settled).toBeGreaterThanOrEqual(0.5 * cleanRate);
    // In fact it loses no more than the refused share.
    expect(settled).toBeGreaterThan(0.85 * cleanRate);
    expect(run.rate.throttleEvents).toBeGreaterThan(0.08 * run.accepted.reduce((a, b) => a + b, 0));
    expect(run.rate.backgroundShare).toBeGreaterThan(0.05);
    expect(run.rate.currentTps).toBeGreaterThan(0.9 * maxTps);
  });

  it('finds a rate limit behind random refusals', () => {
    const limit = 2000;
    const bucket = tokenBucketCarrier(limit);
    const random = randomCarrier(0.1, 11);
    const run = simulate({ maxTps, carrier: (t) => random(t) || bucket(t), seconds: 30 });
    expect(run.perSecond(run.accepted, 10)).toBeGreaterThanOrEqual(0.7 * limit);
    expect(run.rate.currentTps).toBeLessThan(1.5 * limit);
  });

  it('recovers on a slow channel after the carrier stops throttling', () => {
    let throttling = true;
    const run = new SendRate(20, 0);
    let t = 0;
    for (; t < 5000; t += 10) if (run.tryTake(t)) run.answered(t, throttling);
    const low = run.currentTps;
    expect(low).toBeLessThan(20);
    throttling = false;
    for (; t < 30_000; t += 10) if (run.tryTake(t)) run.answered(t, throttling);
    expect(run.currentTps).toBe(20);
  });
});

describe('classifyStatus', () => {
  it('treats throttling and a full queue as push-back', () => {
    expect(classifyStatus(CommandStatus.ESME_RTHROTTLED)).toBe('throttle');
    expect(classifyStatus(CommandStatus.ESME_RMSGQFUL)).toBe('throttle');
  });
  it('treats a bad destination or length as permanent', () => {
    expect(classifyStatus(CommandStatus.ESME_RINVDSTADR)).toBe('permanent');
    expect(classifyStatus(CommandStatus.ESME_RINVMSGLEN)).toBe('permanent');
  });
  it('treats a system error and unknown vendor codes as transient', () => {
    expect(classifyStatus(CommandStatus.ESME_RSYSERR)).toBe('transient');
    expect(classifyStatus(0x400)).toBe('transient');
  });
});

describe('retryDelayMs', () => {
  it('doubles from one second', () => {
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, () => 0.5))).toEqual([1000, 2000, 4000, 8000]);
  });
  it('is capped at five minutes', () => {
    expect(retryDelayMs(30, () => 0.5)).toBe(300_000);
  });
  it('spreads retries by ±20 %', () => {
    expect(retryDelayMs(1, () => 0)).toBe(800);
    expect(retryDelayMs(1, () => 1)).toBe(1200);
  });
});

describe('throttleResubmitDelayMs', () => {
  it('starts short and is capped at a second', () => {
    expect(throttleResubmitDelayMs(0)).toBe(20);
    expect(throttleResubmitDelayMs(2)).toBe(80);
    expect(throttleResubmitDelayMs(50)).toBe(1000);
  });
});

describe('decideAfterError', () => {
  const nowMs = 1_000_000;
  const far = nowMs + 3600_000;
  const random = () => 0.5;
  const sysErr = { kind: 'error' as const, status: CommandStatus.ESME_RSYSERR, detail: 'ESME_RSYSERR' };

  it('rejects on a permanent status at once', () => {
    const d = decideAfterError({
      error: { kind: 'error', status: CommandStatus.ESME_RINVDSTADR, detail: 'bad' },
      attempts: 1,
      deadlineMs: far,
      nowMs,
      random,
    });
    expect(d).toMatchObject({ action: 'end', status: 'rejected', errorCode: 'smpp.ESME_RINVDSTADR' });
  });

  it('retries a transient error with backoff', () => {
    const d = decideAfterError({ error: sysErr, attempts: 2, deadlineMs: far, nowMs, random });
    expect(d).toEqual({
      action: 'retry',
      delayMs: 2000,
      errorCode: 'smpp.ESME_RSYSERR',
      errorDetail: 'ESME_RSYSERR',
    });
  });

  it('fails an unanswered submit after the last attempt, keeping the last error', () => {
    const error = { kind: 'unanswered' as const, detail: 'timeout' };
    expect(
      decideAfterError({ error, attempts: MAX_ATTEMPTS - 1, deadlineMs: far, nowMs, random }).action,
    ).toBe('retry');
    expect(decideAfterError({ error, attempts: MAX_ATTEMPTS, deadlineMs: far, nowMs, random })).toMatchObject(
      {
        action: 'end',
        status: 'failed',
        errorCode: 'smpp.no_response',
      },
    );
  });

  it('expires a message whose retry would come after its deadline', () => {
    const d = decideAfterError({ error: sysErr, attempts: 3, deadlineMs: nowMs + 3000, nowMs, random });
    expect(d).toMatchObject({ action: 'end', status: 'expired', errorCode: DEADLINE_PASSED });
  });
});

describe('isRowError', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });
  it('blames the rows for cardinality, data and constraint errors', () => {
    expect(isRowError(withCode('21000'))).toBe(true);
    expect(isRowError(withCode('22021'))).toBe(true);
    expect(isRowError(withCode('23505'))).toBe(true);
  });
  it('does not blame the rows for a lost connection, a shutdown or an error without a code', () => {
    expect(isRowError(withCode('08006'))).toBe(false);
    expect(isRowError(withCode('57P01'))).toBe(false);
    expect(isRowError(withCode('53300'))).toBe(false);
    expect(isRowError(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isRowError(null)).toBe(false);
  });
});

describe('resultOfFailedSubmit', () => {
  const nowMs = 1_000_000;
  const message = { id: 7, attempts: 1, deadlineAt: nowMs + 3600_000 };
  const random = () => 0.5;

  it('expires a message the carrier was still throttling at its deadline', () => {
    const r = resultOfFailedSubmit({
      message: { ...message, deadlineAt: nowMs },
      partsTaken: 0,
      outcome: { kind: 'throttled' },
      nowMs,
    });
    expect(r).toMatchObject({
      kind: 'fail',
      result: { id: 7, status: 'expired', errorCode: DEADLINE_PASSED },
    });
  });

  it('queues a message throttled when its bind closed, without spending an attempt', () => {
    const r = resultOfFailedSubmit({ message, partsTaken: 0, outcome: { kind: 'throttled' }, nowMs });
    expect(r).toMatchObject({
      kind: 'retry',
      result: { delayMs: 0, notAttempted: true, duplicateRisk: false },
    });
  });

  it('flags a possible duplicate when an earlier part was taken, and counts the attempt', () => {
    const r = resultOfFailedSubmit({ message, partsTaken: 1, outcome: { kind: 'throttled' }, nowMs });
    expect(r).toMatchObject({ kind: 'retry', result: { notAttempted: false, duplicateRisk: true } });
  });

  it('retries an unanswered submit with backoff, flagged as a possible duplicate', () => {
    const r = resultOfFailedSubmit({
      message,
      partsTaken: 0,
      outcome: { kind: 'unanswered', detail: 'timeout' },
      nowMs,
      random,
    });
    expect(r).toEqual({
      kind: 'retry',
      result: {
        id: 7,
        delayMs: 1000,
        errorCode: 'smpp.no_response',
        errorDetail: 'timeout',
        duplicateRisk: true,
        notAttempted: false,
      },
    });
  });

  it('rejects on a permanent status', () => {
    const r = resultOfFailedSubmit({
      message,
      partsTaken: 0,
      outcome: { kind: 'error', status: CommandStatus.ESME_RINVDSTADR, detail: 'bad' },
      nowMs,
    });
    expect(r).toMatchObject({
      kind: 'fail',
      result: { status: 'rejected', errorCode: 'smpp.ESME_RINVDSTADR' },
    });
  });
});
