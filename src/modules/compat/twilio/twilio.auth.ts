// HTTP Basic as Twilio's SDK sends it: the AccountSid (the credential's Twilio form) and the auth
// token (its AppSecret), compared in constant time. The AccountSid in the path must be the one
// that authenticated. No nonce: Basic carries the secret itself, there is no signature to replay.
import { timingSafeEqual } from 'node:crypto';
import type { Scope } from '../../credentials/credentials.models.ts';
import type { VendorAuth, VendorPrincipal, VendorRefusal } from '../compat.auth.ts';

export type TwilioAuthOutcome =
  { ok: true; principal: VendorPrincipal } | { ok: false; status: number; code: number; message: string };

const REFUSALS: Record<VendorRefusal, { status: number; code: number; message: string }> = {
  malformed: { status: 401, code: 20003, message: 'Authenticate' },
  unknown_key: { status: 401, code: 20003, message: 'Authenticate' },
  signature: { status: 401, code: 20003, message: 'Authenticate' },
  skewed: { status: 401, code: 20003, message: 'Authenticate' },
  replayed: { status: 401, code: 20003, message: 'Authenticate' },
  revoked: { status: 401, code: 20003, message: 'Authenticate: the credential is revoked' },
  suspended: { status: 403, code: 20005, message: 'Account not active' },
  address: { status: 403, code: 20003, message: 'Permission denied: the source address is not allowed' },
  scope: {
    status: 403,
    code: 20003,
    message: 'Permission denied: the credential lacks the scope for this request',
  },
};

function refuse(reason: VendorRefusal): TwilioAuthOutcome {
  return { ok: false, ...REFUSALS[reason] };
}

export function parseBasic(header: string | undefined): { user: string; password: string } | null {
  const m = header === undefined ? null : /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? null : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

export async function authenticateTwilio(
  auth: VendorAuth,
  request: { authorization: string | undefined; accountSid: string; address: string; scope: Scope },
): Promise<TwilioAuthOutcome> {
  const basic = parseBasic(request.authorization);
  if (!basic) return refuse('malformed');
  const credential = await auth.byTwilioSid(basic.user);
  if (!credential) return refuse('unknown_key');
  const a = Buffer.from(credential.secret, 'utf8');
  const b = Buffer.from(basic.password, 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) return refuse('signature');
  if (request.accountSid !== basic.user) return refuse('unknown_key');
  const admitted = await auth.admit({
    credential,
    address: request.address,
    scope: request.scope,
    nonce: null,
  });
  return admitted.ok ? admitted : refuse(admitted.reason);
}
