// The SMSC delivery receipt text (SMPP 3.4 Appendix B):
//   id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...
// Appendix B calls the format vendor-specific, and carriers vary it: key case, extra spaces,
// `submit_date`, dates with seconds, missing fields. The parser takes the keys it finds in order,
// and everything after `text:` is the text, whatever it contains.

export type ReceiptState =
  'enroute' | 'delivered' | 'expired' | 'deleted' | 'undeliverable' | 'accepted' | 'unknown' | 'rejected';

/** The fields as they appear in the text; all optional, since carriers omit some. */
export interface ReceiptTextFields {
  id?: string;
  sub?: string;
  dlvrd?: string;
  submitDate?: string;
  doneDate?: string;
  stat?: string;
  err?: string;
  text?: string;
}

type Key = keyof ReceiptTextFields;

// A key starts the text or follows a non-alphanumeric, so `paid:` is not `id:`.
const KEY = /(?<![A-Za-z0-9])(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text)\s*:/gi;

function keyOf(raw: string): Key {
  const k = raw.toLowerCase().replace(/[ _]/g, '');
  if (k === 'submitdate') return 'submitDate';
  if (k === 'donedate') return 'doneDate';
  return k as Key;
}

/** Parses receipt text; null when it has neither an id nor a stat (not a receipt). */
export function parseReceiptText(input: string): ReceiptTextFields | null {
  const fields: ReceiptTextFields = {};
  const matches = [...input.matchAll(KEY)];
  for (let i = 0; i < matches.length; i++) {
    const match = matches[i]!;
    const key = keyOf(match[1]!);
    const start = match.index + match[0].length;
    if (key === 'text') {
      fields.text ??= input.slice(start).replace(/^ /, '');
      break;
    }
    const end = matches[i + 1]?.index ?? input.length;
    // Values have no spaces in the format; the first token drops any junk before the next key.
    const value = input.slice(start, end).trim().split(/\s+/)[0] ?? '';
    if (fields[key] === undefined) fields[key] = value;
  }
  if (fields.id === undefined && fields.stat === undefined) return null;
  return fields;
}

/** Does this text look like a receipt (an id and a stat)? For carriers that forget esm_class. */
export function looksLikeReceiptText(input: string): boolean {
  const fields = parseReceiptText(input);
  return fields !== null && fields.id !== undefined && fields.stat !== undefined;
}

const STAT_STATES: Record<string, ReceiptState> = {
  DELIVRD: 'delivered',
  DELIVERED: 'delivered',
  EXPIRED: 'expired',
  DELETED: 'deleted',
  UNDELIV: 'undeliverable',
  UNDELIVERABLE: 'undeliverable',
  ACCEPTD: 'accepted',
  ACCEPTED: 'accepted',
  UNKNOWN: 'unknown',
  REJECTD: 'rejected',
  REJECTED: 'rejected',
  ENROUTE: 'enroute',
};

/**
 * The normalized state of a stat value. Chinese carriers report failures as a stat of the form
 * `MK:0005`, `MB:1042`, `ID:0012` (CMPP gateway codes) in place of UNDELIV; those are undeliverable.
 * Anything else is 'unknown'; the raw stat stays on the receipt for channel-specific maps.
 */
export function receiptStateOfStat(stat: string): ReceiptState {
  const upper = stat.trim().toUpperCase();
  const state = STAT_STATES[upper];
  if (state !== undefined) return state;
  if (/^[A-Z]{2}:\w+$/.test(upper)) return 'undeliverable';
  return 'unknown';
}

const STATE_STATS: Record<ReceiptState, string> = {
  delivered: 'DELIVRD',
  expired: 'EXPIRED',
  deleted: 'DELETED',
  undeliverable: 'UNDELIV',
  accepted: 'ACCEPTD',
  unknown: 'UNKNOWN',
  rejected: 'REJECTD',
  enroute: 'ENROUTE',
};

/** The 7-letter stat value for a state (Appendix B table). */
export function statOf(state: ReceiptState): string {
  return STATE_STATS[state];
}

/**
 * A receipt date: YYMMDDhhmm (Appendix B), YYMMDDhhmmss (common), or YYYYMMDDhhmmss. The text has
 * no time zone; pass the carrier's offset from UTC in minutes (e.g. 480 for China).
 */
export function parseReceiptDate(raw: string, utcOffsetMinutes = 0): Date | undefined {
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(raw.trim());
  if (m === null) return undefined;
  const year = m[1]!.length === 2 ? 2000 + Number(m[1]) : Number(m[1]);
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as number[];
  if (month! < 1 || month! > 12 || day! < 1 || day! > 31 || hour! > 23 || minute! > 59 || second! > 59)
    return undefined;
  const utc = Date.UTC(year, month! - 1, day!, hour!, minute!, second!);
  return new Date(utc - utcOffsetMinutes * 60_000);
}

/** YYMMDDhhmm in the given offset from UTC. */
export function formatReceiptDate(date: Date, utcOffsetMinutes = 0): string {
  const d = new Date(date.getTime() + utcOffsetMinutes * 60_000);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    two(d.getUTCFullYear() % 100) +
    two(d.getUTCMonth() + 1) +
    two(d.getUTCDate()) +
    two(d.getUTCHours()) +
    two(d.getUTCMinutes())
  );
}

export interface FormatReceiptOptions {
  id: string;
  state: ReceiptState;
  submitDate: Date;
  doneDate: Date;
  /** Default 1. */
  submitted?: number;
  /** Default 1 when delivered, else 0. */
  delivered?: number;
  /** The err field; default '000'. Numbers are padded to 3 digits. */
  err?: string | number;
  /** The original message's text; the receipt carries its first 20 characters. */
  text?: string;
  utcOffsetMinutes?: number;
}

/** Builds Appendix B receipt text, as the carrier simulator sends it. */
export function formatReceiptText(options: FormatReceiptOptions): string {
  const pad3 = (n: number) => String(n).padStart(3, '0');
  const offset = options.utcOffsetMinutes ?? 0;
  const delivered = options.delivered ?? (options.state === 'delivered' ? 1 : 0);
  const err = typeof options.err === 'number' ? pad3(options.err) : (options.err ?? '000');
  return (
    `id:${options.id} sub:${pad3(options.submitted ?? 1)} dlvrd:${pad3(delivered)}` +
    ` submit date:${formatReceiptDate(options.submitDate, offset)}` +
    ` done date:${formatReceiptDate(options.doneDate, offset)}` +
    ` stat:${statOf(options.state)} err:${err} text:${(options.text ?? '').slice(0, 20)}`
  );
}
