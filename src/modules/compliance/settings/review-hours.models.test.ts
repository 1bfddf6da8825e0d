import { describe, expect, it } from 'vitest';
import {
  type DeskHours,
  type ReviewCalendar,
  reviewDueAt,
  reviewStartsAt,
  reviewTiming,
  workingMinutesWaited,
} from './review-hours.models.ts';
import {
  DEFAULT_COMPLIANCE_SETTINGS,
  deskHours,
  mergeComplianceSettings,
  reviewCalendar,
  settingsProblem,
} from './settings.models.ts';

// Beijing is UTC+8 all year. 2026-03-02 is a Monday; 2026-03-06 a Friday.
const office = deskHours(DEFAULT_COMPLIANCE_SETTINGS, 'signature');
/** The office desk without seed 002's "节假日1天内": what arrives on a closed day waits for a working one. */
const officeOnly: DeskHours = { ...office, holidayTargetMinutes: null };
const marketing = deskHours(DEFAULT_COMPLIANCE_SETTINGS, 'marketing');
const calendar: ReviewCalendar = { timeZone: 'Asia/Shanghai', holidays: ['2026-10-01', '2026-10-02'] };
/** A Beijing wall-clock time as an instant. */
const bj = (local: string) => new Date(`${local}+08:00`);

describe('due time in working hours (seed 002 defaults)', () => {
  const cases: [string, DeskHours, string, string][] = [
    ['signature, Monday 10:00: two hours later', office, '2026-03-02T10:00', '2026-03-02T12:00'],
    [
      'signature, 19:30: 30 minutes today, 90 tomorrow from 9:00',
      office,
      '2026-03-02T19:30',
      '2026-03-03T10:30',
    ],
    ['signature, 23:00: from 9:00 the next day', office, '2026-03-02T23:00', '2026-03-03T11:00'],
    ['signature, 06:00: from the opening', office, '2026-03-02T06:00', '2026-03-02T11:00'],
    ['signature, exactly at closing: the next opening', office, '2026-03-02T20:00', '2026-03-03T11:00'],
    ['signature, Friday 19:00: one hour Friday, one Monday', office, '2026-03-06T19:00', '2026-03-09T10:00'],
    ['signature, Saturday: within a day (节假日1天内)', office, '2026-03-07T15:00', '2026-03-08T15:00'],
    [
      'signature, Sunday night: Monday 9:00 + 2 h comes first',
      office,
      '2026-03-08T23:59',
      '2026-03-09T11:00',
    ],
    ['signature, before a holiday: the holidays are skipped', office, '2026-09-30T19:00', '2026-10-05T10:00'],
    ['signature, on a holiday: within a day', office, '2026-10-01T10:00', '2026-10-02T10:00'],
    [
      'without the holiday rule, Saturday: from Monday 9:00',
      officeOnly,
      '2026-03-07T15:00',
      '2026-03-09T11:00',
    ],
    [
      'without the holiday rule, on a holiday: from the next working day',
      officeOnly,
      '2026-10-01T10:00',
      '2026-10-05T11:00',
    ],
    ['marketing, 10:00: half an hour', marketing, '2026-03-01T10:00', '2026-03-01T10:30'],
    [
      'marketing, 19:50: taken in, due before the 23:00 close',
      marketing,
      '2026-03-01T19:50',
      '2026-03-01T20:20',
    ],
    [
      'marketing, 20:30: after intake, from 9:00 the next day',
      marketing,
      '2026-03-01T20:30',
      '2026-03-02T09:30',
    ],
    ['marketing, 06:00: from the opening', marketing, '2026-03-01T06:00', '2026-03-01T09:30'],
    ['marketing, Saturday: the desk works every day', marketing, '2026-03-07T10:00', '2026-03-07T10:30'],
    [
      'marketing, on a holiday: open (it does not close on holidays)',
      marketing,
      '2026-10-01T10:00',
      '2026-10-01T10:30',
    ],
  ];
  it.each(cases)('%s', (_name, desk, submitted, due) => {
    expect(reviewDueAt(bj(submitted), desk, calendar)).toEqual(bj(due));
  });
});

