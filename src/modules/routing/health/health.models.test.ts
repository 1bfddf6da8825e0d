import { describe, expect, it } from 'vitest';
import { chooseChannel, type RoutingChannel } from '../routing.models.ts';
import {
  type BreakerState,
  DEFAULT_BREAKER,
  type FinalOutcome,
  fullyDegradedGroups,
  healthOf,
  INITIAL_BREAKER,
  looksFallen,
  type ProbeCredit,
  probeFor,
  probeHealth,
  quickFall,
  ratesOf,
  stepBreaker,
  wilsonUpper,
} from './health.models.ts';

/** n outcomes sent at `sentAtMs`, `delivered` of them delivered, the rest undelivered. */
const outcomes = (n: number, delivered: number, sentAtMs = 0): FinalOutcome[] =>
  Array.from({ length: n }, (_, i) => ({ sentAtMs, delivered: i < delivered }));

describe('rates', () => {
  it('counts delivered over final receipts, and refused submits apart', () => {
    const r = ratesOf([
      ...outcomes(10, 7),
      { sentAtMs: 0, delivered: null },
      { sentAtMs: 0, delivered: null },
    ]);
    expect(r).toEqual({ deliveryRate: 0.7, receipts: 10, submitErrorRate: 2 / 12, submits: 12 });
  });
  it('has no rate without receipts', () => {
    expect(ratesOf([]).deliveryRate).toBeNull();
  });
});

