// Platform-wide compliance settings, pure: their defaults (the clouds' 2–12 character signature
// names; seed 002's review hours), how a change merges into what is stored, and what makes a
// setting invalid. Stored in compliance_settings (one row) as the operator gave them.
import type { NameLimits } from '../signatures/signatures.models.ts';
import {
  type DeskHours,
  type ReviewCalendar,
  reviewDueAt,
  reviewTiming,
  type ReviewTiming,
} from './review-hours.models.ts';

export const REVIEW_KINDS = ['signature', 'template', 'marketing', 'qualification'] as const;
export type ReviewKind = (typeof REVIEW_KINDS)[number];

export interface DeskSettings {
  days: number[];
  open: string;
  close: string;
  intake_until: string;
  target_minutes: number;
  closed_on_holidays: boolean;
  /** Seed 002's "节假日1天内": an item submitted on a closed day is decided within these minutes. */
  holiday_target_minutes: number | null;
}

export interface ComplianceSettings {
  signature_name: NameLimits;
  review: {
    time_zone: string;
    holidays: string[];
    /** Weekend dates worked as working days (调休). */
    workdays: string[];
  } & Record<ReviewKind, DeskSettings>;
}

export interface SettingsPatch {
  signature_name?: Partial<NameLimits>;
  review?: {
    time_zone?: string;
    holidays?: string[];
    workdays?: string[];
  } & Partial<Record<ReviewKind, Partial<DeskSettings>>>;
}

const WORKING_WEEK = [1, 2, 3, 4, 5];

/**
 * Seed 002: signatures and templates in 2 working hours, accepted 9:00–20:00 on working days;
 * "节假日1天内" on weekends and holidays.
 */
const OFFICE_DESK: DeskSettings = {
  days: WORKING_WEEK,
  open: '09:00',
  close: '20:00',
  intake_until: '20:00',
  target_minutes: 120,
  closed_on_holidays: true,
  holiday_target_minutes: 1440,
};

export const DEFAULT_COMPLIANCE_SETTINGS: ComplianceSettings = {
  // The clouds allow 2–12 characters; seed 002's platform 8.
  signature_name: { min: 2, max: 12 },
  review: {
    time_zone: 'Asia/Shanghai',
    holidays: [],
    workdays: [],
    signature: OFFICE_DESK,
    template: OFFICE_DESK,
    // Seed 002: marketing batches are reviewed 9:00–23:00, "一般是半小时内"; what arrives after
    // 20:00 is reviewed from 9:00 the next day. The carriers' desks work every day.
    marketing: {
      days: [1, 2, 3, 4, 5, 6, 7],
      open: '09:00',
      close: '23:00',
      intake_until: '20:00',
      target_minutes: 30,
      closed_on_holidays: false,
      holiday_target_minutes: null,
    },
    // Seed 000: an applicant's qualification documents get their first review "在1-3个工作日内":
    // three working days of office hours (9:00–18:00), closed on holidays.
    qualification: {
      days: WORKING_WEEK,
      open: '09:00',
      close: '18:00',
      intake_until: '18:00',
      target_minutes: 3 * 9 * 60,
      closed_on_holidays: true,
      holiday_target_minutes: null,
    },
  },
};

export function mergeComplianceSettings(
  base: ComplianceSettings,
  patch: SettingsPatch | null | undefined,
): ComplianceSettings {
  if (!patch) return base;
  const review = patch.review ?? {};
  const desk = (kind: ReviewKind): DeskSettings => ({ ...base.review[kind], ...review[kind] });
  return {
    signature_name: { ...base.signature_name, ...patch.signature_name },
    review: {
      time_zone: review.time_zone ?? base.review.time_zone,
      holidays: review.holidays ? [...new Set(review.holidays)].sort() : base.review.holidays,
      workdays: review.workdays ? [...new Set(review.workdays)].sort() : (base.review.workdays ?? []),
      signature: desk('signature'),
      template: desk('template'),
      marketing: desk('marketing'),
      qualification: desk('qualification'),
    },
  };
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const isRealDate = (date: string) => {
  const d = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === date;
};
const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** What is wrong with whole settings (the schema has checked each field's form), or null. */
export function settingsProblem(s: ComplianceSettings): string | null {
  if (s.signature_name.min > s.signature_name.max) {
    return 'signature_name: min must not be above max';
  }
  if (!isTimeZone(s.review.time_zone)) return `review.time_zone: unknown time zone "${s.review.time_zone}"`;
  const badDate = s.review.holidays.find((d) => !isRealDate(d));
  if (badDate !== undefined) return `review.holidays: "${badDate}" is not a date`;
  const badWorkday = s.review.workdays.find((d) => !isRealDate(d));
  if (badWorkday !== undefined) return `review.workdays: "${badWorkday}" is not a date`;
  const both = s.review.workdays.find((d) => s.review.holidays.includes(d));
  if (both !== undefined) return `review: "${both}" cannot be both a holiday and a working day`;
  for (const kind of REVIEW_KINDS) {
    const d = s.review[kind];
    if (d.days.length === 0) return `review.${kind}.days: at least one working day`;
    if (!(minutesOf(d.open) < minutesOf(d.intake_until) && minutesOf(d.intake_until) <= minutesOf(d.close))) {
      return `review.${kind}: open < intake_until <= close (a desk's day does not cross midnight)`;
    }
  }
  return null;
}

export function deskHours(s: ComplianceSettings, kind: ReviewKind): DeskHours {
  const d = s.review[kind];
  return {
    days: d.days,
    open: d.open,
    close: d.close,
    intakeUntil: d.intake_until,
    targetMinutes: d.target_minutes,
    closedOnHolidays: d.closed_on_holidays,
    holidayTargetMinutes: d.holiday_target_minutes,
  };
}

export function reviewCalendar(s: ComplianceSettings): ReviewCalendar {
  return { timeZone: s.review.time_zone, holidays: s.review.holidays, workdays: s.review.workdays };
}

/** When a decision on an item of this kind submitted at `submittedAt` is due. */
export function reviewDueFor(s: ComplianceSettings, kind: ReviewKind, submittedAt: Date): Date {
  return reviewDueAt(submittedAt, deskHours(s, kind), reviewCalendar(s));
}

/** An item's age, working minutes waited, due time and overdue flag under the settings. */
export function reviewTimingFor(
  s: ComplianceSettings,
  kind: ReviewKind,
  submittedAt: Date,
  now: Date,
): ReviewTiming {
  return reviewTiming(submittedAt, now, deskHours(s, kind), reviewCalendar(s));
}
