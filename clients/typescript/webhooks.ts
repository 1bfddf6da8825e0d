// Verifying a webhook POST from Hongyan (docs/webhooks.md):
// X-Hy-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>.
import { hmacSha256Hex } from './signing.ts';

/** Equal strings in time that depends only on their length. */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * True when `header` signs `rawBody` (the bytes as received, before any JSON parsing, as text)
 * with `secret`, and its timestamp is within `toleranceSeconds` of `nowSeconds`.
 */
export async function verifyWebhookSignature({
  secret,
  header,
  rawBody,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
}: {
  secret: string;
  header: string;
  rawBody: string;
  nowSeconds?: number;
  toleranceSeconds?: number;
}): Promise<boolean> {
  const parts = new Map(
    header.split(',').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = await hmacSha256Hex(secret, `${t}.${rawBody}`);
  return constantTimeEqual(expected, (parts.get('v1') ?? '').toLowerCase());
}

/** A webhook POST's body: events in order per message. */
export interface WebhookBatch {
  events: { id: string; type: string; created_at: string; data: Record<string, unknown> }[];
}
