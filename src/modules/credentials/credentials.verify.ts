// Verifies a signed request (docs/api-signing.md) and answers whose it is. Checks run cheapest
// first, and the nonce, the one write, last: a request refused for any other reason does not
// spend its nonce, and a flood over the rate limit costs the database nothing.
import { tenantSuspended } from '../accounts/accounts.errors.ts';
import type { KeyObject } from 'node:crypto';
import { type KeyRingSource, openSealed } from '../../shared/secrets.ts';
import {
  credentialRevoked,
  ipNotAllowed,
  nonceReplayed,
  rateLimited,
  signatureInvalid,
  timestampSkewed,
} from './credentials.errors.ts';
import {
  canonicalString,
  createAllowlist,
  createTokenBucket,
  NONCE_PATTERN,
  type Scope,
  sha256Hex,
  sign,
  signatureMatches,
  signingKey,
  TIMESTAMP_PATTERN,
  withinWindow,
} from './credentials.models.ts';
import type { CredentialsRepository } from './credentials.repository.ts';
import { createNonceRecorder } from './nonces.ts';

export interface SignedPrincipal {
  tenantId: number;
  credentialId: number;
  appKey: string;
  scopes: readonly Scope[];
  /**
   * Set when the route deferred the nonce (`verify(…, { deferNonce: true })`): the route must
   * spend it, in its message's admission (nonce.admission.ts) or with `spendNonce`, before any
   * effect of the request.
   */
  pendingNonce?: { appKey: string; nonce: string };
}

export interface SignedRequest {
  method: string;
  /** The request target as sent: path and query string. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
  address: string;
}

interface CachedCredential {
  id: number;
  tenantId: number;
  /** The AppSecret as an HMAC key, built once per look-up rather than on every signature. */
  key: KeyObject;
  scopes: readonly Scope[];
  allows: (address: string) => boolean;
  revoked: boolean;
  suspended: boolean;
  rateLimit: number;
  expires: number;
}

const EMPTY_SHA256 = sha256Hex('');

function header(headers: SignedRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
}

