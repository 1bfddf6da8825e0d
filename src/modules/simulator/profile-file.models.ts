// Extra simulator profiles from a JSON file, validated field by field. Each problem is reported
// with the profile and the field it concerns, in a fixed wording, so that an operator can fix the
// whole file in one pass and scripts can match the messages.
//
// Format: { "profiles": [ { "name": "slow", "base": "realistic", "receiptLatencyMs": {...} } ] }
// (or the bare array). Fields left out come from `base` (a built-in profile or one defined earlier
// in the file), `default` when there is no base.

import { planSegments } from '../../smpp/segments.ts';
import type { IdFormat, LatencyRange, SimulatorProfile } from './simulator.models.ts';
import { BUILT_IN_PROFILES, DEFAULT_PROFILE_NAME, ID_FORMATS } from './simulator.models.ts';

export type ProfileFileResult =
  { ok: true; profiles: SimulatorProfile[] } | { ok: false; problems: string[] };

/** system_id is at most 15 characters on the wire, and a profile is chosen by it. */
const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,15}$/;
const MAX_LATENCY_MS = 7 * 24 * 3600 * 1000;

const RATE_FIELDS = [
  'deliveryRate',
  'expiredRate',
  'rejectRate',
  'queueFullRate',
  'noResponseRate',
  'receiptBeforeResponseRate',
  'replyRate',
] as const;
const LATENCY_FIELDS = ['receiptLatencyMs', 'replyLatencyMs'] as const;
const KNOWN_FIELDS = new Set<string>([
  'name',
  'base',
  ...RATE_FIELDS,
  ...LATENCY_FIELDS,
  'rejectStatuses',
  'throttleAboveTps',
  'disconnectAfterSubmits',
  'replies',
  'idFormat',
  'undeliveredSuffixes',
  'bindFail',
  'deliveryPhases',
  'prefixDeliveryRates',
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}

function readLatency(value: unknown, problem: (msg: string) => void): LatencyRange | undefined {
  if (!isObject(value)) {
    problem('expected an object { "min", "median", "max" } in milliseconds');
    return undefined;
  }
  const range: Partial<LatencyRange> = {};
  for (const key of ['min', 'median', 'max'] as const) {
    const v = value[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_LATENCY_MS) {
      problem(`${key} must be a number of milliseconds from 0 to ${MAX_LATENCY_MS}`);
      return undefined;
    }
    range[key] = v;
  }
  const full = range as LatencyRange;
  if (!(full.min <= full.median && full.median <= full.max)) {
    problem('must satisfy min <= median <= max');
    return undefined;
  }
  return full;
}

/** Validates the parsed JSON of a profiles file. */
export function parseProfileFile(input: unknown): ProfileFileResult {
  const problems: string[] = [];
  const list = isObject(input) ? input.profiles : input;
  if (!Array.isArray(list)) {
    return { ok: false, problems: ['expected { "profiles": [ ... ] } or an array of profiles'] };
  }
  const known = new Map<string, SimulatorProfile>(BUILT_IN_PROFILES.map((p) => [p.name, p]));
  const defined = new Set<string>();
  const profiles: SimulatorProfile[] = [];
  list.forEach((raw: unknown, index) => {
    const where =
      isObject(raw) && typeof raw.name === 'string'
        ? `profiles[${index}] "${raw.name}"`
        : `profiles[${index}]`;
    const problemsBefore = problems.length;
    const problem = (field: string, msg: string) => problems.push(`${where}: ${field}: ${msg}`);
    if (!isObject(raw)) {
      problems.push(`${where}: expected an object`);
      return;
    }
    for (const key of Object.keys(raw)) if (!KNOWN_FIELDS.has(key)) problem(key, 'unknown field');
    const name = raw.name;
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      problem('name', 'must be 1 to 15 letters, digits, "_", "-" or "."');
    } else if (defined.has(name)) {
      problem('name', 'is defined twice in this file');
    }
    const baseName = raw.base ?? DEFAULT_PROFILE_NAME;
    const base = typeof baseName === 'string' ? known.get(baseName) : undefined;
    if (base === undefined)
      problem('base', 'must name a built-in profile or one defined earlier in the file');
    const p: SimulatorProfile = { ...(base ?? BUILT_IN_PROFILES[0]!), name: String(name) };

    for (const field of RATE_FIELDS) {
      const v = raw[field];
      if (v === undefined) continue;
      if (isRate(v)) p[field] = v;
      else problem(field, 'must be a number from 0 to 1');
    }
    for (const field of LATENCY_FIELDS) {
      if (raw[field] === undefined) continue;
      const range = readLatency(raw[field], (msg) => problem(field, msg));
      if (range) p[field] = range;
    }
    if (raw.rejectStatuses !== undefined) {
      const v = raw.rejectStatuses;
      if (Array.isArray(v) && v.every((s) => Number.isInteger(s) && s > 0 && s <= 0xffffffff)) {
        p.rejectStatuses = v as number[];
      } else {
        problem('rejectStatuses', 'must be a list of SMPP command_status codes from 1 to 0xFFFFFFFF');
      }
    }
    if (raw.throttleAboveTps !== undefined) {
      const v = raw.throttleAboveTps;
      if (v === null || (typeof v === 'number' && Number.isFinite(v) && v > 0)) p.throttleAboveTps = v;
      else problem('throttleAboveTps', 'must be a number of submits per second above 0, or null');
    }
    if (raw.disconnectAfterSubmits !== undefined) {
      const v = raw.disconnectAfterSubmits;
      if (v === null || (Number.isInteger(v) && (v as number) >= 1))
        p.disconnectAfterSubmits = v as number | null;
      else problem('disconnectAfterSubmits', 'must be a whole number from 1, or null');
    }
    if (raw.replies !== undefined) {
      const v = raw.replies;
      if (
        Array.isArray(v) &&
        v.every((r) => typeof r === 'string' && r !== '' && planSegments(r).parts === 1)
      ) {
        p.replies = v as string[];
      } else {
        problem('replies', 'must be a list of non-empty texts that each fit one SMS');
      }
    }
    if (raw.idFormat !== undefined) {
      if ((ID_FORMATS as readonly unknown[]).includes(raw.idFormat)) p.idFormat = raw.idFormat as IdFormat;
      else problem('idFormat', `must be one of ${ID_FORMATS.join(', ')}`);
    }
    if (raw.undeliveredSuffixes !== undefined) {
      const v = raw.undeliveredSuffixes;
      if (Array.isArray(v) && v.every((d) => typeof d === 'string' && /^\d{1,20}$/.test(d))) {
        p.undeliveredSuffixes = v as string[];
      } else {
        problem('undeliveredSuffixes', 'must be a list of phone number endings (1 to 20 digits)');
      }
    }
    if (raw.deliveryPhases !== undefined) {
      const v = raw.deliveryPhases;
      if (
        Array.isArray(v) &&
        v.every(
          (x) =>
            isObject(x) &&
            Number.isInteger(x.afterAccepted) &&
            (x.afterAccepted as number) >= 0 &&
            isRate(x.deliveryRate),
        )
      ) {
        p.deliveryPhases = v as { afterAccepted: number; deliveryRate: number }[];
      } else {
        problem(
          'deliveryPhases',
          'must be a list of { "afterAccepted": whole number, "deliveryRate": 0..1 }',
        );
      }
    }
    if (raw.prefixDeliveryRates !== undefined) {
      const v = raw.prefixDeliveryRates;
      if (
        Array.isArray(v) &&
        v.every(
          (x) =>
            isObject(x) &&
            typeof x.prefix === 'string' &&
            /^\d{1,15}$/.test(x.prefix) &&
            isRate(x.deliveryRate),
        )
      ) {
        p.prefixDeliveryRates = v as { prefix: string; deliveryRate: number }[];
      } else {
        problem('prefixDeliveryRates', 'must be a list of { "prefix": digits, "deliveryRate": 0..1 }');
      }
    }
    if (raw.bindFail !== undefined) {
      if (typeof raw.bindFail === 'boolean') p.bindFail = raw.bindFail;
      else problem('bindFail', 'must be true or false');
    }
    if (problems.length === problemsBefore) {
      for (const msg of crossFieldProblems(p)) problems.push(`${where}: ${msg}`);
    }
    if (problems.length === problemsBefore) {
      known.set(p.name, p);
      defined.add(p.name);
      profiles.push(p);
    }
  });
  return problems.length === 0 ? { ok: true, profiles } : { ok: false, problems };
}

/** Rules that involve several fields, each with the fields it names. */
export function crossFieldProblems(p: SimulatorProfile): string[] {
  const problems: string[] = [];
  if (p.deliveryRate + p.expiredRate > 1 + 1e-9) {
    problems.push('deliveryRate + expiredRate: must not exceed 1');
  }
  if (p.noResponseRate + p.queueFullRate + p.rejectRate > 1 + 1e-9) {
    problems.push('noResponseRate + queueFullRate + rejectRate: must not exceed 1');
  }
  if (p.rejectRate > 0 && p.rejectStatuses.length === 0) {
    problems.push('rejectStatuses: must not be empty when rejectRate is above 0');
  }
  if (p.replyRate > 0 && p.replies.length === 0) {
    problems.push('replies: must not be empty when replyRate is above 0');
  }
  return problems;
}
