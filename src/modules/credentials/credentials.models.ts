// Pure rules of signed API credentials: the canonical string and its HMAC (docs/api-signing.md),
// the clock window, IP allowlists (CIDR, IPv4 and IPv6), scopes, and the per-credential rate limit.
import crypto, { createHash, createHmac, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

export const SCOPES = ['send', 'read', 'templates', 'billing', 'webhooks'] as const;
export type Scope = (typeof SCOPES)[number];

export const SIGNING_ALGORITHM = 'HY1-HMAC-SHA256';

export function generateAppKey(): string {
  return `ak_${randomBytes(10).toString('hex')}`;
}

export function generateAppSecret(): string {
  return randomBytes(32).toString('base64url');
}

// crypto.hash (Node 20.12+) hashes in one call without a Hash object: 0.5 µs of CPU against
// 1.2 µs for a single send's body (500,000 calls in a process of their own, Node 20.20).
const oneShotHash: (algorithm: string, data: Buffer | string, encoding: 'hex') => string =
  crypto.hash ?? ((algorithm, data, encoding) => createHash(algorithm).update(data).digest(encoding));

export function sha256Hex(body: Buffer | string): string {
  return oneShotHash('sha256', body, 'hex');
}

/**
 * The query string as sent, its `name=value` pairs sorted by their bytes and joined with `&`:
 * nothing is decoded or re-encoded, so client and server cannot disagree on an escape.
 */
export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  return rawQuery
    .split('&')
    .filter((p) => p !== '')
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .join('&');
}

/** Splits a request target (`/v1/messages?b=2&a=1`) into its path and raw query string. */
export function splitTarget(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

export function canonicalString({
  method,
  url,
  bodySha256,
  timestamp,
  nonce,
}: {
  method: string;
  url: string;
  bodySha256: string;
  timestamp: string;
  nonce: string;
}): string {
  const { path, query } = splitTarget(url);
  return [
    SIGNING_ALGORITHM,
    method.toUpperCase(),
    path,
    canonicalQuery(query),
    bodySha256,
    timestamp,
    nonce,
  ].join('\n');
}

/**
 * The HMAC key of a secret, made once per credential look-up rather than from the string on
 * every signature: 2.6–3.8 µs of CPU a signature against 2.9–4.5 µs (same measurement).
 */
export function signingKey(secret: string): KeyObject {
  return crypto.createSecretKey(Buffer.from(secret, 'utf8'));
}

export function sign(secret: string | KeyObject, canonical: string): string {
  return createHmac('sha256', secret).update(canonical).digest('hex');
}

export function signatureMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
export const TIMESTAMP_PATTERN = /^\d{1,12}$/;

/** Whether a request's timestamp (Unix seconds) lies within ±windowSeconds of now. */
export function withinWindow(timestamp: string, nowMs: number, windowSeconds: number): boolean {
  if (!TIMESTAMP_PATTERN.test(timestamp)) return false;
  return Math.abs(Number(timestamp) * 1000 - nowMs) <= windowSeconds * 1000;
}

/** Parses one CIDR (`10.0.0.0/8`, `2001:db8::/32`, or a bare address meaning /32 or /128). */
export function parseCidr(text: string): { network: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [network = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const version = isIP(network);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return null;
  return { network, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Problems with a credential's scopes and allowlist, empty when it is valid. */
export function validateCredentialInput({
  name,
  scopes,
  allow,
  rateLimit,
}: {
  name: string;
  scopes: readonly string[];
  allow: readonly string[];
  rateLimit?: number | null | undefined;
}): string[] {
  const problems: string[] = [];
  if (name.trim() === '' || name.length > 100) problems.push('name: 1 to 100 characters');
  if (scopes.length === 0) problems.push(`scopes: at least one of ${SCOPES.join(', ')}`);
  for (const s of scopes)
    if (!(SCOPES as readonly string[]).includes(s))
      problems.push(`scopes: "${s}" is not one of ${SCOPES.join(', ')}`);
  for (const c of allow) if (!parseCidr(c)) problems.push(`allow: "${c}" is not an IPv4 or IPv6 CIDR`);
  if (allow.length > 100) problems.push('allow: at most 100 entries');
  if (rateLimit != null && (!Number.isInteger(rateLimit) || rateLimit < 1 || rateLimit > 1_000_000))
    problems.push('rate_limit: an integer 1..1000000');
  return problems;
}

/** An address matcher for an allowlist; an empty list allows every address. */
export function createAllowlist(cidrs: readonly string[]): (address: string) => boolean {
  if (cidrs.length === 0) return () => true;
  const list = new BlockList();
  for (const c of cidrs) {
    const parsed = parseCidr(c);
    if (parsed) list.addSubnet(parsed.network, parsed.prefix, parsed.family);
  }
  return (address) => {
    // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; it matches IPv4 entries.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const plain = mapped ? mapped[1]! : address;
    const version = isIP(plain);
    if (version === 0) return false;
    return list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * A token bucket holding one second of requests: `take` answers 0 when a request may go, or the
 * seconds to wait before the next token.
 */
export function createTokenBucket(ratePerSecond: number, nowMs: number) {
  let tokens = ratePerSecond;
  let at = nowMs;
  return {
    take(now: number): number {
      tokens = Math.min(ratePerSecond, tokens + ((now - at) / 1000) * ratePerSecond);
      at = now;
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return (1 - tokens) / ratePerSecond;
    },
  };
}
