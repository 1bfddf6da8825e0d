// Pure rules of message intake: priorities, content checks, variables, scheduling.
import { planSegments } from '../../smpp/segments.ts';

export const MESSAGE_TYPES = ['verification', 'notification', 'marketing'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Verification codes must arrive within seconds (seed 000), so they go first; marketing last. */
export function priorityOf(type: MessageType): number {
  return type === 'verification' ? 0 : type === 'notification' ? 1 : 2;
}

export const STATUSES = [
  'accepted',
  'held',
  'queued',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'expired',
  'rejected',
  'failed',
  'unknown',
  'canceled',
] as const;
export type MessageStatus = (typeof STATUSES)[number];

/**
 * Statuses a message never leaves: the carrier's or the platform's last word on it, or a cancel.
 * Everything that waits for, counts or keeps "final" messages uses this one list.
 */
export const FINAL_STATUSES = [
  'delivered',
  'undelivered',
  'expired',
  'rejected',
  'failed',
  'unknown',
  'canceled',
] as const satisfies readonly MessageStatus[];
export type FinalStatus = (typeof FINAL_STATUSES)[number];

const FINAL_SET: ReadonlySet<string> = new Set(FINAL_STATUSES);
export const isFinalStatus = (status: string): status is FinalStatus => FINAL_SET.has(status);

/** FINAL_STATUSES as an SQL list, `('delivered', …)`, for statements written as text. */
export const FINAL_STATUSES_SQL = `(${FINAL_STATUSES.map((s) => `'${s}'`).join(', ')})`;

export type ContentCheck =
  | { ok: true; encoding: 'gsm7' | 'ucs2'; parts: number }
  | { ok: false; code: 'messages.content_empty' | 'messages.content_too_long'; reason: string };

export function checkContent(content: string, maxParts: number): ContentCheck {
  if (content.trim() === '') return { ok: false, code: 'messages.content_empty', reason: 'content is empty' };
  const plan = planSegments(content);
  if (plan.parts > maxParts) {
    return {
      ok: false,
      code: 'messages.content_too_long',
      reason: `content needs ${plan.parts} parts (${plan.units} ${plan.encoding === 'gsm7' ? 'GSM characters' : 'UCS-2 characters'}); the limit is ${maxParts}`,
    };
  }
  return { ok: true, encoding: plan.encoding, parts: plan.parts };
}

const VARIABLE = /\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g;

/** Replace {name} placeholders; a placeholder with no value is an error for that recipient. */
export function renderTemplate(
  content: string,
  vars: Record<string, string | number> | undefined,
): { ok: true; text: string } | { ok: false; missing: string } {
  let missing: string | null = null;
  const text = content.replace(VARIABLE, (whole, name: string) => {
    const value = vars?.[name];
    if (value === undefined) {
      missing ??= name;
      return whole;
    }
    return String(value);
  });
  return missing === null ? { ok: true, text } : { ok: false, missing };
}

const SEND_AT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-](\d{2}):(\d{2}))$/;

/**
 * An ISO 8601 time with a zone that names a real instant: `new Date` alone moves 30 February
 * to 2 March and 24:00 to the next day, which would schedule a message for a time nobody wrote.
 */
export function parseSendAt(sendAt: string): Date | null {
  const m = SEND_AT.exec(sendAt);
  if (!m) return null;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  // Day 0 of the next month is the last day of this one, leap years included.
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  if (m[7] !== 'Z' && (Number(m[8]) > 23 || Number(m[9]) > 59)) return null;
  const at = new Date(sendAt);
  return Number.isNaN(at.getTime()) ? null : at;
}

/** A send_at in the past or within a second is "now"; more than a year ahead is an error. */
export function scheduleOf(
  sendAt: string | undefined,
  now: Date,
): { ok: true; at: Date | null } | { ok: false } {
  if (sendAt === undefined) return { ok: true, at: null };
  const at = parseSendAt(sendAt);
  if (at === null) return { ok: false };
  if (at.getTime() > now.getTime() + 366 * 86_400_000) return { ok: false };
  return { ok: true, at: at.getTime() <= now.getTime() + 1000 ? null : at };
}

export function encodeCursor(id: number): string {
  return Buffer.from(`m:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): number | null {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^m:(\d{1,15})$/.exec(text);
  return match ? Number(match[1]) : null;
}
