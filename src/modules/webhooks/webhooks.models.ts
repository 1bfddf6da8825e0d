// Webhook rules (pure): the events a tenant may subscribe to, the signature, the retry schedule
// and the checks on a URL a tenant gives.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export const WEBHOOK_EVENTS = [
  'message.status',
  'message.reply',
  'batch.completed',
  'template.reviewed',
  'signature.reviewed',
  'balance.low',
  'optout.added',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/**
 * The body an endpoint receives: Hongyan's events envelope, or a cloud vendor's status report push
 * (webhooks.formats.ts), for tenants whose receivers were written for that vendor.
 */
export const WEBHOOK_FORMATS = ['hongyan', 'aliyun', 'tencent'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** A vendor's push carries status reports only: such an endpoint subscribes to message.status alone. */
export function formatAllowsEvents(format: WebhookFormat, events: readonly string[]): boolean {
  return format === 'hongyan' || events.every((e) => e === 'message.status');
}

export const SIGNATURE_HEADER = 'X-Hy-Signature';

export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}

/** HMAC-SHA256 (hex) of `<timestamp>.<body>` under the endpoint's secret. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The header value: `t=<unix seconds>,v1=<hex>`. */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signPayload(secret, timestamp, body)}`;
}

/**
 * What a receiver does (docs/webhooks.md): parse the header, recompute, compare in constant time,
 * and refuse a timestamp further than `toleranceSeconds` from its clock (a replayed request).
 */
export function verifySignature({
  secret,
  header,
  body,
  nowSeconds,
  toleranceSeconds = 300,
}: {
  secret: string;
  header: string;
  body: string;
  nowSeconds: number;
  toleranceSeconds?: number;
}): boolean {
  const parts = new Map(
    header.split(',').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signPayload(secret, t, body), 'hex');
  const given = Buffer.from(v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  /** From the event's creation: past it, a failed delivery is dead-lettered. */
  giveUpAfterMs: number;
}

/**
 * After a failed attempt (the `attempts`-th, from 1): when to try again, or null when the delivery
 * is dead. Doubles from `baseMs` up to `maxMs`; the last retry lands at the 24-hour mark at most.
 */
export function nextAttemptAt({
  attempts,
  createdAt,
  now,
  policy,
}: {
  attempts: number;
  createdAt: Date;
  now: Date;
  policy: RetryPolicy;
}): Date | null {
  const deadline = createdAt.getTime() + policy.giveUpAfterMs;
  if (now.getTime() >= deadline) return null;
  const delay = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempts - 1, 30));
  return new Date(Math.min(now.getTime() + delay, deadline));
}

/** A URL a tenant may register: absolute http(s), no credentials in it. Null when acceptable. */
export function urlProblem(raw: string): string | null {
  if (raw.length > 2000) return 'longer than 2,000 characters';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return 'only http:// and https:// are delivered to';
  if (url.username !== '' || url.password !== '') return 'credentials in the URL are not allowed';
  if (url.hostname === '') return 'no host';
  return null;
}

/** The host as given, without IPv6 brackets; `literal` when it is an IP address (no DNS). */
export function hostOf(raw: string): { host: string; literal: boolean } {
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  return { host, literal: isIP(host) !== 0 };
}