describe('circuit breaker', () => {
  it('degrades a channel whose rate falls below 90 % once it has enough receipts', () => {
    expect(stepBreaker(INITIAL_BREAKER, outcomes(39, 20), DEFAULT_BREAKER, 1000).switched).toBeNull();
    const step = stepBreaker(INITIAL_BREAKER, outcomes(100, 70), DEFAULT_BREAKER, 1000);
    expect(step.switched?.kind).toBe('degraded');
    expect(step.switched?.reason).toContain('70.0%');
    expect(step.state).toMatchObject({ degraded: true, sinceMs: 1000, rate: 0.7 });
  });

  it('sees a sudden fall on the newest receipts alone, while the window still reads above 90 %', () => {
    // 160 older receipts at 100 %, then 40 at 70 %: 94 % over the window of 200.
    const fall = [...outcomes(160, 160, 0), ...outcomes(40, 28, 10)];
    expect(ratesOf(fall).deliveryRate).toBeGreaterThan(0.9);
    const step = stepBreaker(INITIAL_BREAKER, fall, DEFAULT_BREAKER, 1000);
    expect(step.switched?.kind).toBe('degraded');
    expect(step.switched?.reason).toContain('over the newest 40 receipts');
    expect(step.state).toMatchObject({ degraded: true, rate: 0.7, samples: 40 });
    // 32 of the newest 40 (80 %) is not sure enough to act on alone; the newest 80 at 75 % are.
    expect(quickFall([...outcomes(160, 160, 0), ...outcomes(40, 32, 10)], DEFAULT_BREAKER)).toBeNull();
    expect(quickFall([...outcomes(120, 120, 0), ...outcomes(80, 60, 10)], DEFAULT_BREAKER)).toMatchObject({
      receipts: 80,
      rate: 0.75,
    });
    expect(wilsonUpper(28, 40, 3.09)).toBeLessThan(0.9);
    expect(wilsonUpper(32, 40, 3.09)).toBeGreaterThan(0.9);
  });

  it('does not act on the newest receipts of a channel at 93 %, failures spread or bunched as chance does', () => {
    // One failure in 14 (92.9 %), and bursts of 4 failures in a row at the same rate: the quick
    // rule needs 10 failures in 40 or 17 in 80.
    const spread = Array.from({ length: 3000 }, (_, i) => ({ sentAtMs: i, delivered: i % 14 !== 13 }));
    const bunched = Array.from({ length: 3000 }, (_, i) => ({ sentAtMs: i, delivered: i % 56 >= 4 }));
    for (const stream of [spread, bunched])
      for (let end = 40; end <= stream.length; end += 7)
        expect(quickFall(stream.slice(Math.max(0, end - 200), end), DEFAULT_BREAKER)).toBeNull();
  });

  it('keeps a channel at exactly the threshold healthy', () => {
    expect(stepBreaker(INITIAL_BREAKER, outcomes(100, 90), DEFAULT_BREAKER, 1).state.degraded).toBe(false);
  });

  it('degrades a channel that refuses most submits', () => {
    const refused: FinalOutcome[] = Array.from({ length: 60 }, () => ({ sentAtMs: 0, delivered: null }));
    const step = stepBreaker(INITIAL_BREAKER, [...refused, ...outcomes(10, 10)], DEFAULT_BREAKER, 5);
    expect(step.switched?.kind).toBe('degraded');
    expect(step.switched?.reason).toContain('submits refused');
  });

  it('judges a degraded channel only on what was sent after the switch', () => {
    const degraded: BreakerState = { degraded: true, sinceMs: 1000, rate: 0.7, samples: 100 };
    // 100 old good outcomes (sent before the switch) do not bring it back.
    const old = outcomes(100, 100, 500);
    expect(stepBreaker(degraded, old, DEFAULT_BREAKER, 2000).state.degraded).toBe(true);
    // 49 good probes are too few; 50 at 100 % bring it back.
    expect(
      stepBreaker(degraded, [...old, ...outcomes(49, 49, 1500)], DEFAULT_BREAKER, 2000).switched,
    ).toBeNull();
    const back = stepBreaker(degraded, [...old, ...outcomes(50, 50, 1500)], DEFAULT_BREAKER, 2000);
    expect(back.switched?.kind).toBe('recovered');
    expect(back.state).toMatchObject({ degraded: false, sinceMs: 2000 });
  });

  it('forgets the probes of the bad spell once its newest probe window is good', () => {
    const degraded: BreakerState = { degraded: true, sinceMs: 1000, rate: 0.7, samples: 100 };
    const badProbes = outcomes(30, 21, 1100);
    const some = stepBreaker(degraded, [...badProbes, ...outcomes(60, 60, 1500)], DEFAULT_BREAKER, 2000);
    expect(some.switched).toBeNull();
    const back = stepBreaker(degraded, [...badProbes, ...outcomes(100, 100, 1500)], DEFAULT_BREAKER, 2000);
    expect(back.switched?.kind).toBe('recovered');
  });

  it('judges a recovered channel only on what was sent after it recovered', () => {
    const recovered: BreakerState = { degraded: false, sinceMs: 2000, rate: 1, samples: 100 };
    // Late receipts of the bad spell (sent before the recovery) do not degrade it again.
    const late = outcomes(200, 140, 1500);
    expect(stepBreaker(recovered, late, DEFAULT_BREAKER, 3000).switched).toBeNull();
    // A new fall, on messages sent after it recovered, does.
    const again = stepBreaker(recovered, [...late, ...outcomes(50, 35, 2500)], DEFAULT_BREAKER, 3000);
    expect(again.switched?.kind).toBe('degraded');
  });

  it('does not flap between the two thresholds (hysteresis)', () => {
    // 92 %: above the degrade threshold, below the recovery one.
    const between = (sentAtMs: number) => outcomes(100, 92, sentAtMs);
    let state: BreakerState = { degraded: true, sinceMs: 0, rate: 0.7, samples: 100 };
    for (let t = 1; t <= 20; t++) {
      const step = stepBreaker(state, between(t), DEFAULT_BREAKER, t);
      expect(step.switched).toBeNull();
      state = step.state;
    }
    state = INITIAL_BREAKER;
    for (let t = 1; t <= 20; t++) {
      const step = stepBreaker(state, between(t), DEFAULT_BREAKER, t);
      expect(step.switched).toBeNull();
      state = step.state;
    }
  });

  it('takes a per-channel threshold', () => {
    const strict = { ...DEFAULT_BREAKER, degradeBelow: 0.97, recoverAbove: 0.99 };
    expect(stepBreaker(INITIAL_BREAKER, outcomes(100, 95), strict, 1).switched?.kind).toBe('degraded');
    expect(stepBreaker(INITIAL_BREAKER, outcomes(100, 95), DEFAULT_BREAKER, 1).switched).toBeNull();
  });
});

