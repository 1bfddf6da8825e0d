import { describe, expect, it } from 'vitest';
import { CommandStatus } from '../../smpp/constants.ts';
import {
  DELIVERED,
  decideFate,
  decideSubmit,
  EXPIRED,
  newTokenBucket,
  receiptIdOf,
  responseIdOf,
  sampleLatencyMs,
  takeToken,
  wantsReceipt,
} from './decisions.models.ts';
import { parseProfileFile } from './profile-file.models.ts';
import { BUILT_IN_PROFILES, chooseProfile, profileMap } from './simulator.models.ts';
import { seeded } from './test-helpers.ts';
import { TimeBuckets } from './time-buckets.ts';

const profiles = profileMap();
const profile = (name: string) => profiles.get(name)!;

describe('chooseProfile', () => {
  it('takes the system_id, then the system_type, then default; a forced name wins', () => {
    const pick = (systemId: string, systemType = '', forced?: string) =>
      chooseProfile({ systemId, systemType, profiles, forced }).name;
    expect(pick('flaky')).toBe('flaky');
    expect(pick('hongyan', 'throttle')).toBe('throttle');
    expect(pick('hongyan', 'nothing')).toBe('default');
    expect(pick('flaky', 'throttle')).toBe('flaky');
    expect(pick('flaky', '', 'blackhole')).toBe('blackhole');
  });

  it('has the documented built-in profiles', () => {
    expect(BUILT_IN_PROFILES.map((p) => p.name)).toEqual([
      'default',
      'realistic',
      'flaky',
      'throttle',
      'blackhole',
      'bindfail',
    ]);
  });
});

describe('decisions', () => {
  it('default delivers everything within a second', () => {
    const random = seeded(1);
    const p = profile('default');
    for (let i = 0; i < 2_000; i++) {
      expect(decideSubmit(p, random)).toBe('accept');
      expect(decideFate(p, random)).toBe(DELIVERED);
      const latency = sampleLatencyMs(p.receiptLatencyMs, random);
      expect(latency).toBeGreaterThanOrEqual(20);
      expect(latency).toBeLessThanOrEqual(300);
    }
  });

  it('realistic: about 95% delivered, 3% undelivered, 2% expired, 0.5% rejected', () => {
    const random = seeded(2);
    const p = profile('realistic');
    const n = 200_000;
    const fates = { DELIVRD: 0, UNDELIV: 0, EXPIRED: 0 };
    let rejected = 0;
    const latencies: number[] = [];
    for (let i = 0; i < n; i++) {
      if (decideSubmit(p, random) === 'reject') rejected++;
      fates[decideFate(p, random).stat]++;
      latencies.push(sampleLatencyMs(p.receiptLatencyMs, random));
    }
    expect(fates.DELIVRD / n).toBeCloseTo(0.95, 2);
    expect(fates.UNDELIV / n).toBeCloseTo(0.03, 2);
    expect(fates.EXPIRED / n).toBeCloseTo(0.02, 2);
    expect(rejected / n).toBeCloseTo(0.005, 2);
    latencies.sort((a, b) => a - b);
    expect(latencies[0]).toBeGreaterThanOrEqual(500);
    expect(latencies.at(-1)).toBeLessThanOrEqual(30_000);
    expect(latencies[n / 2]! / 3000).toBeCloseTo(1, 1);
  });

  it('splits one draw into no response, queue full, reject, accept', () => {
    const p = { deliveryRate: 1, expiredRate: 0, noResponseRate: 0.1, queueFullRate: 0.1, rejectRate: 0.1 };
    expect(decideSubmit(p, () => 0.05)).toBe('no_response');
    expect(decideSubmit(p, () => 0.15)).toBe('queue_full');
    expect(decideSubmit(p, () => 0.25)).toBe('reject');
    expect(decideSubmit(p, () => 0.35)).toBe('accept');
    expect(decideSubmit(profile('blackhole'), Math.random)).toBe('no_response');
  });

  it('asks for a receipt per registered_delivery', () => {
    expect(wantsReceipt(0, DELIVERED)).toBe(false);
    expect(wantsReceipt(1, DELIVERED)).toBe(true);
    expect(wantsReceipt(2, DELIVERED)).toBe(false);
    expect(wantsReceipt(2, EXPIRED)).toBe(true);
  });

  it('formats ids per idFormat', () => {
    expect([responseIdOf(255, 'decimal'), receiptIdOf(255, 'decimal')]).toEqual(['255', '255']);
    expect([responseIdOf(255, 'hex'), receiptIdOf(255, 'hex')]).toEqual(['ff', 'ff']);
    expect([
      responseIdOf(255, 'hex-resp-decimal-receipt'),
      receiptIdOf(255, 'hex-resp-decimal-receipt'),
    ]).toEqual(['ff', '255']);
  });

  it('token bucket: one second of burst, then the rate', () => {
    const bucket = newTokenBucket(10, 0);
    let ok = 0;
    for (let i = 0; i < 20; i++) if (takeToken(bucket, 10, 0)) ok++;
    expect(ok).toBe(10);
    expect(takeToken(bucket, 10, 50)).toBe(false);
    expect(takeToken(bucket, 10, 100)).toBe(true);
    expect(takeToken(bucket, 10, 100)).toBe(false);
  });
});

