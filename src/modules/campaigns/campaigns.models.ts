// Campaigns, pure: pasted audiences, schedules (next run in the tenant's time zone), throttling,
// the seeded A/B split, and the two-proportion z-test that picks a winner. No I/O.
import { CronExpressionParser } from 'cron-parser';
import type { CountryCode } from 'libphonenumber-js';
import { normalizePhone } from '../messages/phone.models.ts';

/** Seed 002: pasted audiences hold up to 10,000 numbers, one per line. */
export const MAX_PASTED = 10_000;
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

export interface AudienceRecipient {
  phone: string;
  fields: Record<string, string>;
}
export interface AudienceProblem {
  line: number;
  value: string;
  reason: string;
}

/**
 * Pasted lines: a number, optionally followed by values (comma or tab separated) named by
 * `columns`, which fill the template's variables. Blank lines are skipped; invalid numbers are
 * reported by line. Duplicates stay (a run de-duplicates its whole audience).
 */
export function parsePasted(
  text: string,
  columns: readonly string[],
  region: string,
): { recipients: AudienceRecipient[]; invalid: AudienceProblem[]; lines: number } {
  const recipients: AudienceRecipient[] = [];
  const invalid: AudienceProblem[] = [];
  let lines = 0;
  text.split(/\r\n|\r|\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    lines++;
    const [number = '', ...values] = line.split(/[,\t;]/).map((v) => v.trim());
    const phone = normalizePhone(number, region as CountryCode);
    if (!phone.ok) {
      invalid.push({ line: i + 1, value: number.slice(0, 64), reason: phone.code });
      return;
    }
    const fields: Record<string, string> = {};
    columns.forEach((name, k) => {
      if (values[k] !== undefined) fields[name] = values[k]!;
    });
    recipients.push({ phone: phone.e164, fields });
  });
  return { recipients, invalid, lines };
}

/** The first occurrence of each phone, in order, and how many later ones were dropped. */
export function dedupe<T extends { phone: string }>(
  items: readonly T[],
): { unique: T[]; duplicates: number } {
  const seen = new Set<string>();
  const unique: T[] = [];
  for (const item of items) {
    if (seen.has(item.phone)) continue;
    seen.add(item.phone);
    unique.push(item);
  }
  return { unique, duplicates: items.length - unique.length };
}

// --- Schedules ---

export type RecurrenceRule =
  | { kind: 'daily'; time: string }
  | { kind: 'weekly'; time: string; days: number[] }
  | { kind: 'monthly'; time: string; day_of_month: number }
  | { kind: 'cron'; expression: string };