describe('probe trickle', () => {
  it('gives a degraded channel its probe share of the messages, no more', () => {
    const credit: ProbeCredit = new Map();
    const degraded = new Map([[2, 0.02]]);
    let probes = 0;
    for (let i = 0; i < 1000; i++) if (probeFor(credit, degraded) === 2) probes++;
    expect(probes).toBe(20);
  });

  it('forgets the credit of a channel that is no longer degraded', () => {
    const credit: ProbeCredit = new Map();
    probeFor(credit, new Map([[2, 0.5]]));
    probeFor(credit, new Map());
    expect(credit.has(2)).toBe(false);
  });

  it('routes a probe message to the degraded channel and the others to the healthy one', () => {
    const ch = (id: number): RoutingChannel => ({
      id,
      name: `c${id}`,
      enabled: true,
      carriers: ['cmcc', 'cucc', 'ctcc'],
      messageTypes: ['notification'],
      weight: 1,
    });
    const channels = new Map([
      [1, ch(1)],
      [2, ch(2)],
    ]);
    const health = new Map([
      [1, healthOf(true, INITIAL_BREAKER)],
      [2, healthOf(true, { degraded: true, sinceMs: 1, rate: 0.7, samples: 100 })],
    ]);
    const m = { tenantId: 1, type: 'notification' as const, recipient: '+8613800138000', content: 'x' };
    const credit: ProbeCredit = new Map();
    const counts = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const probed = probeFor(credit, new Map([[2, 0.02]]));
      const d = chooseChannel(
        m,
        { rules: [] },
        channels,
        probed === null ? health : probeHealth(health, probed),
      );
      if (d.kind === 'channel') counts.set(d.channel.id, (counts.get(d.channel.id) ?? 0) + 1);
    }
    expect(counts.get(2)).toBe(40);
    expect(counts.get(1)).toBe(1960);
  });
});

describe('groups fully degraded', () => {
  it('names a group only when every bound channel in it is degraded', () => {
    const bad = healthOf(true, { degraded: true, sinceMs: 1, rate: 0.5, samples: 80 });
    const health = new Map([
      [1, bad],
      [2, bad],
      [3, healthOf(true, INITIAL_BREAKER)],
      [4, { bound: false }],
    ]);
    const groups = new Map<string, number[]>([
      ['route 1', [1, 2]],
      ['route 2', [1, 3]],
      ['route 3', [1, 4]],
      ['route 4', [4]],
    ]);
    expect(fullyDegradedGroups(groups, health)).toEqual(['route 1', 'route 3']);
  });
});

describe('a node’s early look at the receipts it stored', () => {
  const bools = (n: number, delivered: number) => Array.from({ length: n }, (_, i) => i < delivered);
  it('asks for a step when the breaker’s rules would fire on them, as stepBreaker does', () => {
    // 160 good, then 40 at 70 %: the quick rule.
    const fall = [...bools(160, 160), ...bools(40, 28)];
    expect(looksFallen(fall, DEFAULT_BREAKER)).toBe(true);
    expect(
      stepBreaker(
        INITIAL_BREAKER,
        fall.map((d, i) => ({ sentAtMs: i, delivered: d })),
        DEFAULT_BREAKER,
        1,
      ).switched?.kind,
    ).toBe('degraded');
    // The window rule: 85 % over 100.
    expect(looksFallen(bools(100, 85).reverse(), DEFAULT_BREAKER)).toBe(true);
    // Too few, or at the threshold.
    expect(looksFallen(bools(30, 10), DEFAULT_BREAKER)).toBe(false);
    expect(looksFallen(bools(100, 90).reverse(), DEFAULT_BREAKER)).toBe(false);
  });

  it('asks exactly when stepBreaker would switch, and never for a channel at 95 %, failures spread or bunched', () => {
    for (const [every, run] of [
      [14, 1],
      [56, 4],
      [20, 1],
      [80, 4],
    ] as const) {
      const stream = Array.from({ length: 3000 }, (_, i) => i % every >= run);
      for (let end = 1; end <= stream.length; end += 3) {
        const recent = stream.slice(Math.max(0, end - 200), end);
        const asks = looksFallen(recent, DEFAULT_BREAKER);
        const outcomes = recent.map((delivered, i) => ({ sentAtMs: i, delivered }));
        expect(asks).toBe(stepBreaker(INITIAL_BREAKER, outcomes, DEFAULT_BREAKER, 1).switched !== null);
        if (run / every <= 0.05) expect(asks).toBe(false);
      }
    }
  });
});
