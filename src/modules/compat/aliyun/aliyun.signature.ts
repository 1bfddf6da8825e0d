// Alibaba Cloud's two signature schemes, recomputed server-side from what was received, exactly as
// the SDKs compute them (read from node_modules):
// - RPC HMAC-SHA1 (@alicloud/pop-core lib/rpc.js): every parameter but Signature, sorted by name,
//   `encode(name)=encode(value)` joined with `&`; the string to sign is
//   `METHOD&%2F&encode(that)`, the key the AccessKeySecret followed by `&`, the signature base64.
// - ACS3-HMAC-SHA256 (@alicloud/openapi-core dist/utils.js getAuthorization, used by
//   @alicloud/dysmsapi20170525): a canonical request of method, path, sorted query
//   (`name=encode(value)`), the signed headers (`name:value\n`, sorted), their names, and the
//   body's SHA-256 (the x-acs-content-sha256 header, itself checked against the body).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Alibaba Cloud's percent-encoding: encodeURIComponent plus ! ' ( ) *. */
export function aliyunEncode(text: string): string {
  return encodeURIComponent(text)
    .replace(/!/g, '%21')
    .replace(/'/g, '%27')
    .replace(/\(/g, '%28')
    .replace(/\)/g, '%29')
    .replace(/\*/g, '%2A');
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function rpcStringToSign(method: string, params: Readonly<Record<string, string>>): string {
  const canonical = Object.keys(params)
    .filter((k) => k !== 'Signature')
    .sort(byName)
    .map((k) => `${aliyunEncode(k)}=${aliyunEncode(params[k]!)}`)
    .join('&');
  return `${method.toUpperCase()}&${aliyunEncode('/')}&${aliyunEncode(canonical)}`;
}

export function rpcSignature(secret: string, stringToSign: string): string {
  return createHmac('sha1', `${secret}&`).update(stringToSign, 'utf8').digest('base64');
}

export interface Acs3Authorization {
  algorithm: 'ACS3-HMAC-SHA256';
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

/** `ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex`; null when it is not that. */
export function parseAcs3Authorization(value: string | undefined): Acs3Authorization | null {
  if (value === undefined) return null;
  const m =
    /^ACS3-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/.exec(
      value.trim(),
    );
  if (!m) return null;
  return {
    algorithm: 'ACS3-HMAC-SHA256',
    accessKeyId: m[1]!,
    signedHeaders: m[2]!.split(';').filter((h) => h !== ''),
    signature: m[3]!,
  };
}

/** Headers a valid ACS3 request must have signed: without them a request could be replayed or altered. */
export const ACS3_REQUIRED_HEADERS = [
  'host',
  'x-acs-action',
  'x-acs-content-sha256',
  'x-acs-date',
  'x-acs-signature-nonce',
];

export function acs3CanonicalRequest({
  method,
  path,
  query,
  headers,
  signedHeaders,
  payloadSha256,
}: {
  method: string;
  path: string;
  query: Readonly<Record<string, string>>;
  headers: Readonly<Record<string, string>>;
  signedHeaders: readonly string[];
  payloadSha256: string;
}): string {
  const canonicalUri = path.replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~');
  const canonicalQuery = Object.keys(query)
    .sort(byName)
    .map((k) => `${k}=${aliyunEncode(query[k]!)}`)
    .join('&');
  const sorted = [...signedHeaders].sort(byName);
  const canonicalHeaders = sorted.map((h) => `${h}:${(headers[h] ?? '').trim()}\n`).join('');
  return [
    method.toUpperCase(),
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    sorted.join(';'),
    payloadSha256,
  ].join('\n');
}

export function acs3Signature(secret: string, canonicalRequest: string): string {
  const stringToSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')}`;
  return createHmac('sha256', secret).update(stringToSign, 'utf8').digest('hex');
}

export function sha256Hex(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Constant-time comparison of two signatures as text. */
export function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Aliyun's ISO 8601 UTC time (`2026-11-30T10:45:09Z`) in ms; NaN when it is not one. */
export function parseAliyunTimestamp(text: string | undefined): number {
  if (text === undefined || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(text))
    return Number.NaN;
  return Date.parse(text);
}
