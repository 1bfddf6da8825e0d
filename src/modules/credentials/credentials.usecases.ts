// Create, list, rotate, revoke a tenant's signed API credentials and change their IP allowlists. The AppSecret is returned
// once, at creation or rotation; the table holds it sealed with the master key.
import { type KeyRingSource, seal } from '../../shared/secrets.ts';
import { credentialNotFound, invalidCredential } from './credentials.errors.ts';
import { generateAppKey, generateAppSecret, validateCredentialInput } from './credentials.models.ts';
import type { CredentialRow, CredentialsRepository } from './credentials.repository.ts';

export function toCredentialView(c: CredentialRow) {
  return {
    id: c.id,
    name: c.name,
    app_key: c.app_key,
    /** The Twilio SDK's AccountSid for this credential; its auth token is the AppSecret. */
    twilio_account_sid: c.twilio_account_sid,
    scopes: c.scopes,
    allow: c.allow_cidrs,
    rate_limit: c.rate_limit,
    rotated_from: c.rotated_from,
    created_at: c.created_at.toISOString(),
    last_used_at: c.last_used_at?.toISOString() ?? null,
    last_used_address: c.last_used_address,
    revoked_at: c.revoked_at?.toISOString() ?? null,
  };
}

export type CredentialView = ReturnType<typeof toCredentialView>;

export async function createCredential({
  tenantId,
  name,
  scopes,
  allow = [],
  rateLimit = null,
  rotatedFrom = null,
  repository,
  keyRing,
}: {
  tenantId: number;
  name: string;
  scopes: readonly string[];
  allow?: readonly string[];
  rateLimit?: number | null;
  rotatedFrom?: number | null;
  repository: CredentialsRepository;
  keyRing: KeyRingSource;
}): Promise<{ credential: CredentialView; appSecret: string }> {
  const problems = validateCredentialInput({ name, scopes, allow, rateLimit });
  if (problems.length > 0) throw invalidCredential({ message: problems.join('; '), details: problems });
  const appSecret = generateAppSecret();
  const row = await repository.insertCredential({
    tenantId,
    name: name.trim(),
    appKey: generateAppKey(),
    secretSealed: seal(keyRing(), appSecret),
    scopes: [...new Set(scopes)],
    allow: allow.map((c) => c.trim()),
    rateLimit,
    rotatedFrom,
  });
  return { credential: toCredentialView(row), appSecret };
}

export async function listCredentials({
  tenantId,
  repository,
}: {
  tenantId: number;
  repository: CredentialsRepository;
}): Promise<CredentialView[]> {
  return (await repository.listCredentials(tenantId)).map(toCredentialView);
}

/**
 * Rotation issues a new credential (new AppKey and AppSecret, same name, scopes, allowlist and
 * limit) linked to the old by `rotated_from`. Both sign valid requests until the old is revoked:
 * clients move at their pace, and the old one's `last_used_at` shows when the last one moved.
 */
export async function rotateCredential({
  tenantId,
  id,
  repository,
  keyRing,
}: {
  tenantId: number;
  id: number;
  repository: CredentialsRepository;
  keyRing: KeyRingSource;
}) {
  const old = await repository.getCredential(tenantId, id);
  if (!old || old.revoked_at) throw credentialNotFound();
  return createCredential({
    tenantId,
    name: old.name,
    scopes: old.scopes,
    allow: old.allow_cidrs,
    rateLimit: old.rate_limit,
    rotatedFrom: old.id,
    repository,
    keyRing,
  });
}

export async function revokeCredential({
  tenantId,
  id,
  repository,
  now,
}: {
  tenantId: number;
  id: number;
  repository: CredentialsRepository;
  now: Date;
}): Promise<CredentialView> {
  const row = await repository.revokeCredential(tenantId, id, now);
  if (!row) throw credentialNotFound();
  return toCredentialView(row);
}

/** A live credential's IP allowlist replaced (empty: any address); the same checks as at creation. */
export async function updateCredentialAllow({
  tenantId,
  id,
  allow,
  repository,
}: {
  tenantId: number;
  id: number;
  allow: readonly string[];
  repository: CredentialsRepository;
}): Promise<CredentialView> {
  const row = await repository.getCredential(tenantId, id);
  if (!row || row.revoked_at) throw credentialNotFound();
  const problems = validateCredentialInput({
    name: row.name,
    scopes: row.scopes,
    allow,
    rateLimit: row.rate_limit,
  });
  if (problems.length > 0) throw invalidCredential({ message: problems.join('; '), details: problems });
  const updated = await repository.setAllow(
    tenantId,
    id,
    allow.map((c) => c.trim()),
  );
  if (!updated) throw credentialNotFound();
  return toCredentialView(updated);
}
