// Tencent Cloud's TC3-HMAC-SHA256, recomputed server-side as tencentcloud-sdk-nodejs computes it
// (tencentcloud/common/sign.js sign3): a canonical request of method, path, raw query string, the
// signed headers (lower-case `name:value\n`; the SDK signs content-type and the URL's host name,
// without a port), their names and the body's SHA-256; signed with a key derived from
// "TC3" + SecretKey, the UTC date of X-TC-Timestamp, the service and "tc3_request".
import { createHash, createHmac } from 'node:crypto';

export interface Tc3Authorization {
  secretId: string;
  date: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** `TC3-HMAC-SHA256 Credential=ID/2026-11-30/sms/tc3_request, SignedHeaders=a;b, Signature=hex`. */
export function parseTc3Authorization(value: string | undefined): Tc3Authorization | null {
  if (value === undefined) return null;
  const m =
    /^TC3-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{4}-\d{2}-\d{2})\/([A-Za-z0-9.-]+)\/tc3_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/.exec(
      value.trim(),
    );
  if (!m) return null;
  return {
    secretId: m[1]!,
    date: m[2]!,
    service: m[3]!,
    signedHeaders: m[4]!.split(';').filter((h) => h !== ''),
    signature: m[5]!,
  };
}

function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** The UTC date of a Unix time in seconds, as the credential scope writes it. */
export function tc3Date(timestampSeconds: number): string {
  return new Date(timestampSeconds * 1000).toISOString().slice(0, 10);
}

/** The host name the SDK signs: the Host header without its port. */
export function signedHostOf(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1).toLowerCase();
  return host.replace(/:\d+$/, '').toLowerCase();
}

export function tc3CanonicalRequest({
  method,
  path,
  rawQuery,
  headers,
  signedHeaders,
  body,
}: {
  method: string;
  path: string;
  rawQuery: string;
  /** Values of the signed headers, by lower-case name. */
  headers: Readonly<Record<string, string>>;
  signedHeaders: readonly string[];
  body: Buffer | string;
}): string {
  const canonicalHeaders = signedHeaders
    .map((h) => `${h}:${(headers[h] ?? '').trim().toLowerCase()}\n`)
    .join('');
  return [
    method.toUpperCase(),
    path,
    rawQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    sha256Hex(body),
  ].join('\n');
}

export function tc3Signature({
  secretKey,
  timestamp,
  date,
  service,
  canonicalRequest,
}: {
  secretKey: string;
  timestamp: string;
  date: string;
  service: string;
  canonicalRequest: string;
}): string {
  const stringToSign = [
    'TC3-HMAC-SHA256',
    timestamp,
    `${date}/${service}/tc3_request`,
    sha256Hex(canonicalRequest),
  ].join('\n');
  const kDate = hmac(`TC3${secretKey}`, date);
  const kService = hmac(kDate, service);
  const kSigning = hmac(kService, 'tc3_request');
  return createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
}
