// `hongyan credential create|list|rotate|revoke` and `hongyan secrets rotate`, called by the
// operator CLI (src/app/operator-cli.ts) with an open database.
import { sealTotpSeeds } from '../accounts/totp-seeds.ts';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '../../db/schema.ts';
import { addKeyToFile, isSealed, type KeyRingSource, loadKeyRing, open, seal } from '../../shared/secrets.ts';
import { createChannelsRepository } from '../channels/channels.repository.ts';
import { createCredentialsRepository } from './credentials.repository.ts';
import {
  createCredential,
  listCredentials,
  revokeCredential,
  rotateCredential,
} from './credentials.usecases.ts';

type Values = Record<string, string | boolean | undefined>;
type Out = (value: unknown, human: string) => void;

export class CredentialUsageError extends Error {}

function list(value: string | boolean | undefined): string[] {
  return typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : [];
}

function wholeNumber(value: string | boolean | undefined, name: string): number {
  if (typeof value !== 'string' || !/^\d+$/.test(value))
    throw new CredentialUsageError(`${name} must be a whole number`);
  return Number(value);
}

function credentialLine(c: {
  id: number;
  name: string;
  app_key: string;
  scopes: string[];
  allow: string[];
  revoked_at: string | null;
  last_used_at: string | null;
}) {
  return `${c.id}\t${c.app_key}\t${c.name}\t${c.scopes.join(',')}\t${c.allow.join(',') || 'any address'}\t${c.revoked_at ? `revoked ${c.revoked_at}` : `last used ${c.last_used_at ?? 'never'}`}`;
}

export async function runCredentialCommand({
  sub,
  rest,
  values,
  pool,
  keyRing,
  now = new Date(),
  out,
}: {
  sub: string | undefined;
  rest: string[];
  values: Values;
  pool: pg.Pool;
  keyRing: KeyRingSource;
  now?: Date;
  out: Out;
}): Promise<number> {
  const repository = createCredentialsRepository(pool);
  const tenantId = wholeNumber(values.tenant, '--tenant');
  const id = () => wholeNumber(rest[0], `credential ${sub} ID`);
  switch (sub) {
    case 'create':
    case 'rotate': {
      const { credential, appSecret } =
        sub === 'create'
          ? await createCredential({
              tenantId,
              name: typeof values.name === 'string' ? values.name : 'default',
              scopes: list(values.scopes),
              allow: list(values.allow),
              rateLimit:
                values['rate-limit'] === undefined ? null : wholeNumber(values['rate-limit'], '--rate-limit'),
              repository,
              keyRing,
            })
          : await rotateCredential({ tenantId, id: id(), repository, keyRing });
      out(
        { credential, app_secret: appSecret },
        `credential ${credential.id} "${credential.name}"${credential.rotated_from ? ` replaces ${credential.rotated_from} (revoke it once clients moved)` : ''}\nAppKey:    ${credential.app_key}\nAppSecret: ${appSecret} (shown once)\nTwilio:    AccountSid ${credential.twilio_account_sid}, auth token: the AppSecret`,
      );
      return 0;
    }
    case 'list': {
      const views = await listCredentials({ tenantId, repository });
      out(views, views.map(credentialLine).join('\n') || '(no credentials)');
      return 0;
    }
    case 'revoke': {
      const view = await revokeCredential({ tenantId, id: id(), repository, now });
      out(view, `credential ${view.id} revoked (nodes that cached it refuse it within 10 s)`);
      return 0;
    }
    default:
      throw new CredentialUsageError('credential needs create, list, rotate or revoke');
  }
}

/**
 * Seals every stored secret under the current master key. With keys from the data folder, a new
 * key is generated first (the old ones stay in the file to open what is not re-sealed yet); with
 * HONGYAN_MASTER_KEY, the operator has put the new key first in it.
 */
export async function rotateSecrets({
  masterKey,
  dataDir,
  pool,
  kysely,
}: {
  masterKey: string | null;
  dataDir: string;
  pool: pg.Pool;
  kysely: Kysely<Database>;
}): Promise<{
  keyId: string;
  credentials: number;
  channels: number;
  totpSeeds: number;
  generated: boolean;
}> {
  const generated = masterKey === null;
  if (generated) loadKeyRing({ masterKey, dataDir }); // an install with no key yet gets one first
  const ring = generated ? addKeyToFile({ dataDir }) : loadKeyRing({ masterKey, dataDir });
  const repository = createCredentialsRepository(pool);
  const stale = (await repository.listSealedSecrets()).filter(
    (r) => !(isSealed(r.secret_sealed) && r.secret_sealed.startsWith(`v1:${ring.current}:`)),
  );
  await repository.updateSealedSecrets(
    stale.map((r) => ({
      id: r.id,
      sealed: seal(ring, isSealed(r.secret_sealed) ? open(ring, r.secret_sealed) : r.secret_sealed),
    })),
  );
  const channels = await createChannelsRepository(kysely, () => ring).sealPasswords({ reseal: true });
  const totpSeeds = await sealTotpSeeds({ db: pool, keyRing: ring, reseal: true });
  return { keyId: ring.current, credentials: stale.length, channels, totpSeeds, generated };
}
