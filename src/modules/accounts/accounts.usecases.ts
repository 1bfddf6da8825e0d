import { randomBytes } from 'node:crypto';
import { hash as argon2Hash } from '@node-rs/argon2';
import { tenantNotFound, tenantSuspended, unauthenticated } from './accounts.errors.ts';
import { generateApiKey, parseApiKey, secretMatches } from './accounts.models.ts';
import type { AccountsRepository } from './accounts.repository.ts';

export async function createTenant({ name, repository }: { name: string; repository: AccountsRepository }) {
  const tenant = await repository.insertTenant({ name });
  const { apiKey } = await createApiKey({ tenantId: tenant.id, repository });
  return { tenant, apiKey };
}

export async function createApiKey({
  tenantId,
  name,
  repository,
}: {
  tenantId: number;
  name?: string;
  repository: AccountsRepository;
}) {
  const tenant = await repository.getTenantById(tenantId);
  if (!tenant) throw tenantNotFound();
  const generated = generateApiKey();
  const row = await repository.insertApiKey({
    tenantId,
    keyId: generated.keyId,
    secretHash: generated.secretHash,
    name,
  });
  return {
    apiKey: { id: row.id, keyId: row.key_id, tenantId, key: generated.key, createdAt: row.created_at },
  };
}

export interface Principal {
  tenantId: number;
}

/**
 * Resolves a bearer key to its tenant. Successful look-ups are cached briefly so that the hot
 * sending path does not pay a query per request; a revocation or suspension therefore takes effect
 * within `ttlMs`.
 */
export function createAuthenticator({
  repository,
  ttlMs = 10_000,
  now = Date.now,
}: {
  repository: AccountsRepository;
  ttlMs?: number;
  now?: () => number;
}) {
  const cache = new Map<string, { principal: Principal; expires: number }>();
  return async function authenticate(key: string | null): Promise<Principal> {
    if (!key) throw unauthenticated();
    const cached = cache.get(key);
    if (cached && cached.expires > now()) return cached.principal;
    const parsed = parseApiKey(key);
    if (!parsed) throw unauthenticated();
    const row = await repository.findActiveKey(parsed.keyId);
    if (!row || !secretMatches(parsed.secret, row.secret_hash)) throw unauthenticated();
    if (row.status !== 'active') throw tenantSuspended();
    const principal = { tenantId: row.tenant_id };
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { principal, expires: now() + ttlMs });
    return principal;
  };
}

/**
 * First start: create the operator account and a demo tenant with an API key. Returns the secrets
 * to print once, or null when the install is already set up.
 */
export async function bootstrapInstall({ repository }: { repository: AccountsRepository }) {
  if ((await repository.countOperators()) > 0) return null;
  const password = randomBytes(12).toString('base64url');
  const operator = await repository.insertOperator({
    username: 'admin',
    passwordHash: await argon2Hash(password),
  });
  if (!operator) return null; // another node bootstrapped at the same moment
  const { tenant, apiKey } = await createTenant({ name: 'Demo tenant', repository });
  return { operator: { username: operator.username, password }, tenant, apiKey };
}
