// Pure rules of submission: what a carrier's answer means for the message, what to do after an
// error (retry, fail, expire), and the per-channel send rate that adapts to a carrier's throttling.
import { CommandStatus, statusName } from '../../smpp/constants.ts';
import type { FailedResult, RetryResult } from './dispatch.sql.ts';

/** Claims of one message before it fails (docs/architecture.md promises 6). */
export const MAX_ATTEMPTS = 6;

export type StatusClass = 'throttle' | 'permanent' | 'transient';

// Statuses that mean "this message, as it is, will never be taken": resending cannot help.
const PERMANENT = new Set<number>([
  CommandStatus.ESME_RINVMSGLEN,
  CommandStatus.ESME_RINVSRCADR,
  CommandStatus.ESME_RINVDSTADR,
  CommandStatus.ESME_RINVESMCLASS,
  CommandStatus.ESME_RINVDCS,
  CommandStatus.ESME_RINVSRCTON,
  CommandStatus.ESME_RINVSRCNPI,
  CommandStatus.ESME_RINVDSTTON,
  CommandStatus.ESME_RINVDSTNPI,
  CommandStatus.ESME_RINVREGDLVFLG,
  CommandStatus.ESME_RINVPRTFLG,
  CommandStatus.ESME_RINVNUMDESTS,
  CommandStatus.ESME_RINVOPTPARAMVAL,
  CommandStatus.ESME_RX_R_APPN,
]);

/** ESME_RTHROTTLED and ESME_RMSGQFUL are the carrier pushing back: resubmit, never fail for it. */
export function classifyStatus(status: number): StatusClass {
  if (status === CommandStatus.ESME_RTHROTTLED || status === CommandStatus.ESME_RMSGQFUL) return 'throttle';
  if (PERMANENT.has(status)) return 'permanent';
  return 'transient';
}

export function smppErrorCode(status: number): string {
  return `smpp.${statusName(status)}`;
}

/** Exponential backoff for retries through the queue: 1 s, 2 s, 4 s … capped at 5 minutes, ±20 %. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(300_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Error code of a message whose deadline (by type) passed before the carrier took it. */
export const DEADLINE_PASSED = 'dispatch.deadline_passed';

export type SubmitError =
  { kind: 'unanswered'; detail: string } | { kind: 'error'; status: number; detail: string };

export type ErrorDecision =
  | { action: 'retry'; delayMs: number; errorCode: string; errorDetail: string }
  | { action: 'end'; status: 'rejected' | 'failed' | 'expired'; errorCode: string; errorDetail: string };

/**
 * What a submission error means for the message. Permanent statuses reject it; anything else is
 * retried through the queue with backoff, unless this was its last attempt (`failed`, with the
 * last error's code) or the retry would come after its deadline (`expired`): a verification code
 * that arrives late is worthless, and a carrier that never answers must not get a message for ever.
 */
export function decideAfterError({
  error,
  attempts,
  deadlineMs,
  nowMs,
  random = Math.random,
}: {
  error: SubmitError;
  /** Claims so far, this one included. */
  attempts: number;
  deadlineMs: number;
  nowMs: number;
  random?: () => number;
}): ErrorDecision {
  const errorCode = error.kind === 'unanswered' ? 'smpp.no_response' : smppErrorCode(error.status);
  const errorDetail = error.detail;
  if (error.kind === 'error' && classifyStatus(error.status) === 'permanent')
    return { action: 'end', status: 'rejected', errorCode, errorDetail };
  if (attempts >= MAX_ATTEMPTS)
    return {
      action: 'end',
      status: 'failed',
      errorCode,
      errorDetail: `${attempts} attempts, the last: ${errorDetail}`,
    };
  const delayMs = retryDelayMs(attempts, random);
  if (nowMs + delayMs >= deadlineMs)
    return {
      action: 'end',
      status: 'expired',
      errorCode: DEADLINE_PASSED,
      errorDetail: `deadline passed after ${attempts} attempts, the last: ${errorCode} ${errorDetail}`,
    };
  return { action: 'retry', delayMs, errorCode, errorDetail };
}

/** Error code of a message whose submit result the database refused to store. */
export const RECORD_FAILED = 'dispatch.record_failed';

/**
 * True when PostgreSQL refused a statement for what is in its rows (SQLSTATE classes 21
 * cardinality, e.g. one upsert touching a row twice; 22 data exception, e.g. a NUL in text; 23
 * integrity constraint): retrying the same rows fails the same way, so the batch is split. Any
 * other error (connection lost, server shutting down, out of resources) says nothing about the
 * rows, and the batch is retried whole.
 */
export function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(21|22|23)[0-9A-Z]{3}$/.test(code);
}

