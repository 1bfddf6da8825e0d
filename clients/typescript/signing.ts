// Request signing (docs/api-signing.md): HMAC-SHA256 with the AppSecret over a seven-line
// canonical string. WebCrypto only (globalThis.crypto), so it runs in Node 20+ and in browsers.

export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  return hex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

export async function hmacSha256Hex(key: string, message: string): Promise<string> {
  const k = await crypto.subtle.importKey(
    'raw',
    encoder.encode(key),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return hex(await crypto.subtle.sign('HMAC', k, encoder.encode(message)));
}

/** The query string as sent, its name=value pairs sorted by their bytes (nothing re-encoded). */
export function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query.split('&');
  const bytes = (s: string) => encoder.encode(s);
  pairs.sort((a, b) => {
    const x = bytes(a);
    const y = bytes(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length;
  });
  return pairs.join('&');
}

export async function canonicalString(r: {
  method: string;
  /** Path and query as sent: `/v1/messages?status=sent`. */
  target: string;
  body: string | Uint8Array | undefined;
  timestamp: string;
  nonce: string;
}): Promise<string> {
  const q = r.target.indexOf('?');
  const path = q === -1 ? r.target : r.target.slice(0, q);
  const query = q === -1 ? '' : r.target.slice(q + 1);
  const bodyHash = r.body === undefined ? EMPTY_BODY_SHA256 : await sha256Hex(r.body);
  return [
    'HY1-HMAC-SHA256',
    r.method.toUpperCase(),
    path,
    canonicalQuery(query),
    bodyHash,
    r.timestamp,
    r.nonce,
  ].join('\n');
}

/** 32 random characters of A-Z a-z 0-9 _ - (the nonce's alphabet). */
export function newNonce(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  return [...crypto.getRandomValues(new Uint8Array(32))].map((b) => alphabet[b % 64]).join('');
}

/** The four X-Hy-* headers of a signed request. */
export async function signRequest(r: {
  appKey: string;
  appSecret: string;
  method: string;
  target: string;
  body?: string | Uint8Array;
  /** Unix seconds; default now. */
  timestamp?: number;
  nonce?: string;
}): Promise<Record<string, string>> {
  const timestamp = String(r.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = r.nonce ?? newNonce();
  const canonical = await canonicalString({
    method: r.method,
    target: r.target,
    body: r.body,
    timestamp,
    nonce,
  });
  return {
    'X-Hy-Key': r.appKey,
    'X-Hy-Timestamp': timestamp,
    'X-Hy-Nonce': nonce,
    'X-Hy-Signature': await hmacSha256Hex(r.appSecret, canonical),
  };
}
