// Channel health, pure: a circuit breaker with hysteresis on each channel's rolling delivery rate
// (delivered ÷ final receipts over its most recent final messages) and submit-error rate, and the
// probe trickle that lets a degraded channel prove it has recovered. No I/O: the monitor
// (health.monitor.ts) feeds it samples read from the messages the recorder and receipts wrote.
//
// Why hysteresis: with one threshold a channel hovering at 90 % would switch on every sample. It
// is degraded below `degradeBelow` (seed 000: 90 %) and comes back only at `recoverAbove` or more,
// judged on messages sent after it was degraded (the probes), never on the old bad window.
//
// Two rules degrade a healthy channel. The window rule (rate over its newest `minSamples`..window
// receipts below the threshold) catches a slow slide. It needs about a third of the window to be
// bad before it fires (67 of 200 receipts at 70 %), and every message sent meanwhile still goes
// there, so a sudden fall also has a quick rule: the newest 40 or 80 receipts alone, degraded when
// even the optimistic end of their 99.9 % confidence interval (Wilson, one-sided) is below the
// threshold. Simulated on a stream evaluated every 10 receipts (a fall from 100 % to 70 %): the
// window rule fired after a median 73 (p90 92) receipts of the fall, the quick rule after 36
// (p90 49); a channel really at 95 % was never degraded by the quick rule in
// 6 × 50,000 receipts but one time, and at 93 % it was far less often than by the window rule
// itself (which at 93 % misfires every ~1,000 receipts: 21 failures in 200 are not rare).
import type { ChannelHealth } from '../routing.models.ts';

export interface BreakerSettings {
  /** Degraded when the delivery rate falls below this (0..1). */
  degradeBelow: number;
  /** Recovered when the rate of messages sent since it was degraded reaches this (>= degradeBelow). */
  recoverAbove: number;
  /** Share of the traffic a degraded channel still gets, to measure its recovery (0..1). */
  probeShare: number;
  /** Final receipts needed before a rate can degrade a channel. */
  minSamples: number;
  /** Final receipts of messages sent since it was degraded needed before it can recover. */
  minProbeSamples: number;
  /**
   * A degraded channel is judged on its newest this-many outcomes sent since the switch: old
   * probes of the bad spell leave the window, and enough of them are kept that a channel between
   * the two thresholds rarely looks recovered by chance (at 92 %, 95 % over 100 probes has a
   * chance of about 1 in 10; over 20 it would be 1 in 2).
   */
  probeWindow: number;
  /** Degraded when more than this share of submits was refused (with minSamples submits). */
  submitErrorsAbove: number;
  /** The quick rule's sample sizes: the newest this-many receipts, each size judged alone. */
  quickSamples: readonly number[];
  /** The quick rule's z (one-sided): 3.09 is 99.9 %. */
  quickZ: number;
}

export const DEFAULT_BREAKER: BreakerSettings = {
  degradeBelow: 0.9,
  recoverAbove: 0.95,
  probeShare: 0.02,
  minSamples: 50,
  minProbeSamples: 50,
  probeWindow: 100,
  submitErrorsAbove: 0.5,
  quickSamples: [40, 80],
  quickZ: 3.09,
};

/** One final message of a channel: when it was sent, and whether its receipt said delivered. */
export interface FinalOutcome {
  sentAtMs: number;
  /** null: it ended without a receipt from the carrier (the submit was refused). */
  delivered: boolean | null;
}

export interface BreakerState {
  degraded: boolean;
  /** When it was last switched (epoch ms); 0 when it never was. */
  sinceMs: number;
  /** The delivery rate it was last judged on (null: no receipt yet). */
  rate: number | null;
  samples: number;
}

export const INITIAL_BREAKER: BreakerState = { degraded: false, sinceMs: 0, rate: null, samples: 0 };

export interface Switch {
  kind: 'degraded' | 'recovered';
  reason: string;
  rate: number | null;
  samples: number;
}

export interface Rates {
  /** Delivered ÷ final receipts; null with no receipt. */
  deliveryRate: number | null;
  receipts: number;
  submitErrorRate: number | null;
  submits: number;
}