/**
 * What the recorder gets for a message whose submission stopped at an error: `fail` (rejected,
 * failed, expired) or `retry` through the queue. `throttled` here means the carrier was still
 * throttling when the bind closed, the channel stopped or the deadline came (throttling alone is
 * resubmitted on the bind, never reported). A part the carrier took before the error, or one it
 * may have taken without answering, makes a resend a possible duplicate.
 */
export function resultOfFailedSubmit({
  message,
  partsTaken,
  outcome,
  nowMs,
  random = Math.random,
}: {
  message: { id: number; attempts: number; deadlineAt: number };
  partsTaken: number;
  outcome: SubmitError | { kind: 'throttled' };
  nowMs: number;
  random?: () => number;
}): { kind: 'fail'; result: FailedResult } | { kind: 'retry'; result: RetryResult } {
  const duplicateRisk = outcome.kind === 'unanswered' || partsTaken > 0;
  const { id } = message;
  if (outcome.kind === 'throttled') {
    if (nowMs >= message.deadlineAt)
      return {
        kind: 'fail',
        result: {
          id,
          status: 'expired',
          errorCode: DEADLINE_PASSED,
          errorDetail: 'deadline passed while the carrier throttled this channel',
        },
      };
    // Not taken, and not for lack of an answer: the claim does not count as an attempt.
    const result = {
      id,
      delayMs: 0,
      errorCode: 'smpp.ESME_RTHROTTLED',
      errorDetail: 'throttled, then the channel closed',
      duplicateRisk,
      notAttempted: partsTaken === 0,
    };
    return { kind: 'retry', result };
  }
  const decision = decideAfterError({
    error: outcome,
    attempts: message.attempts,
    deadlineMs: message.deadlineAt,
    nowMs,
    random,
  });
  if (decision.action === 'end') {
    const { status, errorCode, errorDetail } = decision;
    return { kind: 'fail', result: { id, status, errorCode, errorDetail } };
  }
  const { delayMs, errorCode, errorDetail } = decision;
  return {
    kind: 'retry',
    result: { id, delayMs, errorCode, errorDetail, duplicateRisk, notAttempted: false },
  };
}

/** Delay before resubmitting a throttled part on the same bind: 20 ms doubling to 1 s. */
export function throttleResubmitDelayMs(tries: number): number {
  return Math.min(1000, 20 * 2 ** Math.min(tries, 6));
}

export interface SendRateOptions {
  /** A measurement window closes after this long, once it holds `minSamples` answers. */
  windowMs?: number;
  minSamples?: number;
  /** A window closes after this long with any answers at all (slow channels). */
  maxWindowMs?: number;
}

/**
 * Token bucket whose rate follows the carrier's answers, judged over short windows.
 *
 * Carriers throttle for two reasons, and the right answer differs:
 * - a rate limit (a token bucket at R submits/s): the share of throttled answers grows with our
 *   rate above R. We set the rate just under what the carrier accepted in that window (which is
 *   about R), then probe up 5 % per window and back off again when throttling reappears;
 * - a busy carrier refusing a share of submits at random: slowing down does not lower the share,
 *   it only loses throughput. After every cut we check the next window; if two cuts in a row left
 *   the share where it was, we restore the rate from before them and learn that share as the
 *   background, which no longer counts as a signal. Two, because one can fool us: the first
 *   window may be flattered by the carrier's burst allowance, so that a limit cut to what it
 *   "accepted" is still well above it, with a similar share refused. A share above 60 % is always
 *   taken as a limit. Refused submits are resubmitted either way.
 *
 * The old rule (halve on each throttle, regrow only after a quiet second) settled near 6-22
 * messages/s against a carrier refusing 10 % at random: the quiet second never came.
 */
export class SendRate {
  private tokens: number;
  private last: number;
  private rate: number;
  private winStart: number;
  /** Send times of the first and last answer counted in this window. */
  private winFirstSent = Infinity;
  private winLastSent = -Infinity;
  /** Answers to submits sent before the rate last changed describe the old rate: not counted. */
  private changedAt: number;
  private winOk = 0;
  private winThrottled = 0;
  /** Share of throttled answers that does not depend on our rate (a carrier refusing at random). */
  private background = 0;
  /** Set right after a cut: the share it should lower and the rate to restore if it does not. */
  private check: { share: number; rateBefore: number; cutsUnchanged: number } | null = null;
  private readonly windowMs: number;
  private readonly minSamples: number;
  private readonly maxWindowMs: number;
  /** Throttled answers seen since the start. */
  throttleEvents = 0;
  /** Times the rate was cut. */
  cuts = 0;

  constructor(
    private readonly maxTps: number,
    now: number,
    { windowMs = 250, minSamples = 50, maxWindowMs = 1000 }: SendRateOptions = {},
  ) {
    this.rate = maxTps;
    this.tokens = Math.min(maxTps, Math.max(1, maxTps / 10));
    this.last = now;
    this.winStart = now;
    this.changedAt = now;
    this.windowMs = windowMs;
    this.minSamples = minSamples;
    this.maxWindowMs = maxWindowMs;
  }