export function createSignedRequestVerifier({
  repository,
  keyRing,
  windowSeconds,
  defaultRateLimit,
  now = Date.now,
  cacheTtlMs = 10_000,
  lastUseEveryMs = 10_000,
  onBackgroundError = () => {},
}: {
  repository: CredentialsRepository;
  keyRing: KeyRingSource;
  windowSeconds: number;
  defaultRateLimit: number;
  now?: () => number;
  /** A revocation on another node takes effect within this; on this node at once (`forget`). */
  cacheTtlMs?: number;
  /** last_used_at is written at most this often per credential and node, not on every request. */
  lastUseEveryMs?: number;
  onBackgroundError?: (error: unknown) => void;
}) {
  const cache = new Map<string, CachedCredential>();
  const buckets = new Map<number, ReturnType<typeof createTokenBucket>>();
  const lastUseWritten = new Map<number, number>();
  let lastSweep = 0;
  const nonces = createNonceRecorder({ repository });

  // One look-up in flight per AppKey: when an entry expires under load, the requests that find
  // it gone wait for the same query instead of each sending one. `forget` bumps the epoch, so a
  // look-up that read the row before a revocation here does not cache what it read.
  const loading = new Map<string, Promise<CachedCredential | null>>();
  let epoch = 0;

  function load(appKey: string, at: number): Promise<CachedCredential | null> {
    const inFlight = loading.get(appKey);
    if (inFlight) return inFlight;
    const startedIn = epoch;
    const pending = repository
      .findCredentialByAppKey(appKey)
      .then((row) => {
        if (!row) return null;
        const entry: CachedCredential = {
          id: row.id,
          tenantId: row.tenant_id,
          key: signingKey(openSealed(keyRing, row.secret_sealed)),
          scopes: row.scopes as Scope[],
          allows: createAllowlist(row.allow_cidrs),
          revoked: row.revoked_at !== null,
          suspended: row.tenant_status !== 'active',
          rateLimit: row.rate_limit ?? defaultRateLimit,
          expires: at + cacheTtlMs,
        };
        if (startedIn === epoch) {
          if (cache.size > 10_000) cache.clear();
          cache.set(appKey, entry);
        }
        return entry;
      })
      .finally(() => {
        if (loading.get(appKey) === pending) loading.delete(appKey);
      });
    loading.set(appKey, pending);
    return pending;
  }

  function background(work: Promise<unknown>) {
    work.catch(onBackgroundError);
  }

  return {
    async verify(
      request: SignedRequest,
      { deferNonce = false }: { deferNonce?: boolean } = {},
    ): Promise<SignedPrincipal> {
      const appKey = header(request.headers, 'x-hy-key');
      const timestamp = header(request.headers, 'x-hy-timestamp');
      const nonce = header(request.headers, 'x-hy-nonce');
      const signature = header(request.headers, 'x-hy-signature');
      if (!appKey || !timestamp || !nonce || !signature)
        throw signatureInvalid({
          message: 'A signed request needs X-Hy-Key, X-Hy-Timestamp, X-Hy-Nonce and X-Hy-Signature.',
        });
      if (!TIMESTAMP_PATTERN.test(timestamp))
        throw signatureInvalid({ message: 'X-Hy-Timestamp must be Unix time in seconds.' });
      if (!NONCE_PATTERN.test(nonce))
        throw signatureInvalid({ message: 'X-Hy-Nonce must be 16 to 64 characters of A-Z a-z 0-9 _ -.' });
      if (!/^[0-9a-fA-F]{64}$/.test(signature))
        throw signatureInvalid({ message: 'X-Hy-Signature must be 64 hex digits (HMAC-SHA256).' });
      const at = now();
      if (!withinWindow(timestamp, at, windowSeconds))
        throw timestampSkewed({
          details: { server_time: Math.floor(at / 1000), window_seconds: windowSeconds },
        });
      const cached = cache.get(appKey);
      const credential = cached && cached.expires > at ? cached : await load(appKey, at);
      if (!credential) throw signatureInvalid();
      const canonical = canonicalString({
        method: request.method,
        url: request.url,
        bodySha256: request.body && request.body.length > 0 ? sha256Hex(request.body) : EMPTY_SHA256,
        timestamp,
        nonce,
      });
      if (!signatureMatches(sign(credential.key, canonical), signature)) throw signatureInvalid();
      // Past this point the caller holds the secret, so telling what else is wrong leaks nothing.
      if (credential.revoked) throw credentialRevoked();
      if (credential.suspended) throw tenantSuspended();
      if (!credential.allows(request.address)) throw ipNotAllowed({ details: { address: request.address } });
      let bucket = buckets.get(credential.id);
      if (!bucket) {
        bucket = createTokenBucket(credential.rateLimit, at);
        buckets.set(credential.id, bucket);
      }
      const wait = bucket.take(at);
      if (wait > 0) throw rateLimited({ details: { retry_after: Math.ceil(wait) } });
      if (!deferNonce && !(await nonces.remember(appKey, nonce, new Date(at)))) throw nonceReplayed();

      if ((lastUseWritten.get(credential.id) ?? 0) + lastUseEveryMs <= at) {
        lastUseWritten.set(credential.id, at);
        background(repository.recordLastUse(credential.id, new Date(at), request.address));
      }
      if (lastSweep + 60_000 <= at) {
        lastSweep = at;
        // Twice the window: a nonce is kept at least as long as its timestamp could be accepted.
        background(repository.forgetNoncesBefore(new Date(at - 2 * windowSeconds * 1000)));
      }
      return {
        tenantId: credential.tenantId,
        credentialId: credential.id,
        appKey,
        scopes: credential.scopes,
        ...(deferNonce ? { pendingNonce: { appKey, nonce } } : {}),
      };
    },
    /** Spends a nonce the route deferred, on its own (a path that admits no message row). */
    async spendNonce(principal: SignedPrincipal): Promise<void> {
      const pending = principal.pendingNonce;
      if (!pending) return;
      delete principal.pendingNonce;
      if (!(await nonces.remember(pending.appKey, pending.nonce, new Date(now())))) throw nonceReplayed();
    },
    /** Drops a credential from this node's cache (after a revocation here). */
    forget(appKey: string) {
      epoch++;
      cache.delete(appKey);
      loading.delete(appKey);
    },
  };
}

export type SignedRequestVerifier = ReturnType<typeof createSignedRequestVerifier>;
