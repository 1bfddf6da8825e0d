import { describe, expect, it } from 'vitest';
import {
  cronOf,
  dedupe,
  nextRunAfter,
  parsePasted,
  pickWinner,
  scheduleProblem,
  splitForTest,
  throttledSendAt,
  twoProportionZ,
} from './campaigns.models.ts';

describe('campaign models', () => {
  it('reads pasted lines: numbers with their columns, invalid ones by line, blank lines skipped', () => {
    const r = parsePasted('13800138000,Li,42\n\n  +8613900139000\tWang\nhello\n', ['name', 'code'], 'CN');
    expect(r.recipients).toEqual([
      { phone: '+8613800138000', fields: { name: 'Li', code: '42' } },
      { phone: '+8613900139000', fields: { name: 'Wang' } },
    ]);
    expect(r.invalid.map((i) => i.line)).toEqual([4]);
    expect(r.lines).toBe(3);
    expect(dedupe([{ phone: 'a' }, { phone: 'b' }, { phone: 'a' }])).toEqual({
      unique: [{ phone: 'a' }, { phone: 'b' }],
      duplicates: 1,
    });
  });

  it('runs recurring schedules in the time zone, until the end or the count', () => {
    const weekly = {
      kind: 'recurring' as const,
      rule: { kind: 'weekly' as const, time: '09:30', days: [1, 3] },
      time_zone: 'Asia/Shanghai',
    };
    expect(cronOf(weekly.rule)).toBe('30 9 * * 1,3');
    // Sunday 2026-11-29 12:00 UTC → Monday 09:30 in Shanghai = 01:30 UTC on 2026-11-30.
    expect(nextRunAfter(weekly, new Date('2026-11-29T12:00:00Z'), 0)?.toISOString()).toBe(
      '2026-11-30T01:30:00.000Z',
    );
    const monthly = {
      kind: 'recurring' as const,
      rule: { kind: 'monthly' as const, time: '08:00', day_of_month: 1 },
      time_zone: 'UTC',
      max_runs: 2,
    };
    expect(nextRunAfter(monthly, new Date('2026-11-15T00:00:00Z'), 1)?.toISOString()).toBe(
      '2026-12-01T08:00:00.000Z',
    );
    expect(nextRunAfter(monthly, new Date('2026-11-15T00:00:00Z'), 2)).toBeNull();
    const ending = {
      kind: 'recurring' as const,
      rule: { kind: 'daily' as const, time: '10:00' },
      time_zone: 'UTC',
      end_at: '2026-11-30T09:00:00Z',
    };
    expect(nextRunAfter(ending, new Date('2026-11-30T08:00:00Z'), 0)).toBeNull();
    expect(
      scheduleProblem({ kind: 'recurring', rule: { kind: 'cron', expression: 'not a cron' } }, new Date()),
    ).toMatch(/cron/);
    expect(
      scheduleProblem(
        { kind: 'recurring', rule: { kind: 'daily', time: '10:00' }, time_zone: 'Mars/Base' },
        new Date(),
      ),
    ).toMatch(/time zone/);
  });

  it('throttles a run one minute per `perMinute` recipients', () => {
    const start = new Date('2026-11-30T10:00:00Z');
    expect(throttledSendAt(99, 100, start, true)).toBeNull();
    expect(throttledSendAt(100, 100, start, true)?.toISOString()).toBe('2026-11-30T10:01:00.000Z');
    expect(throttledSendAt(250, 100, start, true)?.toISOString()).toBe('2026-11-30T10:02:00.000Z');
    expect(throttledSendAt(5000, null, start, true)).toBeNull();
  });

  it('splits the same audience the same way for the same seed, test recipients first', () => {
    const audience = Array.from({ length: 100 }, (_, i) => i);
    const settings = { variants: [{ name: 'A' }, { name: 'B' }], test_share: 0.2 };
    const a = splitForTest(audience, settings, 7);
    expect(splitForTest(audience, settings, 7)).toEqual(a);
    expect(splitForTest(audience, settings, 8)).not.toEqual(a);
    expect(a.filter((x) => x.variant === 'A').length).toBe(10);
    expect(a.filter((x) => x.variant === 'B').length).toBe(10);
    expect(a.slice(0, 20).every((x) => x.variant !== null)).toBe(true);
    expect(new Set(a.map((x) => x.item)).size).toBe(100);
  });

  it('compares two proportions and picks the winner by the tenant metric', () => {
    // 60/100 against 40/100: z = 2.828, p = 0.0047.
    const t = twoProportionZ(60, 100, 40, 100);
    expect(t.z).toBeCloseTo(2.828, 3);
    expect(t.p).toBeCloseTo(0.00468, 4);
    const results = [
      { name: 'A', recipients: 100, delivered: 90, clicked: 10, opted_out: 5 },
      { name: 'B', recipients: 100, delivered: 80, clicked: 30, opted_out: 1 },
    ];
    expect(pickWinner(results, 'delivery_rate').winner).toBe('A');
    expect(pickWinner(results, 'click_rate')).toMatchObject({ winner: 'B', significant: true });
    expect(pickWinner(results, 'opt_out_rate').winner).toBe('B');
  });
});