  get currentTps(): number {
    return this.rate;
  }

  /** The share of throttled answers currently taken as the carrier's background refusals. */
  get backgroundShare(): number {
    return this.background;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    // A burst of at most a tenth of a second keeps the short-term rate near the limit.
    this.tokens = Math.min(Math.max(1, this.rate / 10), this.tokens + elapsed * this.rate);
  }

  /** Takes a token if one is available. */
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until the next token. */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /**
   * One answer of the carrier: taken, or throttled (ESME_RTHROTTLED / ESME_RMSGQFUL), to a
   * submit sent at `sentAt`.
   */
  answered(now: number, throttled: boolean, sentAt: number = now): void {
    if (throttled) this.throttleEvents++;
    if (sentAt < this.changedAt) return;
    if (throttled) this.winThrottled++;
    else this.winOk++;
    this.winFirstSent = Math.min(this.winFirstSent, sentAt);
    this.winLastSent = Math.max(this.winLastSent, sentAt);
    const n = this.winOk + this.winThrottled;
    const elapsed = now - this.winStart;
    if ((elapsed >= this.windowMs && n >= this.minSamples) || elapsed >= this.maxWindowMs) this.evaluate(now);
  }

  private evaluate(now: number): void {
    const n = this.winOk + this.winThrottled;
    // Rates over the span of send times: the answers of one window were sent at the same rate.
    const span = this.winLastSent - this.winFirstSent;
    const seconds = (n >= this.minSamples ? Math.max(1, span) : Math.max(1, now - this.winStart)) / 1000;
    const share = this.winThrottled / n;
    const sentRate = n / seconds;
    const acceptedRate = this.winOk / seconds;
    this.winStart = now;
    this.winFirstSent = Infinity;
    this.winLastSent = -Infinity;
    this.winOk = 0;
    this.winThrottled = 0;
    // Two standard deviations of the background share over n answers, plus 2 points: noise of a
    // random carrier is not mistaken for a limit.
    const p = Math.max(this.background, 0.01);
    const over = share > this.background + 0.02 + 2 * Math.sqrt((p * (1 - p)) / n);
    const check = this.check;
    this.check = null;
    if (n < this.minSamples) {
      // A slow channel's window (or one cut short by a reconnect), too small to tell a limit
      // from chance: halve only when most submits were refused, so that a few random refusals
      // cannot walk the rate down window after window.
      if (share >= 0.5) {
        this.setRate(now, Math.max(1, Math.min(this.rate, sentRate) / 2));
        this.tokens = Math.min(this.tokens, 0);
        this.cuts++;
      } else if (share === 0 && sentRate >= 0.8 * this.rate) this.grow();
      return;
    }
    // A cut against a rate limit changes the share refused: lowers it, or raises it when the
    // window before the cut was flattered by the carrier's burst; against a carrier refusing at
    // random the share stays where it was.
    const unchanged =
      check !== null &&
      over &&
      share <= 0.6 &&
      share > check.share / 2 &&
      share < check.share * 1.5 + 0.02 &&
      1 - share < (1 - check.share) * 1.3;
    if (unchanged && check.cutsUnchanged >= 1) {
      // Slowing down did not help, twice: the carrier refuses at random, and slower only loses.
      this.background = Math.max(this.background, (share + check.share) / 2);
      this.setRate(now, check.rateBefore);
      return;
    }
    if (over) {
      // Just under what the carrier took in this window, allowing for its background refusals.
      const target = (acceptedRate / (1 - this.background)) * 0.95;
      if (target < this.rate) {
        this.check = unchanged
          ? { share, rateBefore: check.rateBefore, cutsUnchanged: check.cutsUnchanged + 1 }
          : { share, rateBefore: this.rate, cutsUnchanged: 0 };
        this.setRate(now, Math.max(1, target));
        this.tokens = Math.min(this.tokens, 0);
        this.cuts++;
      }
      return;
    }
    // Under the limit: the background share follows what we see, and the rate probes up when it
    // is what holds us back (not when demand or the window does). The slight decay (0.2 % a
    // window) re-tests the belief now and then at the cost of two cuts, so that a limit once
    // mistaken for random refusals (or a carrier that changed) is found.
    this.background = 0.998 * (0.9 * this.background + 0.1 * share);
    if (sentRate >= 0.8 * this.rate) this.grow();
  }

  private grow(): void {
    this.rate = Math.min(this.maxTps, this.rate * 1.05 + 1);
  }

  private setRate(now: number, rate: number): void {
    this.rate = rate;
    this.changedAt = now;
  }
}
