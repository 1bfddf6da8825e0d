// What the tests that run Hongyan in their own process repeat: starting it on a test database, and
// a tenant that can send.
import { loadConfig } from '../../src/app/config.ts';
import { type RunningHongyan, startHongyan } from '../../src/app/start.ts';
import type { Db } from '../../src/db/pool.ts';
import { createAccountsRepository } from '../../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../../src/modules/accounts/accounts.usecases.ts';
import { creditForTests } from '../../src/modules/billing/billing.testkit.ts';
import { grantSending } from '../../src/modules/compliance/signatures/signatures.usecases.ts';

/**
 * Hongyan's api and worker roles in this process, on the database at `url`, with no simulator (the
 * test brings its carriers as channels), a free HTTP port, and channels synced every 100 ms.
 */
export function startApiWorker(url: string): Promise<RunningHongyan> {
  return startHongyan({
    config: loadConfig({
      env: {
        DATABASE_URL: url,
        HONGYAN_HTTP_PORT: '0',
        HONGYAN_LOG_LEVEL: 'silent',
        HONGYAN_CHANNEL_SYNC_INTERVAL_MS: '100',
      },
      configFile: null,
    }),
    roles: ['api', 'worker'],
    installSignalHandlers: false,
    json: true,
  });
}

/**
 * A tenant that can send: credit, and the signatures approved with free text allowed, for tests
 * whose subject is not compliance.
 */
export async function newSendingTenant(db: Db, name: string, signatures: string[] = ['鸿雁']) {
  const created = await createTenant({ name, repository: createAccountsRepository(db.kysely) });
  await creditForTests(db.pool, created.tenant.id);
  await grantSending({ db: db.pool, tenantId: created.tenant.id, signatures, freeText: true });
  return created;
}
