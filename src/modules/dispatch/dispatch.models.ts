// Pure rules of submission: what a carrier's answer means for the message, how long to wait
// before a retry, and the per-channel send rate that backs off when the carrier pushes back.
import { CommandStatus, statusName } from '../../smpp/constants.ts';

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

/** ESME_RTHROTTLED and ESME_RMSGQFUL slow the channel down; the message is retried, never failed. */
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

/**
 * Token bucket whose rate starts at the channel's max TPS and halves when the carrier throttles
 * us, then grows back by 5 % a second of smooth sending (additive-increase would take minutes to
 * recover from a 1,000 TPS drop; multiplicative both ways settles within seconds).
 */
export class SendRate {
  private tokens: number;
  private last: number;
  private rate: number;
  private lastDecrease = 0;

  constructor(
    private readonly maxTps: number,
    now: number,
  ) {
    this.rate = maxTps;
    this.tokens = Math.min(maxTps, Math.max(1, maxTps / 10));
    this.last = now;
  }

  get currentTps(): number {
    return this.rate;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    // Recover toward the configured maximum while sending goes smoothly.
    if (this.rate < this.maxTps && now - this.lastDecrease > 1000) {
      this.rate = Math.min(this.maxTps, this.rate * 1.05 ** elapsed + 1 * elapsed);
    }
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

  /** The carrier said slow down: halve the rate (at most once per 100 ms, one burst of errors is one signal). */
  throttled(now: number): void {
    if (now - this.lastDecrease < 100) return;
    this.lastDecrease = now;
    this.rate = Math.max(1, this.rate / 2);
    this.tokens = Math.min(this.tokens, 0);
  }
}
