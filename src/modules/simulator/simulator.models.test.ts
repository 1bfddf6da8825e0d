import { describe, expect, it } from 'vitest';
import { CommandStatus } from '../../smpp/constants.ts';
import {
  DELIVERED,
  decideFate,
  decideSubmit,
  EXPIRED,
  fateCode,
  fateFor,
  fateOfCode,
  newTokenBucket,
  numberOfUuid,
  receiptIdOf,
  responseIdOf,
  sampleLatencyMs,
  takeToken,
  wantsReceipt,
} from './decisions.models.ts';
import { parseProfileFile } from './profile-file.models.ts';
import { RecentMessages } from './recent-messages.ts';
import {
  BUILT_IN_PROFILES,
  chooseProfile,
  ID_FORMATS,
  idConventionOf,
  profileMap,
} from './simulator.models.ts';
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
      'sequential',
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
    expect([
      responseIdOf(255, 'decimal-resp-hex-receipt'),
      receiptIdOf(255, 'decimal-resp-hex-receipt'),
    ]).toEqual(['255', 'ff']);
    expect([responseIdOf(1001, 'sequential'), receiptIdOf(1001, 'sequential')]).toEqual(['1001', '1001']);
  });

  it('uuid ids look like UUIDs, differ in their first half, and give their number back', () => {
    const n = 1_764_480_000_000_123;
    const id = responseIdOf(n, 'uuid');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(receiptIdOf(n, 'uuid')).toBe(id);
    expect(numberOfUuid(id)).toBe(n);
    expect(numberOfUuid(id.toUpperCase())).toBe(n);
    expect(responseIdOf(n + 1, 'uuid').slice(0, 8)).not.toBe(id.slice(0, 8));
    // A UUID whose first half was not made from its number is not one of ours.
    expect(numberOfUuid(`00000000-0000-0000-${id.slice(19)}`)).toBeUndefined();
    expect(numberOfUuid('1001')).toBeUndefined();
  });

  it('names the channel id convention each id format needs; default reads ids as-is', () => {
    expect(idConventionOf(profile('default').idFormat)).toBe('as-is');
    expect(idConventionOf(profile('sequential').idFormat)).toBe('as-is');
    expect(idConventionOf('uuid')).toBe('as-is');
    expect(idConventionOf('hex')).toBe('as-is');
    expect(idConventionOf('hex-resp-decimal-receipt')).toBe('hex-resp-decimal-receipt');
    expect(idConventionOf('decimal-resp-hex-receipt')).toBe('decimal-resp-hex-receipt');
  });

  it('built-in profiles spread over the id styles; sequential answers with 1001.. and receipts at once', () => {
    const formats = new Set(BUILT_IN_PROFILES.map((p) => p.idFormat));
    expect([...formats].sort()).toEqual([...ID_FORMATS].sort());
    expect(profile('sequential')).toMatchObject({
      idFormat: 'sequential',
      receiptLatencyMs: { min: 0, median: 0, max: 0 },
      deliveryRate: 1,
    });
  });

  it('fails exactly the recipients whose number ends with an undelivered suffix', () => {
    const p = { ...profile('default'), undeliveredSuffixes: ['8', '9'] };
    const random = seeded(9);
    for (let i = 0; i < 100; i++) {
      const fate = fateFor(p, `86138000000${String(i).padStart(2, '0')}`, random);
      expect(fate.stat, `recipient ${i}`).toBe(i % 10 >= 8 ? 'UNDELIV' : 'DELIVRD');
    }
    expect(fateFor(p, '8613800000018', random)).toMatchObject({ stat: 'UNDELIV', err: 1, errText: '001' });
  });

  it('writes each fate as a code and reads it back', () => {
    const random = seeded(4);
    const p = { deliveryRate: 0.2, expiredRate: 0.2 };
    for (let i = 0; i < 500; i++) {
      const fate = decideFate(p, random);
      expect(fateOfCode(fateCode(fate))).toBe(fate);
    }
    expect(fateOfCode('DELIVRD:7')).toBeUndefined();
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

describe('RecentMessages (query_sm)', () => {
  it('finds a message by the id its response gave, per id format, never by the other reading alone', () => {
    const recent = new RecentMessages(100_000);
    recent.remember(4162, 10, DELIVERED);
    recent.remember(16738, 20, EXPIRED);
    expect(recent.find('4162', 'sequential')?.fate).toBe(DELIVERED);
    expect(recent.find('4162', 'hex')?.fate).toBe(EXPIRED); // 0x4162 = 16738
    expect(recent.find('1042', 'sequential')).toBeUndefined(); // 4162 in hex, not a decimal id given
    expect(recent.find('1042', 'decimal-resp-hex-receipt')?.fate).toBe(DELIVERED);
    expect(recent.find(responseIdOf(16738, 'uuid'), 'uuid')?.fate).toBe(EXPIRED);
    expect(recent.find('16738', 'uuid')).toBeUndefined();
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
        'profiles[0] "bad": idFormat: must be one of decimal, sequential, hex, uuid, hex-resp-decimal-receipt, decimal-resp-hex-receipt',
        'profiles[0] "bad": bindFail: must be true or false',
        'profiles[1] "this name is far too long": name: must be 1 to 15 letters, digits, "_", "-" or "."',
        'profiles[2]: expected an object',
        'profiles[3] "sums": deliveryRate + expiredRate: must not exceed 1',
        'profiles[3] "sums": noResponseRate + queueFullRate + rejectRate: must not exceed 1',
      ],
    });
  });

  it('reads undeliveredSuffixes as a list of number endings', () => {
    const good = parseProfileFile([{ name: 'p', undeliveredSuffixes: ['8', '19'] }]);
    expect(good.ok && good.profiles[0]!.undeliveredSuffixes).toEqual(['8', '19']);
    expect(parseProfileFile([{ name: 'p', undeliveredSuffixes: ['8a'] }])).toEqual({
      ok: false,
      problems: [
        'profiles[0] "p": undeliveredSuffixes: must be a list of phone number endings (1 to 20 digits)',
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
