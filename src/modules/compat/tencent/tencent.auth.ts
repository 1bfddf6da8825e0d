// Who sent a Tencent-style request (TC3-HMAC-SHA256), or Tencent's own error code. TC3 has no
// nonce: a send's signature itself is remembered for the window, so the same signed SendSms sent
// twice is refused as a replay (two different requests never share a signature). Reads are not:
// identical reads within one second are identical requests (timestamps are whole seconds).
import type { Scope } from '../../credentials/credentials.models.ts';
import type { VendorAuth, VendorPrincipal, VendorRefusal } from '../compat.auth.ts';
import {
  parseTc3Authorization,
  signedHostOf,
  tc3CanonicalRequest,
  tc3Date,
  tc3Signature,
} from './tencent.signature.ts';
import { sameSignature } from '../aliyun/aliyun.signature.ts';

export interface TencentError {
  code: string;
  message: string;
}

const REFUSALS: Record<VendorRefusal, TencentError> = {
  malformed: {
    code: 'AuthFailure.InvalidAuthorization',
    message: 'The Authorization header is not a valid TC3-HMAC-SHA256 signature.',
  },
  unknown_key: { code: 'AuthFailure.SecretIdNotFound', message: 'The SecretId is not found.' },
  signature: {
    code: 'AuthFailure.SignatureFailure',
    message: 'The provided signature does not match the calculation.',
  },
  skewed: {
    code: 'AuthFailure.SignatureExpire',
    message: 'Signature expired: X-TC-Timestamp is outside the allowed window.',
  },
  replayed: {
    code: 'AuthFailure.SignatureFailure',
    message: 'This signed request was already received (replay refused).',
  },
  revoked: { code: 'AuthFailure.SecretIdNotFound', message: 'The SecretId is revoked.' },
  suspended: { code: 'AuthFailure.UnauthorizedOperation', message: 'The account is suspended.' },
  address: {
    code: 'AuthFailure.UnauthorizedOperation',
    message: 'The source address is not allowed for this SecretId.',
  },
  scope: {
    code: 'AuthFailure.UnauthorizedOperation',
    message: 'This SecretId is not authorized for the action.',
  },
};

export type TencentAuthOutcome =
  { ok: true; principal: VendorPrincipal; action: string } | { ok: false; error: TencentError };

function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
}

export async function authenticateTencent(
  auth: VendorAuth,
  request: {
    method: string;
    path: string;
    rawQuery: string;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer | undefined;
    address: string;
  },
  scopeOf: (action: string) => Scope | null,
): Promise<TencentAuthOutcome> {
  const refuse = (reason: VendorRefusal, message?: string) => ({
    ok: false as const,
    error: message ? { ...REFUSALS[reason], message } : REFUSALS[reason],
  });
  const parsed = parseTc3Authorization(headerOf(request.headers, 'authorization'));
  const action = headerOf(request.headers, 'x-tc-action');
  const timestamp = headerOf(request.headers, 'x-tc-timestamp');
  if (!parsed) return refuse('malformed');
  if (!action || !timestamp || !/^\d{1,12}$/.test(timestamp))
    return {
      ok: false,
      error: {
        code: 'MissingParameter',
        message: 'X-TC-Action and X-TC-Timestamp (Unix seconds) are required.',
      },
    };
  if (!parsed.signedHeaders.includes('content-type') || !parsed.signedHeaders.includes('host'))
    return refuse('malformed', 'SignedHeaders must include content-type and host.');
  const headers: Record<string, string> = {};
  for (const h of parsed.signedHeaders) {
    const v = headerOf(request.headers, h);
    if (v === undefined) return refuse('malformed', `Signed header ${h} is missing.`);
    headers[h] = h === 'host' ? signedHostOf(v) : v;
  }
  const credential = await auth.byAppKey(parsed.secretId);
  if (!credential) return refuse('unknown_key');
  const canonicalRequest = tc3CanonicalRequest({
    method: request.method,
    path: request.path,
    rawQuery: request.rawQuery,
    headers,
    signedHeaders: parsed.signedHeaders,
    body: request.body ?? '',
  });
  const expected = tc3Signature({
    secretKey: credential.secret,
    timestamp,
    date: parsed.date,
    service: parsed.service,
    canonicalRequest,
  });
  if (!sameSignature(expected, parsed.signature)) return refuse('signature');
  if (parsed.date !== tc3Date(Number(timestamp)) || !auth.withinWindow(Number(timestamp) * 1000))
    return refuse('skewed');
  const scope = scopeOf(action);
  if (scope === null)
    return { ok: false, error: { code: 'InvalidAction', message: `The action ${action} is not offered.` } };
  // Only sends spend their signature: a client polling PullSmsSendStatus or listing templates
  // sends byte-identical requests within one second, which TC3 signs identically.
  const nonce = scope === 'send' ? `tc3:${parsed.signature}` : null;
  const admitted = await auth.admit({ credential, address: request.address, scope, nonce });
  if (!admitted.ok) return refuse(admitted.reason);
  return { ok: true, principal: admitted.principal, action };
}
