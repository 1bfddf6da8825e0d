import { describe, expect, it } from 'vitest';
import { parseSendAt, scheduleOf } from './messages.models.ts';

describe('parseSendAt', () => {
  it('reads ISO 8601 times with a zone', () => {
    expect(parseSendAt('2027-03-01T08:30:00+08:00')?.toISOString()).toBe('2027-03-01T00:30:00.000Z');
    expect(parseSendAt('2028-02-29T00:00Z')?.toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(parseSendAt('2027-12-31T23:59:59.999Z')?.toISOString()).toBe('2027-12-31T23:59:59.999Z');
  });

  it('refuses days, hours and zones that do not exist instead of rolling them over', () => {
    for (const bad of [
      '2027-02-30T00:00:00Z',
      '2027-02-29T00:00:00Z',
      '2100-02-29T00:00:00Z',
      '2027-04-31T00:00:00Z',
      '2027-00-10T00:00:00Z',
      '2027-13-01T00:00:00Z',
      '2027-01-00T00:00:00Z',
      '2027-01-01T24:00:00Z',
      '2027-01-01T23:60:00Z',
      '2027-01-01T23:59:60Z',
      '2027-01-01T10:00:00+24:00',
      '2027-01-01T10:00:00+08:60',
      '2027-01-01T10:00:00',
      '2027-01-01',
    ]) {
      expect({ bad, at: parseSendAt(bad) }).toEqual({ bad, at: null });
    }
  });
});

describe('scheduleOf', () => {
  const now = new Date('2027-01-01T00:00:00Z');
  it('holds a future time, sends a past one now, refuses more than a year ahead', () => {
    expect(scheduleOf('2027-02-28T00:00:00Z', now)).toEqual({
      ok: true,
      at: new Date('2027-02-28T00:00:00Z'),
    });
    expect(scheduleOf('2026-12-31T00:00:00Z', now)).toEqual({ ok: true, at: null });
    expect(scheduleOf('2028-02-01T00:00:00Z', now)).toEqual({ ok: false });
    expect(scheduleOf('2027-02-30T00:00:00Z', now)).toEqual({ ok: false });
  });
});
