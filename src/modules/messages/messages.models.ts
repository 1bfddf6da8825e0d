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

/** A send_at in the past or within a second is "now"; more than a year ahead is an error. */
export function scheduleOf(
  sendAt: string | undefined,
  now: Date,
): { ok: true; at: Date | null } | { ok: false } {
  if (sendAt === undefined) return { ok: true, at: null };
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(sendAt))
    return { ok: false };
  const at = new Date(sendAt);
  if (Number.isNaN(at.getTime())) return { ok: false };
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
