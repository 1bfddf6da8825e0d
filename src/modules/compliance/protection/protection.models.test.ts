// The pure rules of recipient protection, without a database.
import { describe, expect, it } from 'vitest';
import { readImportCsv } from './lists.models.ts';
import {
  DEFAULT_SETTINGS,
  listVerdict,
  mergeSettings,
  normalizeKeyword,
  settingsProblem,
  trippedWindow,
} from './protection.models.ts';
import { nextOpening, zonesOf } from './quiet-hours.models.ts';

const day = { start: '08:00', end: '22:00' };

describe('opt-out keywords', () => {
  it('fold width, case, surrounding spaces and punctuation, but not inner text', () => {
    expect(normalizeKeyword('  td ')).toBe('TD');
    expect(normalizeKeyword('ＴＤ')).toBe('TD');
    expect(normalizeKeyword('退订。')).toBe('退订');
    expect(normalizeKeyword('\u3000Stop!')).toBe('STOP');
    expect(normalizeKeyword('TD please')).toBe('TD PLEASE');
  });
});

describe('frequency caps', () => {
  it('has seed 002 defaults: verification 1/minute, 10/hour, 15/day; marketing 3/day; notification 50/day', () => {
    expect(DEFAULT_SETTINGS.caps).toEqual({
      verification: { minute: 1, hour: 10, day: 15 },
      notification: { minute: null, hour: null, day: 50 },
      marketing: { minute: null, hour: null, day: 3 },
    });
  });

  it('names the first window one more message would exceed', () => {
    const v = DEFAULT_SETTINGS.caps.verification;
    expect(trippedWindow(v, { minute: 0, hour: 0, day: 0 })).toBeNull();
    expect(trippedWindow(v, { minute: 1, hour: 1, day: 1 })).toEqual({ window: 'minute', limit: 1 });
    expect(trippedWindow(v, { minute: 0, hour: 10, day: 10 })).toEqual({ window: 'hour', limit: 10 });
    expect(trippedWindow(v, { minute: 0, hour: 3, day: 15 })).toEqual({ window: 'day', limit: 15 });
    expect(
      trippedWindow({ minute: null, hour: null, day: null }, { minute: 99, hour: 99, day: 99 }),
    ).toBeNull();
  });

  it('merges a tenant patch over the defaults and refuses bad values', () => {
    const merged = mergeSettings(DEFAULT_SETTINGS, { caps: { verification: { minute: null } } });
    expect(merged.caps.verification).toEqual({ minute: null, hour: 10, day: 15 });
    expect(merged.caps.marketing.day).toBe(3);
    expect(settingsProblem({ caps: { marketing: { day: -1 } } })).toMatch(/caps.marketing.day/);
    expect(settingsProblem({ quiet_hours: { start: '25:00' } })).toMatch(/quiet_hours.start/);
    expect(
      settingsProblem({ caps: { marketing: { day: 5 } }, quiet_hours: { action: 'reject' } }),
    ).toBeNull();
  });
});

describe('lists', () => {
  it('blacklists win over opt-outs; opt-outs spare verification codes', () => {
    expect(listVerdict(new Set(['opt_out', 'tenant_blacklist']), 'marketing')).toBe('tenant_blacklist');
    expect(listVerdict(new Set(['opt_out', 'platform_blacklist']), 'marketing')).toBe('platform_blacklist');
    expect(listVerdict(new Set(['opt_out']), 'notification')).toBe('opt_out');
    expect(listVerdict(new Set(['opt_out']), 'verification')).toBeNull();
    expect(listVerdict(new Set(['tenant_blacklist']), 'verification')).toBe('tenant_blacklist');
  });

  it('reads an import CSV to E.164 with a header, reasons and duplicates', () => {
    const read = readImportCsv(
      'phone,reason,note\n13800138000,complaint,投诉\n+86 138 0013 8000\n\n13900139000\n',
      {
        defaultRegion: 'CN',
        defaultReason: 'other',
      },
    );
    expect(read).toEqual({
      ok: true,
      duplicates: 1,
      entries: [
        { phone: '+8613800138000', reason: 'complaint', note: '投诉' },
        { phone: '+8613900139000', reason: 'other', note: null },
      ],
    });
  });

  it('reports every bad line by its line number and imports nothing', () => {
    const read = readImportCsv('13800138000\nnot a number\n13900139000,spam\n010-12345678\n', {
      defaultRegion: 'CN',
      defaultReason: 'other',
    });
    expect(read.ok).toBe(false);
    if (read.ok || read.tooLarge) throw new Error('expected bad lines');
    expect(read.invalid).toBe(3);
    expect(read.lines.map((l) => l.line)).toEqual([2, 3, 4]);
    expect(read.lines[2]!.reason).toMatch(/phone.not_mobile/);
  });
});

describe('quiet hours', () => {
  const cn = zonesOf('+8613800138000');

  it('passes marketing inside Beijing daytime and holds it until 08:00 outside', () => {
    const noon = new Date('2026-03-01T04:00:00Z'); // 12:00 in Beijing
    expect(nextOpening(noon, cn, day)).toEqual(noon);
    const late = new Date('2026-03-01T14:30:00Z'); // 22:30 in Beijing
    expect(nextOpening(late, cn, day)).toEqual(new Date('2026-03-02T00:00:00Z')); // 08:00 next day
    const early = new Date('2026-03-01T21:15:30Z'); // 05:15:30 in Beijing
    expect(nextOpening(early, cn, day)).toEqual(new Date('2026-03-02T00:00:00Z'));
  });

  it('in a country of several zones, waits until it is daytime in each', () => {
    const us = zonesOf('+12125550123');
    expect(us).toContain('America/Los_Angeles');
    // 15:00 UTC in March: 11:00 in New York, 08:00 in Los Angeles: open everywhere.
    expect(nextOpening(new Date('2026-03-20T15:00:00Z'), us, day)).toEqual(new Date('2026-03-20T15:00:00Z'));
    // 13:00 UTC: 09:00 in New York but 06:00 in Los Angeles: held until 08:00 there.
    expect(nextOpening(new Date('2026-03-20T13:00:00Z'), us, day)).toEqual(new Date('2026-03-20T15:00:00Z'));
  });

  it('supports a window that crosses midnight', () => {
    const night = { start: '22:00', end: '06:00' };
    expect(nextOpening(new Date('2026-03-01T15:00:00Z'), cn, night)).toEqual(
      new Date('2026-03-01T15:00:00Z'),
    );
    expect(nextOpening(new Date('2026-03-01T04:00:00Z'), cn, night)).toEqual(
      new Date('2026-03-01T14:00:00Z'),
    );
  });
});
