// Contacts' pure rules: custom fields and tags as accepted from the API, and segment filters
// (saved conditions on fields, tags and engagement) with their translation to one SQL predicate.
// No I/O: segmentFilterSql only writes text and pushes parameters.

export const MAX_FIELDS = 50;
export const MAX_FIELD_KEY = 64;
export const MAX_FIELD_VALUE = 1_000;
export const MAX_TAGS = 50;
export const MAX_TAG = 64;
export const MAX_CONDITIONS = 20;
export const MAX_DAYS = 3_650;

export type FieldOp = 'eq' | 'neq' | 'contains' | 'exists' | 'missing';

export type SegmentCondition =
  | { type: 'field'; key: string; op: FieldOp; value?: string }
  | { type: 'tag'; op: 'has' | 'lacks'; value: string }
  /** No delivery, click or reply for `days` days (or never). */
  | { type: 'not_engaged'; days: number }
  /** A delivery, click or reply within the last `days` days. */
  | { type: 'engaged'; days: number };

export interface SegmentFilter {
  match: 'all' | 'any';
  conditions: SegmentCondition[];
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

const FIELD_KEY = /^[\p{L}\p{N}_.-]+$/u;

/** A field key a template variable can name: letters, digits, `_`, `.`, `-`. */
export function isFieldKey(key: string): boolean {
  return key.length > 0 && key.length <= MAX_FIELD_KEY && FIELD_KEY.test(key);
}

/** Custom fields as stored: string values (numbers and booleans written as text), bounded. */
export function checkFields(input: unknown): Checked<Record<string, string>> {
  if (input === undefined || input === null) return { ok: true, value: {} };
  if (typeof input !== 'object' || Array.isArray(input))
    return { ok: false, reason: 'fields must be an object' };
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length > MAX_FIELDS) return { ok: false, reason: `at most ${MAX_FIELDS} fields` };
  const out: Record<string, string> = {};
  for (const [key, raw] of entries) {
    if (!isFieldKey(key)) return { ok: false, reason: `field name "${key.slice(0, 80)}" is not allowed` };
    if (raw === null || raw === undefined) continue;
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      return { ok: false, reason: `field "${key}" must be a string, a number or a boolean` };
    }
    const value = String(raw);
    if (value.length > MAX_FIELD_VALUE)
      return { ok: false, reason: `field "${key}" is longer than ${MAX_FIELD_VALUE}` };
    out[key] = value;
  }
  return { ok: true, value: out };
}

/** Tags trimmed, de-duplicated in order, bounded. */
export function checkTags(input: unknown): Checked<string[]> {
  if (input === undefined || input === null) return { ok: true, value: [] };
  if (!Array.isArray(input)) return { ok: false, reason: 'tags must be an array of strings' };
  const seen = new Set<string>();
  for (const raw of input) {
    if (typeof raw !== 'string') return { ok: false, reason: 'tags must be an array of strings' };
    const tag = raw.trim();
    if (tag === '' || tag.length > MAX_TAG)
      return { ok: false, reason: `a tag must have 1 to ${MAX_TAG} characters` };
    seen.add(tag);
  }
  if (seen.size > MAX_TAGS) return { ok: false, reason: `at most ${MAX_TAGS} tags` };
  return { ok: true, value: [...seen] };
}

/** A segment filter as saved, or why it cannot be. */
export function checkSegmentFilter(input: unknown): Checked<SegmentFilter> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, reason: 'filter must be an object' };
  }
  const { match = 'all', conditions } = input as { match?: unknown; conditions?: unknown };
  if (match !== 'all' && match !== 'any') return { ok: false, reason: 'filter.match must be "all" or "any"' };
  if (!Array.isArray(conditions) || conditions.length === 0 || conditions.length > MAX_CONDITIONS) {
    return { ok: false, reason: `filter.conditions must hold 1 to ${MAX_CONDITIONS} conditions` };
  }
  const out: SegmentCondition[] = [];
  for (const raw of conditions) {
    const checked = checkCondition(raw);
    if (!checked.ok) return checked;
    out.push(checked.value);
  }
  return { ok: true, value: { match, conditions: out } };
}

