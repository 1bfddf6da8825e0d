// Working-hours arithmetic of the review desks, pure: when an item submitted at some instant is
// due, how many working minutes it has waited, whether it is overdue (seed 002: signatures and
// templates "工作日2小时内", accepted 9:00–20:00; marketing reviewed 9:00–23:00, what arrives
// after 20:00 from 9:00 the next day).
//
// A desk works on its week days (ISO: 1 Monday … 7 Sunday) except the holiday dates when it
// closes on holidays, from `open` to `close` in the platform's time zone. An item is taken in
// from `open` to `intakeUntil`: one submitted later, or on a closed day, starts waiting at the
// next opening. Its due time is `targetMinutes` of working time after that start.
//
// Seed 002 also says "节假日1天内完成审核": on a day the desk does not work (a weekend, a holiday)
// an item is decided within a day. With `holidayTargetMinutes`, an item submitted on such a day
// is due that many wall-clock minutes later, or by the working rule if that comes first. And
// China moves working days (调休): a weekend date in `workdays` is worked like any working day.

export interface DeskHours {
  days: readonly number[];
  open: string;
  close: string;
  intakeUntil: string;
  targetMinutes: number;
  closedOnHolidays: boolean;
  /** Wall-clock minutes in which an item submitted on a closed day is decided; null: no such rule. */
  holidayTargetMinutes?: number | null;
}

export interface ReviewCalendar {
  timeZone: string;
  /** Local dates (YYYY-MM-DD) on which desks that close on holidays do not review. */
  holidays: readonly string[];
  /** Local dates worked whatever their week day (调休, a Saturday made a working day). */
  workdays?: readonly string[];
}

export interface ReviewTiming {
  /** Wall-clock minutes since submission. */
  age_minutes: number;
  /** Working minutes the item has waited since the desk took it in. */
  review_minutes: number;
  target_review_minutes: number;
  due_at: string;
  overdue: boolean;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Enough days to cross any calendar the settings accept (at most 400 holidays, one working day a week). */
const MAX_DAYS = 4_000;

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall-clock time in the zone at instant `t`, written as if it were UTC (ms). */
function wallClock(t: number, zone: string): number {
  const parts = formatter(zone).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
}

/** The instant at which the zone's clocks read `wall` (a local time written as UTC ms). */
function instantOf(wall: number, zone: string): number {
  // Two passes settle the offset on either side of a daylight-saving change.
  let t = wall - (wallClock(wall, zone) - wall);
  t = wall - (wallClock(t, zone) - t);
  return t;
}

/** The local day (its midnight as UTC ms) that contains instant `t`. */
const localDayOf = (t: number, zone: string) => Math.floor(wallClock(t, zone) / DAY) * DAY;

const isoDate = (day: number) => new Date(day).toISOString().slice(0, 10);
const isoWeekday = (day: number) => new Date(day).getUTCDay() || 7;

interface Window {
  open: number;
  intakeEnd: number;
  close: number;
}

interface Dates {
  holidays: ReadonlySet<string>;
  workdays: ReadonlySet<string>;
}

const datesOf = (calendar: ReviewCalendar): Dates => ({
  holidays: new Set(calendar.holidays),
  workdays: new Set(calendar.workdays ?? []),
});

function windowOf(day: number, desk: DeskHours, calendar: ReviewCalendar, dates: Dates): Window | null {
  const date = isoDate(day);
  if (!desk.days.includes(isoWeekday(day)) && !dates.workdays.has(date)) return null;
  if (desk.closedOnHolidays && dates.holidays.has(date)) return null;
  const at = (hhmm: string) => instantOf(day + minutesOf(hhmm) * MINUTE, calendar.timeZone);
  return { open: at(desk.open), intakeEnd: at(desk.intakeUntil), close: at(desk.close) };
}

/** The working windows from the local day of `from` on, in order. */
function* windows(from: number, desk: DeskHours, calendar: ReviewCalendar): Generator<Window> {
  const dates = datesOf(calendar);
  const first = localDayOf(from, calendar.timeZone);
  for (let i = 0; i < MAX_DAYS; i++) {
    const w = windowOf(first + i * DAY, desk, calendar, dates);
    if (w) yield w;
  }
  throw new Error('review hours: no working day within the calendar searched');
}

/** When the desk takes in an item submitted at `submittedAt`: then, or its next opening. */
export function reviewStartsAt(submittedAt: Date, desk: DeskHours, calendar: ReviewCalendar): Date {
  const t = submittedAt.getTime();
  for (const w of windows(t, desk, calendar)) {
    if (t < w.intakeEnd) return new Date(Math.max(t, w.open));
  }
  /* c8 ignore next */
  throw new Error('unreachable');
}

/**
 * `targetMinutes` of working time after the desk took the item in; for an item submitted on a day
 * the desk does not work, `holidayTargetMinutes` after its submission if that is sooner.
 */
export function reviewDueAt(submittedAt: Date, desk: DeskHours, calendar: ReviewCalendar): Date {
  const working = workingDueAt(submittedAt, desk, calendar);
  if (desk.holidayTargetMinutes == null) return working;
  const t = submittedAt.getTime();
  if (windowOf(localDayOf(t, calendar.timeZone), desk, calendar, datesOf(calendar)) !== null) return working;
  return new Date(Math.min(working.getTime(), t + desk.holidayTargetMinutes * MINUTE));
}

function workingDueAt(submittedAt: Date, desk: DeskHours, calendar: ReviewCalendar): Date {
  const start = reviewStartsAt(submittedAt, desk, calendar).getTime();
  let left = desk.targetMinutes * MINUTE;
  for (const w of windows(start, desk, calendar)) {
    const from = Math.max(start, w.open);
    if (from >= w.close) continue;
    if (from + left <= w.close) return new Date(from + left);
    left -= w.close - from;
  }
  /* c8 ignore next */
  throw new Error('unreachable');
}

/** Working minutes between the item's intake and `now` (0 before intake). */
export function workingMinutesWaited(
  submittedAt: Date,
  now: Date,
  desk: DeskHours,
  calendar: ReviewCalendar,
): number {
  const start = reviewStartsAt(submittedAt, desk, calendar).getTime();
  const end = now.getTime();
  let total = 0;
  for (const w of windows(start, desk, calendar)) {
    if (w.open >= end) break;
    const from = Math.max(start, w.open);
    const to = Math.min(end, w.close);
    if (to > from) total += to - from;
  }
  return Math.floor(total / MINUTE);
}

/** What a review queue answers for one item, and a tenant learns of its pending one. */
export function reviewTiming(
  submittedAt: Date,
  now: Date,
  desk: DeskHours,
  calendar: ReviewCalendar,
): ReviewTiming {
  const due = reviewDueAt(submittedAt, desk, calendar);
  return {
    age_minutes: Math.max(0, Math.floor((now.getTime() - submittedAt.getTime()) / MINUTE)),
    review_minutes: workingMinutesWaited(submittedAt, now, desk, calendar),
    target_review_minutes: desk.targetMinutes,
    due_at: due.toISOString(),
    overdue: now.getTime() > due.getTime(),
  };
}