/** Delivery and submit-error rates of a set of final outcomes. */
export function ratesOf(outcomes: readonly FinalOutcome[]): Rates {
  let receipts = 0;
  let delivered = 0;
  let refused = 0;
  for (const o of outcomes) {
    if (o.delivered === null) refused++;
    else {
      receipts++;
      if (o.delivered) delivered++;
    }
  }
  const submits = receipts + refused;
  return {
    deliveryRate: receipts === 0 ? null : delivered / receipts,
    receipts,
    submitErrorRate: submits === 0 ? null : refused / submits,
    submits,
  };
}

const pct = (r: number) => `${(r * 100).toFixed(1)}%`;

/** The upper end of the Wilson score interval of `delivered` out of `n` (one-sided, z). */
export function wilsonUpper(delivered: number, n: number, z: number): number {
  const p = delivered / n;
  const z2 = z * z;
  const d = 1 + z2 / n;
  return (p + z2 / (2 * n)) / d + (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / d;
}

/**
 * The quick rule: the first sample size whose newest receipts are surely below the threshold
 * (even the upper end of their confidence interval is), or null.
 */
export function quickFall(
  outcomes: readonly FinalOutcome[],
  settings: Pick<BreakerSettings, 'degradeBelow' | 'quickSamples' | 'quickZ'>,
): { rate: number; receipts: number; upper: number } | null {
  const newest = outcomes.filter((o) => o.delivered !== null).sort((a, b) => b.sentAtMs - a.sentAtMs);
  for (const n of settings.quickSamples) {
    if (newest.length < n) break;
    let delivered = 0;
    for (let i = 0; i < n; i++) if (newest[i]!.delivered) delivered++;
    const upper = wilsonUpper(delivered, n, settings.quickZ);
    if (upper < settings.degradeBelow) return { rate: delivered / n, receipts: n, upper };
  }
  return null;
}

/**
 * A node's early look at the receipts it has just stored for a healthy channel (delivered or
 * not, oldest first, newest `window` at most): would the degrade rules fire on these alone? Only a
 * hint to step the breaker at once instead of at its next tick: the switch itself is judged by
 * stepBreaker on the stored rows, as every node judges it.
 */
export function looksFallen(
  recent: readonly boolean[],
  settings: Pick<BreakerSettings, 'degradeBelow' | 'minSamples' | 'quickSamples' | 'quickZ'>,
): boolean {
  const n = recent.length;
  let delivered = 0;
  let counted = 0;
  let quick = 0;
  const sizes = settings.quickSamples;
  // Newest first: each quick sample size is judged when the count reaches it.
  for (let i = n - 1; i >= 0; i--) {
    if (recent[i]) delivered++;
    counted++;
    if (quick < sizes.length && counted === sizes[quick]) {
      if (wilsonUpper(delivered, counted, settings.quickZ) < settings.degradeBelow) return true;
      quick++;
    }
  }
  return n >= settings.minSamples && delivered / n < settings.degradeBelow;
}

/**
 * One step of a channel's breaker: from its state and its most recent final outcomes (newest
 * window, any order) to its next state, and the switch when there is one.
 */
export function stepBreaker(
  state: BreakerState,
  outcomes: readonly FinalOutcome[],
  settings: BreakerSettings,
  nowMs: number,
): { state: BreakerState; switched: Switch | null } {
  if (!state.degraded) {
    // A recovered channel is judged only on what was sent since it recovered: the late receipts
    // of its bad spell (sent before the switch, final only now) must not degrade it again.
    const judged = state.sinceMs > 0 ? outcomes.filter((o) => o.sentAtMs >= state.sinceMs) : outcomes;
    const r = ratesOf(judged);
    const next = { ...state, rate: r.deliveryRate, samples: r.receipts };
    if (
      r.deliveryRate !== null &&
      r.receipts >= settings.minSamples &&
      r.deliveryRate < settings.degradeBelow
    ) {
      const reason = `delivery rate ${pct(r.deliveryRate)} over the last ${r.receipts} receipts is below ${pct(settings.degradeBelow)}`;
      return {
        state: { degraded: true, sinceMs: nowMs, rate: r.deliveryRate, samples: r.receipts },
        switched: { kind: 'degraded', reason, rate: r.deliveryRate, samples: r.receipts },
      };
    }
    const quick = quickFall(judged, settings);
    if (quick) {
      const reason = `delivery rate ${pct(quick.rate)} over the newest ${quick.receipts} receipts (at most ${pct(quick.upper)} at 99.9 % confidence) is below ${pct(settings.degradeBelow)}`;
      return {
        state: { degraded: true, sinceMs: nowMs, rate: quick.rate, samples: quick.receipts },
        switched: { kind: 'degraded', reason, rate: quick.rate, samples: quick.receipts },
      };
    }
    if (
      r.submitErrorRate !== null &&
      r.submits >= settings.minSamples &&
      r.submitErrorRate > settings.submitErrorsAbove
    ) {
      const reason = `${pct(r.submitErrorRate)} of the last ${r.submits} submits refused (above ${pct(settings.submitErrorsAbove)})`;
      return {
        state: { degraded: true, sinceMs: nowMs, rate: r.deliveryRate, samples: r.receipts },
        switched: { kind: 'degraded', reason, rate: r.deliveryRate, samples: r.receipts },
      };
    }
    return { state: next, switched: null };
  }
  // Degraded: judged only on what was sent since (the probes), so the old window cannot hold it
  // down and a short good spell before the switch cannot bring it back.
  const since = outcomes.filter((o) => o.sentAtMs >= state.sinceMs);
  if (since.length > settings.probeWindow) {
    since.sort((a, b) => b.sentAtMs - a.sentAtMs);
    since.length = settings.probeWindow;
  }
  const r = ratesOf(since);
  const next = { ...state, rate: r.deliveryRate ?? state.rate, samples: r.receipts };
  const submitsOk = r.submitErrorRate === null || r.submitErrorRate <= settings.submitErrorsAbove;
  if (
    r.deliveryRate !== null &&
    r.receipts >= settings.minProbeSamples &&
    r.deliveryRate >= settings.recoverAbove &&
    submitsOk
  ) {
    const reason = `delivery rate ${pct(r.deliveryRate)} over ${r.receipts} receipts since it was degraded reached ${pct(settings.recoverAbove)}`;
    return {
      state: { degraded: false, sinceMs: nowMs, rate: r.deliveryRate, samples: r.receipts },
      switched: { kind: 'recovered', reason, rate: r.deliveryRate, samples: r.receipts },
    };
  }
  return { state: next, switched: null };
}

/** What chooseChannel sees of a channel: bound from its connector, degraded and score from here. */
export function healthOf(bound: boolean, state: BreakerState | undefined): ChannelHealth {
  if (!state) return { bound, degraded: false, score: 1 };
  return { bound, degraded: state.degraded, score: state.rate ?? 1 };
}

/**
 * The probe trickle, deterministic: each routed message adds every degraded channel's probe
 * share to its credit; a channel whose credit reaches 1 is probed by this message (it is shown to
 * the routing as the one healthy channel), so over N messages it gets about N × share of them.
 */
export type ProbeCredit = Map<number, number>;

export function probeFor(credit: ProbeCredit, degraded: ReadonlyMap<number, number>): number | null {
  let chosen: number | null = null;
  for (const [channelId, share] of degraded) {
    const c = (credit.get(channelId) ?? 0) + share;
    if (chosen === null && c >= 1) {
      chosen = channelId;
      credit.set(channelId, c - 1);
    } else credit.set(channelId, c);
  }
  for (const id of credit.keys()) if (!degraded.has(id)) credit.delete(id);
  return chosen;
}

/** The health map of one probe message: the probed channel healthy, every other one degraded. */
export function probeHealth(
  health: ReadonlyMap<number, ChannelHealth>,
  probed: number,
): Map<number, ChannelHealth> {
  const out = new Map<number, ChannelHealth>();
  for (const [id, h] of health)
    out.set(id, id === probed ? { ...h, degraded: false } : { ...h, degraded: true });
  return out;
}

/** Groups (channel ids of a route's group) whose every bound channel is degraded. */
export function fullyDegradedGroups(
  groups: ReadonlyMap<string, readonly number[]>,
  health: ReadonlyMap<number, ChannelHealth>,
): string[] {
  const out: string[] = [];
  for (const [key, ids] of groups) {
    const bound = ids.filter((id) => health.get(id)?.bound === true);
    if (bound.length > 0 && bound.every((id) => health.get(id)?.degraded === true)) out.push(key);
  }
  return out;
}
