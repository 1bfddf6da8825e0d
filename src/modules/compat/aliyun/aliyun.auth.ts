// Who sent an Aliyun-style request: ACS3-HMAC-SHA256 (Authorization header, the v2 SDKs) or the
// RPC HMAC-SHA1 signature (Signature parameter, @alicloud/pop-core). Answers the action and its
// parameters, or Alibaba Cloud's own error code.
import type { Scope } from '../../credentials/credentials.models.ts';
import type { LoadedCredential, VendorAuth, VendorRefusal } from '../compat.auth.ts';
import type { VendorPrincipal } from '../compat.auth.ts';
import {
  ACS3_REQUIRED_HEADERS,
  acs3CanonicalRequest,
  acs3Signature,
  parseAcs3Authorization,
  parseAliyunTimestamp,
  rpcSignature,
  rpcStringToSign,
  sameSignature,
  sha256Hex,
} from './aliyun.signature.ts';

export interface AliyunError {
  status: number;
  code: string;
  message: string;
}

export type AliyunAuthOutcome =
  | { ok: true; principal: VendorPrincipal; action: string; params: Record<string, string> }
  | { ok: false; error: AliyunError };

const REFUSALS: Record<VendorRefusal, AliyunError> = {
  malformed: {
    status: 400,
    code: 'IncompleteSignature',
    message: 'The request signature does not conform to Aliyun standards.',
  },
  unknown_key: {
    status: 404,
    code: 'InvalidAccessKeyId.NotFound',
    message: 'Specified access key is not found.',
  },
  signature: {
    status: 400,
    code: 'SignatureDoesNotMatch',
    message: 'Specified signature is not matched with our calculation.',
  },
  skewed: {
    status: 400,
    code: 'InvalidTimeStamp.Expired',
    message: 'Specified time stamp or date value is expired.',
  },
  replayed: {
    status: 400,
    code: 'SignatureNonceUsed',
    message: 'Specified signature nonce was used already.',
  },
  revoked: { status: 400, code: 'InvalidAccessKeyId.Inactive', message: 'Specified access key is disabled.' },
  suspended: { status: 403, code: 'isv.ACCOUNT_ABNORMAL', message: 'The account is suspended.' },
  address: {
    status: 403,
    code: 'Forbidden.IpNotInWhitelist',
    message: 'The source address is not allowed for this access key.',
  },
  scope: { status: 403, code: 'Forbidden.RAM', message: 'This access key is not authorized for the action.' },
};

export function aliyunRefusal(reason: VendorRefusal, message?: string): { ok: false; error: AliyunError } {
  const e = REFUSALS[reason];
  return { ok: false, error: message ? { ...e, message } : e };
}

export interface AliyunRequest {
  method: string;
  /** The path below the mount point (`/compat/aliyun/` is `/`): what the SDK signed. */
  path: string;
  query: Record<string, string>;
  form: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
  address: string;
}

function headerOf(headers: AliyunRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
}

export async function authenticateAliyun(
  auth: VendorAuth,
  request: AliyunRequest,
  scopeOf: (action: string) => Scope | null,
): Promise<AliyunAuthOutcome> {
  const authorization = headerOf(request.headers, 'authorization');
  const signed = authorization?.startsWith('ACS3-')
    ? await checkAcs3(auth, request, authorization)
    : await checkRpc(auth, request);
  if (!signed.ok) return signed;
  const scope = scopeOf(signed.action);
  if (scope === null)
    return {
      ok: false,
      error: {
        status: 404,
        code: 'InvalidAction.NotFound',
        message: `Specified api is not found: ${signed.action}`,
      },
    };
  const admitted = await auth.admit({
    credential: signed.credential,
    address: request.address,
    scope,
    nonce: `aliyun:${signed.nonce}`,
  });
  if (!admitted.ok) return aliyunRefusal(admitted.reason);
  return { ok: true, principal: admitted.principal, action: signed.action, params: signed.params };
}

type Signed =
  | { ok: true; credential: LoadedCredential; action: string; nonce: string; params: Record<string, string> }
  | { ok: false; error: AliyunError };