export interface Schedule {
  kind: 'now' | 'at' | 'recurring';
  at?: string;
  rule?: RecurrenceRule;
  time_zone?: string;
  end_at?: string;
  max_runs?: number;
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The cron expression (minute hour dom month dow) of a rule; days are 1 (Monday) to 7 (Sunday). */
export function cronOf(rule: RecurrenceRule): string {
  if (rule.kind === 'cron') return rule.expression.trim();
  const [h, m] = rule.time.split(':').map(Number);
  if (rule.kind === 'daily') return `${m} ${h} * * *`;
  if (rule.kind === 'weekly') return `${m} ${h} * * ${[...new Set(rule.days.map((d) => d % 7))].join(',')}`;
  return `${m} ${h} ${rule.day_of_month} * *`;
}

/** Null when the schedule can be run, else why not. */
export function scheduleProblem(schedule: Schedule, now: Date): string | null {
  const zone = schedule.time_zone ?? DEFAULT_TIME_ZONE;
  if (!isTimeZone(zone)) return `unknown time zone ${zone}`;
  if (schedule.kind === 'at') {
    if (schedule.at === undefined) return 'a scheduled campaign needs `at`';
    const at = Date.parse(schedule.at);
    if (Number.isNaN(at)) return '`at` is not an ISO 8601 time';
    if (at < now.getTime() - 60_000) return '`at` is in the past';
  }
  if (schedule.kind === 'recurring') {
    if (schedule.rule === undefined) return 'a recurring campaign needs `rule`';
    if (schedule.end_at !== undefined && Number.isNaN(Date.parse(schedule.end_at)))
      return '`end_at` is not an ISO 8601 time';
    const rule = schedule.rule;
    if (rule.kind !== 'cron' && !/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(rule.time))
      return '`time` must be HH:MM';
    if (rule.kind === 'weekly' && (rule.days.length === 0 || rule.days.some((d) => d < 1 || d > 7)))
      return '`days` are 1 (Monday) to 7 (Sunday)';
    if (rule.kind === 'monthly' && !(rule.day_of_month >= 1 && rule.day_of_month <= 31))
      return '`day_of_month` is 1 to 31';
    try {
      CronExpressionParser.parse(cronOf(rule), { tz: zone, strict: false });
    } catch (err) {
      return `not a cron expression: ${(err as Error).message}`;
    }
    if (cronOf(rule).split(/\s+/).length !== 5)
      return 'a cron expression has 5 fields (minute to day of week)';
    if (nextRunAfter(schedule, now, 0) === null) return 'the schedule has no run before its end';
  }
  return null;
}

/**
 * When the schedule runs next after `after` (exclusive), given `runsStarted` runs so far; null
 * when it is over. `now` runs once, at creation; `at` once, at its time.
 */
export function nextRunAfter(schedule: Schedule, after: Date, runsStarted: number): Date | null {
  if (schedule.kind === 'now') return runsStarted === 0 ? after : null;
  if (schedule.kind === 'at') return runsStarted === 0 ? new Date(schedule.at!) : null;
  if (schedule.max_runs !== undefined && runsStarted >= schedule.max_runs) return null;
  const expression = CronExpressionParser.parse(cronOf(schedule.rule!), {
    currentDate: after,
    tz: schedule.time_zone ?? DEFAULT_TIME_ZONE,
  });
  const next = expression.next().toDate();
  if (schedule.end_at !== undefined && next.getTime() > Date.parse(schedule.end_at)) return null;
  return next;
}

// --- Throttle ---

/**
 * A throttled run spreads its recipients one minute apart per `perMinute`: the i-th recipient is
 * due at start + floor(i / perMinute) minutes (null: at once, for the first minute of a run
 * that starts now). The scheduler releases each minute's messages when they are due.
 */
export function throttledSendAt(
  index: number,
  perMinute: number | null,
  start: Date,
  startsNow: boolean,
): Date | null {
  const minute = perMinute === null ? 0 : Math.floor(index / perMinute);
  if (minute === 0) return startsNow ? null : start;
  return new Date(start.getTime() + minute * 60_000);
}

// --- A/B tests ---

export interface AbVariant {
  name: string;
  content?: string;
  sign_name?: string;
  template_id?: string;
  /** Minutes after the run's time this variant is sent (a send-time variant). */
  delay_minutes?: number;
}
export type AbMetric = 'delivery_rate' | 'click_rate' | 'opt_out_rate';
export interface AbSettings {
  variants: AbVariant[];
  test_share: number;
  seed?: number;
  decide_after_minutes: number;
  metric: AbMetric;
  /** Send the winner to the rest by itself (else the tenant chooses). */
  auto: boolean;
}

/** A small seeded PRNG (mulberry32): the same seed splits the same audience the same way. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Shuffles the audience with the seed (Fisher–Yates) and gives the first `test_share` of it to the
 * variants in turn; the rest (variant null) waits for the winner. Test recipients come first.
 */
export function splitForTest<T>(
  audience: readonly T[],
  settings: Pick<AbSettings, 'variants' | 'test_share'>,
  seed: number,
): { item: T; variant: string | null }[] {
  const random = seededRandom(seed);
  const order = audience.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const names = settings.variants.map((v) => v.name);
  const testCount = Math.min(
    audience.length,
    Math.max(names.length, Math.round(audience.length * settings.test_share)),
  );
  return order.map((index, k) => ({
    item: audience[index]!,
    variant: k < testCount ? names[k % names.length]! : null,
  }));
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 on erf; error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Two-proportion z-test (pooled): z and the two-sided p-value; p = 1 when nothing to compare. */
export function twoProportionZ(x1: number, n1: number, x2: number, n2: number): { z: number; p: number } {
  if (n1 === 0 || n2 === 0) return { z: 0, p: 1 };
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return { z: 0, p: 1 };
  const z = (x1 / n1 - x2 / n2) / se;
  return { z, p: 2 * (1 - normalCdf(Math.abs(z))) };
}

export interface VariantResult {
  name: string;
  recipients: number;
  delivered: number;
  clicked: number;
  opted_out: number;
}

export function rateOf(v: VariantResult, metric: AbMetric): number {
  if (v.recipients === 0) return 0;
  const x = metric === 'delivery_rate' ? v.delivered : metric === 'click_rate' ? v.clicked : v.opted_out;
  return x / v.recipients;
}

/**
 * The winner by the tenant's metric (opt-out rate: lower wins), with each rate and the z-test of
 * the best against the runner-up. Ties go to the first variant, so the choice is reproducible.
 */
export function pickWinner(results: readonly VariantResult[], metric: AbMetric) {
  const better = (a: number, b: number) => (metric === 'opt_out_rate' ? a < b : a > b);
  let best = results[0]!;
  for (const r of results) if (better(rateOf(r, metric), rateOf(best, metric))) best = r;
  const others = results.filter((r) => r !== best);
  let runnerUp = others[0];
  for (const r of others) if (runnerUp && better(rateOf(r, metric), rateOf(runnerUp, metric))) runnerUp = r;
  const count = (v: VariantResult) =>
    metric === 'delivery_rate' ? v.delivered : metric === 'click_rate' ? v.clicked : v.opted_out;
  const test = runnerUp
    ? twoProportionZ(count(best), best.recipients, count(runnerUp), runnerUp.recipients)
    : { z: 0, p: 1 };
  return {
    winner: best.name,
    metric,
    z: test.z,
    p_value: test.p,
    significant: test.p < 0.05,
    variants: results.map((r) => ({
      ...r,
      delivery_rate: rateOf(r, 'delivery_rate'),
      click_rate: rateOf(r, 'click_rate'),
      opt_out_rate: rateOf(r, 'opt_out_rate'),
    })),
  };
}

/** The problem with A/B settings, or null. */
export function abProblem(ab: AbSettings): string | null {
  const names = ab.variants.map((v) => v.name);
  if (names.length < 2) return 'an A/B test needs at least two variants';
  if (new Set(names).size !== names.length) return 'variant names must differ';
  if (names.includes('main') || names.includes('rest')) return '`main` and `rest` are reserved names';
  if (!(ab.test_share > 0 && ab.test_share <= 1)) return '`test_share` is above 0 and at most 1';
  return null;
}
