import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

describe('backoffDelay', () => {
  const opts = { baseMs: 500, maxMs: 30_000 };

  it('doubles from baseMs and caps at maxMs', () => {
    expect([0, 1, 2, 3, 4, 7, 100, 1e6].map((a) => backoffDelay(a, opts))).toEqual([
      500, 500, 1000, 2000, 4000, 30_000, 30_000, 30_000,
    ]);
    expect(backoffDelay(Number.NaN, opts)).toBe(500);
  });

  it('takes up to `jitter` of the delay off at random', () => {
    expect(backoffDelay(3, { ...opts, jitter: 0.2, random: () => 0 })).toBe(2000);
    expect(backoffDelay(3, { ...opts, jitter: 0.2, random: () => 0.999999 })).toBe(1600);
    expect(backoffDelay(3, { ...opts, jitter: 1, random: () => 0.5 })).toBe(1000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(10, { ...opts, jitter: 0.5 });
      expect(d).toBeGreaterThanOrEqual(15_000);
      expect(d).toBeLessThanOrEqual(30_000);
    }
  });
});