async function checkAcs3(auth: VendorAuth, request: AliyunRequest, authorization: string): Promise<Signed> {
  const parsed = parseAcs3Authorization(authorization);
  if (!parsed)
    return aliyunRefusal(
      'malformed',
      'The Authorization header is not ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=….',
    );
  const missing = ACS3_REQUIRED_HEADERS.filter(
    (h) => !parsed.signedHeaders.includes(h) || headerOf(request.headers, h) === undefined,
  );
  if (missing.length > 0)
    return aliyunRefusal('malformed', `These headers must be present and signed: ${missing.join(', ')}.`);
  const headers: Record<string, string> = {};
  for (const h of parsed.signedHeaders) {
    const v = headerOf(request.headers, h);
    if (v === undefined) return aliyunRefusal('malformed', `Signed header ${h} is missing.`);
    headers[h] = v;
  }
  const payload = headers['x-acs-content-sha256']!;
  if (payload !== sha256Hex(request.body ?? ''))
    return aliyunRefusal('signature', 'x-acs-content-sha256 is not the SHA-256 of the body.');
  const nonce = headers['x-acs-signature-nonce']!;
  if (nonce.length === 0 || nonce.length > 128)
    return aliyunRefusal('malformed', 'x-acs-signature-nonce must be 1 to 128 characters.');
  const credential = await auth.byAppKey(parsed.accessKeyId);
  if (!credential) return aliyunRefusal('unknown_key');
  const canonical = acs3CanonicalRequest({
    method: request.method,
    path: request.path,
    query: request.query,
    headers,
    signedHeaders: parsed.signedHeaders,
    payloadSha256: payload,
  });
  if (!sameSignature(acs3Signature(credential.secret, canonical), parsed.signature))
    return aliyunRefusal('signature');
  if (!auth.withinWindow(parseAliyunTimestamp(headers['x-acs-date']))) return aliyunRefusal('skewed');
  return {
    ok: true,
    credential,
    action: headers['x-acs-action']!,
    nonce,
    params: { ...request.query, ...request.form },
  };
}

async function checkRpc(auth: VendorAuth, request: AliyunRequest): Promise<Signed> {
  for (const k of Object.keys(request.form))
    if (k in request.query) return aliyunRefusal('malformed', `Parameter ${k} is given twice.`);
  const params = { ...request.query, ...request.form };
  const { Signature: signature, AccessKeyId: accessKeyId, SignatureNonce: nonce, Action: action } = params;
  if (!signature || !accessKeyId || !nonce || !action || !params.Timestamp)
    return {
      ok: false,
      error: {
        status: 400,
        code: 'MissingParameter',
        message:
          'A signed request needs Action, AccessKeyId, Signature, SignatureNonce and Timestamp (or an ACS3 Authorization header).',
      },
    };
  if (params.SignatureMethod !== 'HMAC-SHA1' || (params.SignatureVersion ?? '1.0') !== '1.0')
    return {
      ok: false,
      error: {
        status: 400,
        code: 'InvalidSignatureMethod',
        message: 'Only SignatureMethod HMAC-SHA1, SignatureVersion 1.0 is supported.',
      },
    };
  if (nonce.length > 128) return aliyunRefusal('malformed', 'SignatureNonce must be at most 128 characters.');
  const credential = await auth.byAppKey(accessKeyId);
  if (!credential) return aliyunRefusal('unknown_key');
  const expected = rpcSignature(credential.secret, rpcStringToSign(request.method, params));
  if (!sameSignature(expected, signature)) return aliyunRefusal('signature');
  if (!auth.withinWindow(parseAliyunTimestamp(params.Timestamp))) return aliyunRefusal('skewed');
  const business: Record<string, string> = {};
  for (const [k, v] of Object.entries(params))
    if (
      ![
        'Signature',
        'AccessKeyId',
        'SignatureNonce',
        'SignatureMethod',
        'SignatureVersion',
        'Timestamp',
        'Format',
        'Version',
        'Action',
      ].includes(k)
    )
      business[k] = v;
  return { ok: true, credential, action, nonce, params: business };
}