describe('TimeBuckets', () => {
  it('releases items in due order, never early', () => {
    const buckets = new TimeBuckets<number>(10);
    const random = seeded(3);
    for (let i = 0; i < 1000; i++) buckets.add(Math.floor(random() * 1000), i);
    expect(buckets.size).toBe(1000);
    let last = -1;
    let taken = 0;
    for (let now = 0; now <= 1010; now += 7) {
      buckets.takeDue(now, () => {
        taken++;
      });
      const next = buckets.nextDueMs();
      if (next !== undefined) {
        expect(next).toBeGreaterThan(now);
        expect(next).toBeGreaterThanOrEqual(last);
        last = next;
      }
    }
    expect(taken).toBe(1000);
    expect(buckets.size).toBe(0);
  });

  it('never releases an item before its due time', () => {
    const buckets = new TimeBuckets<number>(10);
    buckets.add(15, 15);
    buckets.add(20, 20);
    const out: number[] = [];
    buckets.takeDue(14, (v) => out.push(v));
    expect(out).toEqual([]);
    buckets.takeDue(19, (v) => out.push(v));
    expect(out).toEqual([]);
    buckets.takeDue(20, (v) => out.push(v));
    expect(out).toEqual([15, 20]);
  });
});

describe('parseProfileFile', () => {
  it('accepts profiles based on built-ins and on earlier ones', () => {
    const result = parseProfileFile({
      profiles: [
        { name: 'slow', base: 'realistic', receiptLatencyMs: { min: 1000, median: 5000, max: 60000 } },
        { name: 'slow-hex', base: 'slow', idFormat: 'hex', rejectStatuses: [CommandStatus.ESME_RINVDSTADR] },
      ],
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.profiles[0]!.deliveryRate).toBe(0.95);
    expect(result.profiles[1]!.receiptLatencyMs.median).toBe(5000);
    expect(result.profiles[1]!.idFormat).toBe('hex');
  });

  it('reports every bad field with a stable message', () => {
    const result = parseProfileFile([
      {
        name: 'bad',
        base: 'nope',
        deliveryRate: 2,
        receiptLatencyMs: { min: 10, median: 5, max: 20 },
        replyLatencyMs: 'soon',
        rejectStatuses: [0],
        throttleAboveTps: 0,
        disconnectAfterSubmits: 1.5,
        replies: ['x'.repeat(200)],
        idFormat: 'octal',
        bindFail: 'yes',
        colour: 'blue',
      },
      { name: 'this name is far too long' },
      'not an object',
      { name: 'sums', deliveryRate: 0.9, expiredRate: 0.2, noResponseRate: 0.6, rejectRate: 0.6 },
    ]);
    expect(result).toEqual({
      ok: false,
      problems: [
        'profiles[0] "bad": colour: unknown field',
        'profiles[0] "bad": base: must name a built-in profile or one defined earlier in the file',
        'profiles[0] "bad": deliveryRate: must be a number from 0 to 1',
        'profiles[0] "bad": receiptLatencyMs: must satisfy min <= median <= max',
        'profiles[0] "bad": replyLatencyMs: expected an object { "min", "median", "max" } in milliseconds',
        'profiles[0] "bad": rejectStatuses: must be a list of SMPP command_status codes from 1 to 0xFFFFFFFF',
        'profiles[0] "bad": throttleAboveTps: must be a number of submits per second above 0, or null',
        'profiles[0] "bad": disconnectAfterSubmits: must be a whole number from 1, or null',
        'profiles[0] "bad": replies: must be a list of non-empty texts that each fit one SMS',
        'profiles[0] "bad": idFormat: must be one of decimal, hex, hex-resp-decimal-receipt',
        'profiles[0] "bad": bindFail: must be true or false',
        'profiles[1] "this name is far too long": name: must be 1 to 15 letters, digits, "_", "-" or "."',
        'profiles[2]: expected an object',
        'profiles[3] "sums": deliveryRate + expiredRate: must not exceed 1',
        'profiles[3] "sums": noResponseRate + queueFullRate + rejectRate: must not exceed 1',
      ],
    });
  });

  it('refuses a file that is not a list of profiles', () => {
    expect(parseProfileFile({ nope: 1 })).toEqual({
      ok: false,
      problems: ['expected { "profiles": [ ... ] } or an array of profiles'],
    });
  });
});