describe('working minutes waited and the overdue flag', () => {
  const cases: [string, DeskHours, string, string, number, boolean][] = [
    ['same day', office, '2026-03-02T10:00', '2026-03-02T11:15', 75, false],
    ['across the night', office, '2026-03-02T19:30', '2026-03-03T09:30', 60, false],
    ['over the weekend nothing counts', office, '2026-03-06T19:00', '2026-03-09T09:00', 60, false],
    ['overdue once past the due time', office, '2026-03-06T19:00', '2026-03-09T10:01', 121, true],
    [
      'submitted after hours, before intake: none yet',
      office,
      '2026-03-02T21:00',
      '2026-03-03T08:00',
      0,
      false,
    ],
    ['over a holiday', office, '2026-09-30T19:00', '2026-10-05T09:30', 90, false],
    ['marketing after 20:00 counts from 9:00', marketing, '2026-03-01T21:00', '2026-03-02T09:20', 20, false],
    ['marketing late', marketing, '2026-03-01T10:00', '2026-03-01T11:00', 60, true],
  ];
  it.each(cases)('%s', (_name, desk, submitted, now, minutes, overdue) => {
    expect(workingMinutesWaited(bj(submitted), bj(now), desk, calendar)).toBe(minutes);
    const timing = reviewTiming(bj(submitted), bj(now), desk, calendar);
    expect(timing).toMatchObject({
      review_minutes: minutes,
      overdue,
      target_review_minutes: desk.targetMinutes,
      due_at: reviewDueAt(bj(submitted), desk, calendar).toISOString(),
    });
    expect(timing.age_minutes).toBe(Math.floor((bj(now).getTime() - bj(submitted).getTime()) / 60_000));
  });
});

describe('other time zones and settings', () => {
  it("follows the zone's daylight-saving change (Europe/Berlin, last Sunday of March)", () => {
    const berlin: ReviewCalendar = { timeZone: 'Europe/Berlin', holidays: [] };
    const desk: DeskHours = { ...office, days: [1, 2, 3, 4, 5, 6, 7] };
    // Saturday 19:00 CET (UTC+1): one hour Saturday, then Sunday 9:00 CEST (UTC+2) + 1 hour.
    expect(reviewDueAt(new Date('2026-03-28T18:00:00Z'), desk, berlin)).toEqual(
      new Date('2026-03-29T08:00:00Z'),
    );
    expect(reviewStartsAt(new Date('2026-03-29T03:00:00Z'), desk, berlin)).toEqual(
      new Date('2026-03-29T07:00:00Z'),
    );
  });

  it('takes seed 002’s platform: signatures of at most 8 characters, a marketing desk closed on holidays', () => {
    const s = mergeComplianceSettings(DEFAULT_COMPLIANCE_SETTINGS, {
      signature_name: { max: 8 },
      review: { holidays: ['2026-10-01'], marketing: { closed_on_holidays: true } },
    });
    expect(s.signature_name).toEqual({ min: 2, max: 8 });
    expect(reviewDueAt(bj('2026-10-01T10:00'), deskHours(s, 'marketing'), reviewCalendar(s))).toEqual(
      bj('2026-10-02T09:30'),
    );
    expect(settingsProblem(s)).toBeNull();
  });

  it('works a weekend date made a working day (调休) like any working day', () => {
    const s = mergeComplianceSettings(DEFAULT_COMPLIANCE_SETTINGS, {
      review: { holidays: ['2026-10-01', '2026-10-02'], workdays: ['2026-09-27', '2026-10-10'] },
    });
    expect(settingsProblem(s)).toBeNull();
    const desk = deskHours(s, 'signature');
    const moved = reviewCalendar(s);
    // Sunday 2026-09-27 is worked: two working hours, not the holiday rule's day.
    expect(reviewDueAt(bj('2026-09-27T10:00'), desk, moved)).toEqual(bj('2026-09-27T12:00'));
    expect(workingMinutesWaited(bj('2026-09-27T10:00'), bj('2026-09-27T10:45'), desk, moved)).toBe(45);
    // Friday 2026-10-09 19:00: one hour Friday, one on Saturday 2026-10-10 (worked), not Monday.
    expect(reviewDueAt(bj('2026-10-09T19:00'), officeOnly, moved)).toEqual(bj('2026-10-10T10:00'));
    // The next Saturday is no working day.
    expect(reviewDueAt(bj('2026-10-17T10:00'), officeOnly, moved)).toEqual(bj('2026-10-19T11:00'));
  });

  it('refuses settings that cannot work', () => {
    const bad = (patch: Parameters<typeof mergeComplianceSettings>[1]) =>
      settingsProblem(mergeComplianceSettings(DEFAULT_COMPLIANCE_SETTINGS, patch));
    expect(bad({ signature_name: { min: 9, max: 8 } })).toMatch(/min/);
    expect(bad({ review: { time_zone: 'Mars/Olympus' } })).toMatch(/time zone/);
    expect(bad({ review: { holidays: ['2026-02-30'] } })).toMatch(/not a date/);
    expect(bad({ review: { workdays: ['2026-13-01'] } })).toMatch(/workdays.*not a date/);
    expect(bad({ review: { holidays: ['2026-10-10'], workdays: ['2026-10-10'] } })).toMatch(
      /both a holiday and a working day/,
    );
    expect(bad({ review: { template: { days: [] } } })).toMatch(/working day/);
    expect(bad({ review: { marketing: { open: '20:00', intake_until: '19:00' } } })).toMatch(
      /open < intake_until/,
    );
    expect(bad({ review: { signature: { intake_until: '21:00' } } })).toMatch(/intake_until <= close/);
  });
});