function checkCondition(raw: unknown): Checked<SegmentCondition> {
  if (typeof raw !== 'object' || raw === null) return { ok: false, reason: 'a condition must be an object' };
  const c = raw as Record<string, unknown>;
  switch (c.type) {
    case 'field': {
      const op = c.op;
      if (typeof c.key !== 'string' || !isFieldKey(c.key))
        return { ok: false, reason: 'field condition needs a valid key' };
      if (op !== 'eq' && op !== 'neq' && op !== 'contains' && op !== 'exists' && op !== 'missing') {
        return { ok: false, reason: 'field condition op must be eq, neq, contains, exists or missing' };
      }
      if (op === 'exists' || op === 'missing') return { ok: true, value: { type: 'field', key: c.key, op } };
      if (typeof c.value !== 'string' || c.value.length > MAX_FIELD_VALUE) {
        return { ok: false, reason: `field condition "${op}" needs a string value` };
      }
      return { ok: true, value: { type: 'field', key: c.key, op, value: c.value } };
    }
    case 'tag': {
      if (c.op !== 'has' && c.op !== 'lacks')
        return { ok: false, reason: 'tag condition op must be has or lacks' };
      if (typeof c.value !== 'string' || c.value.trim() === '' || c.value.length > MAX_TAG) {
        return { ok: false, reason: 'tag condition needs a tag' };
      }
      return { ok: true, value: { type: 'tag', op: c.op, value: c.value.trim() } };
    }
    case 'not_engaged':
    case 'engaged': {
      const days = c.days;
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
        return { ok: false, reason: `${c.type} condition needs whole days from 1 to ${MAX_DAYS}` };
      }
      return { ok: true, value: { type: c.type, days } };
    }
    default:
      return { ok: false, reason: 'condition type must be field, tag, not_engaged or engaged' };
  }
}

/**
 * The filter as one SQL predicate on the contacts row `alias`, its values appended to `params`
 * (placeholders numbered after what is already there). `now` is a parameter too, so the clock is
 * the caller's. Field equality uses the GIN index (`fields @> {"k":"v"}`), tags `@>` on theirs.
 */
export function segmentFilterSql(filter: SegmentFilter, params: unknown[], now: Date, alias = 'c'): string {
  const parts = filter.conditions.map((condition) => conditionSql(condition, params, now, alias));
  return `(${parts.join(filter.match === 'all' ? ' and ' : ' or ')})`;
}

function conditionSql(c: SegmentCondition, params: unknown[], now: Date, alias: string): string {
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  switch (c.type) {
    case 'field': {
      if (c.op === 'exists') return `${alias}.fields ? ${p(c.key)}`;
      if (c.op === 'missing') return `not (${alias}.fields ? ${p(c.key)})`;
      if (c.op === 'eq') return `${alias}.fields @> ${p(JSON.stringify({ [c.key]: c.value }))}::jsonb`;
      if (c.op === 'neq') return `not (${alias}.fields @> ${p(JSON.stringify({ [c.key]: c.value }))}::jsonb)`;
      return `strpos(${alias}.fields ->> ${p(c.key)}, ${p(c.value)}) > 0`;
    }
    case 'tag':
      return c.op === 'has'
        ? `${alias}.tags @> array[${p(c.value)}]::text[]`
        : `not (${alias}.tags @> array[${p(c.value)}]::text[])`;
    case 'not_engaged':
      return `(${alias}.last_engaged_at is null or ${alias}.last_engaged_at < ${p(daysBefore(now, c.days))}::timestamptz)`;
    case 'engaged':
      return `${alias}.last_engaged_at >= ${p(daysBefore(now, c.days))}::timestamptz`;
  }
}

function daysBefore(now: Date, days: number): Date {
  return new Date(now.getTime() - days * 86_400_000);
}

/** Whether a contact row matches the filter: the same rule as segmentFilterSql, for tests and previews. */
export function matchesSegment(
  filter: SegmentFilter,
  contact: { fields: Record<string, string>; tags: string[]; last_engaged_at: Date | null },
  now: Date,
): boolean {
  const test = (c: SegmentCondition): boolean => {
    switch (c.type) {
      case 'field': {
        const v = contact.fields[c.key];
        if (c.op === 'exists') return v !== undefined;
        if (c.op === 'missing') return v === undefined;
        if (c.op === 'eq') return v === c.value;
        if (c.op === 'neq') return v !== c.value;
        return v !== undefined && v.includes(c.value ?? '');
      }
      case 'tag':
        return contact.tags.includes(c.value) === (c.op === 'has');
      case 'not_engaged':
        return contact.last_engaged_at === null || contact.last_engaged_at < daysBefore(now, c.days);
      case 'engaged':
        return contact.last_engaged_at !== null && contact.last_engaged_at >= daysBefore(now, c.days);
    }
  };
  return filter.match === 'all' ? filter.conditions.every(test) : filter.conditions.some(test);
}
