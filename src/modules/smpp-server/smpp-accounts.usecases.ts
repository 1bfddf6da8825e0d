// Create, list and disable a tenant's SMPP accounts. The password is returned once, at creation;
// the table holds its argon2id hash (binds are rare, so the hash's cost is paid rarely).
import { hash as argon2Hash } from '@node-rs/argon2';
import { invalidSmppAccount, smppAccountNotFound, smppSystemIdTaken } from './smpp-accounts.errors.ts';
import {
  DEFAULT_MAX_TPS,
  DEFAULT_WINDOW,
  generatePassword,
  generateSystemId,
  validateSmppAccountInput,
} from './smpp-accounts.models.ts';
import type { SmppAccountRow, SmppAccountsRepository } from './smpp-accounts.repository.ts';

export function toSmppAccountView(a: SmppAccountRow) {
  return {
    id: Number(a.id),
    system_id: a.system_id,
    allow: a.allow_cidrs,
    window: a.window_size,
    tps: a.max_tps,
    receive_replies: a.receive_replies,
    created_at: a.created_at.toISOString(),
    disabled_at: a.disabled_at?.toISOString() ?? null,
    last_bind_at: a.last_bind_at?.toISOString() ?? null,
    last_bind_address: a.last_bind_address,
  };
}

export type SmppAccountView = ReturnType<typeof toSmppAccountView>;

export async function createSmppAccount({
  tenantId,
  systemId,
  allow = [],
  windowSize = DEFAULT_WINDOW,
  maxTps = DEFAULT_MAX_TPS,
  receiveReplies = true,
  repository,
}: {
  tenantId: number;
  systemId?: string | undefined;
  allow?: readonly string[];
  windowSize?: number;
  maxTps?: number;
  receiveReplies?: boolean;
  repository: SmppAccountsRepository;
}): Promise<{ account: SmppAccountView; password: string }> {
  const problems = validateSmppAccountInput({ systemId, allow, windowSize, maxTps });
  if (problems.length > 0) throw invalidSmppAccount({ message: problems.join('; '), details: problems });
  const password = generatePassword();
  const passwordHash = await argon2Hash(password);
  const row = await repository.insertAccount({
    tenantId,
    systemId: systemId ?? generateSystemId(),
    passwordHash,
    allow: allow.map((c) => c.trim()),
    windowSize,
    maxTps,
    receiveReplies,
  });
  if (row === null) throw smppSystemIdTaken();
  return { account: toSmppAccountView(row), password };
}

export async function listSmppAccounts({
  tenantId,
  repository,
}: {
  tenantId: number;
  repository: SmppAccountsRepository;
}): Promise<SmppAccountView[]> {
  return (await repository.listAccounts(tenantId)).map(toSmppAccountView);
}

/** Binds are refused from now on; sessions already bound are closed by the server within seconds. */
export async function disableSmppAccount({
  tenantId,
  id,
  repository,
  now,
}: {
  tenantId: number;
  id: number;
  repository: SmppAccountsRepository;
  now: Date;
}): Promise<SmppAccountView> {
  const row = await repository.disableAccount(tenantId, id, now);
  if (row === null) throw smppAccountNotFound();
  return toSmppAccountView(row);
}
