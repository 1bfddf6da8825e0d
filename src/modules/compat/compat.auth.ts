// Who signed a vendor-style request, for the three compatible APIs. Each vendor's module parses
// its own scheme and recomputes its signature (aliyun/, tencent/, twilio/); this module finds the
// credential (AccessKeyId, SecretId and the AppKey are the same key; Twilio's AccountSid is the
// credential's Twilio form), opens its sealed secret, and runs the checks every scheme shares in
// the order of the signed-request verifier (credentials.verify.ts): the signature first, then
// what only the secret's holder may learn (revoked, suspended, address, scope), the nonce last, so
// that a request refused for any other reason does not spend its nonce.
import { type KeyRingSource, openSealed } from '../../shared/secrets.ts';
import { createAllowlist, type Scope } from '../credentials/credentials.models.ts';
import type { CredentialRow, CredentialsRepository } from '../credentials/credentials.repository.ts';
import { createNonceRecorder } from '../credentials/nonces.ts';

export type VendorRefusal =
  | 'malformed'
  | 'unknown_key'
  | 'signature'
  | 'skewed'
  | 'replayed'
  | 'revoked'
  | 'suspended'
  | 'address'
  | 'scope';

export interface VendorPrincipal {
  tenantId: number;
  credentialId: number;
  appKey: string;
  twilioAccountSid: string;
  scopes: readonly Scope[];
}

export type VendorAuthOutcome =
  { ok: true; principal: VendorPrincipal } | { ok: false; reason: VendorRefusal };

export interface LoadedCredential {
  row: CredentialRow & { tenant_status: string };
  secret: string;
}

export function createVendorAuth({
  repository,
  keyRing,
  windowSeconds,
  now = Date.now,
}: {
  repository: Pick<
    CredentialsRepository,
    'findCredentialByAppKey' | 'findCredentialByTwilioSid' | 'rememberNonces'
  >;
  keyRing: KeyRingSource;
  windowSeconds: number;
  now?: () => number;
}) {
  const nonces = createNonceRecorder({ repository });

  function opened(row: (CredentialRow & { tenant_status: string }) | null): LoadedCredential | null {
    return row ? { row, secret: openSealed(keyRing, row.secret_sealed) } : null;
  }

  return {
    windowSeconds,
    now,
    async byAppKey(appKey: string): Promise<LoadedCredential | null> {
      if (appKey === '' || appKey.length > 200) return null;
      return opened(await repository.findCredentialByAppKey(appKey));
    },
    async byTwilioSid(accountSid: string): Promise<LoadedCredential | null> {
      if (!/^AC[0-9a-f]{32}$/.test(accountSid)) return null;
      return opened(await repository.findCredentialByTwilioSid(accountSid));
    },
    /** Whether a request time (ms) lies within the window around now. */
    withinWindow(atMs: number): boolean {
      return Number.isFinite(atMs) && Math.abs(atMs - now()) <= windowSeconds * 1000;
    },
    /**
     * The checks after a valid signature. `nonce` is namespaced by the vendor (an Aliyun nonce
     * and a Hongyan nonce of the same text are different requests); null when the scheme has
     * none (Twilio's Basic authentication carries the secret itself, nothing to replay).
     */
    async admit({
      credential,
      address,
      scope,
      nonce,
    }: {
      credential: LoadedCredential;
      address: string;
      scope: Scope;
      nonce: string | null;
    }): Promise<VendorAuthOutcome> {
      const { row } = credential;
      if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
      if (row.tenant_status !== 'active') return { ok: false, reason: 'suspended' };
      if (!createAllowlist(row.allow_cidrs)(address)) return { ok: false, reason: 'address' };
      if (!row.scopes.includes(scope)) return { ok: false, reason: 'scope' };
      if (nonce !== null && !(await nonces.remember(row.app_key, nonce, new Date(now()))))
        return { ok: false, reason: 'replayed' };
      return {
        ok: true,
        principal: {
          tenantId: Number(row.tenant_id),
          credentialId: Number(row.id),
          appKey: row.app_key,
          twilioAccountSid: row.twilio_account_sid,
          scopes: row.scopes as Scope[],
        },
      };
    },
  };
}

export type VendorAuth = ReturnType<typeof createVendorAuth>;
