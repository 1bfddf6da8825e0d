// Reconnect delays: exponential from baseMs, capped at maxMs, with jitter so that many binds
// dropped by one carrier restart do not all reconnect in the same millisecond.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Fraction 0..1 of the delay taken off at random: 0 none, 1 "full jitter". Default 0. */
  jitter?: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * The wait before reconnect attempt `attempt` (1 = the first retry): baseMs, 2×, 4×, ... up to
 * maxMs, then reduced by up to `jitter` of itself. Attempts below 1 count as 1.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const { baseMs, maxMs, jitter = 0, random = Math.random } = options;
  const exponent = Number.isFinite(attempt) ? Math.max(0, Math.floor(attempt) - 1) : 0;
  // 2^exponent overflows to Infinity past 1023; the min() with maxMs caps it either way.
  const delay = Math.min(maxMs, baseMs * 2 ** Math.min(exponent, 1000));
  const spread = Math.min(1, Math.max(0, jitter));
  return Math.max(0, Math.round(delay * (1 - spread * random())));
}
