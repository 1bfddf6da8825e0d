import { describe, expect, it } from 'vitest';
import { deliveryRateFor, fateFor } from './decisions.models.ts';
import { parseProfileFile } from './profile-file.models.ts';
import { fastProfile, seeded } from './test-helpers.ts';

describe('a delivery rate that changes over time and per carrier', () => {
  const profile = fastProfile('phases', {
    deliveryPhases: [
      { afterAccepted: 1000, deliveryRate: 0.7 },
      { afterAccepted: 3000, deliveryRate: 1 },
    ],
    prefixDeliveryRates: [
      { prefix: '86133', deliveryRate: 0.5 },
      { prefix: '861331', deliveryRate: 0 },
    ],
  });

  it('switches rate at each phase, counted in accepted submits', () => {
    expect(deliveryRateFor(profile, '+8613800000000', 999)).toBe(1);
    expect(deliveryRateFor(profile, '+8613800000000', 1000)).toBe(0.7);
    expect(deliveryRateFor(profile, '+8613800000000', 2999)).toBe(0.7);
    expect(deliveryRateFor(profile, '+8613800000000', 3000)).toBe(1);
  });

  it('gives a carrier segment its own rate, the longest prefix first', () => {
    expect(deliveryRateFor(profile, '8613300000000', 0)).toBe(0.5);
    expect(deliveryRateFor(profile, '+8613310000000', 2000)).toBe(0);
  });

  it('delivers about the phase rate of the messages in it', () => {
    const random = seeded(7);
    let delivered = 0;
    for (let i = 0; i < 2000; i++)
      if (fateFor(profile, '+8613800000000', random, 1000 + i).stat === 'DELIVRD') delivered++;
    expect(delivered / 2000).toBeGreaterThan(0.66);
    expect(delivered / 2000).toBeLessThan(0.74);
  });

  it('reads both fields from a profile file and reports bad ones', () => {
    const ok = parseProfileFile({
      profiles: [
        {
          name: 'falls',
          deliveryPhases: [{ afterAccepted: 500, deliveryRate: 0.7 }],
          prefixDeliveryRates: [{ prefix: '86139', deliveryRate: 0.9 }],
        },
      ],
    });
    expect(ok.ok).toBe(true);
    const bad = parseProfileFile({ profiles: [{ name: 'bad', deliveryPhases: [{ afterAccepted: -1 }] }] });
    expect(bad.ok).toBe(false);
  });
});
