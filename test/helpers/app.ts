import pino from 'pino';
import { loadConfig } from '../../src/app/config.ts';
import { type Clock, createContext } from '../../src/app/context.ts';
import type { Db } from '../../src/db/pool.ts';
import { buildHttpServer } from '../../src/http/server.ts';
import { createTenant } from '../../src/modules/accounts/accounts.usecases.ts';
import { creditForTests } from '../../src/modules/billing/billing.testkit.ts';
import { grantSending } from '../../src/modules/compliance/signatures/signatures.usecases.ts';

export async function buildTestApp(
  db: Db,
  { clock, env = {} }: { clock?: Clock; env?: Record<string, string> } = {},
) {
  const config = loadConfig({ env: { HONGYAN_LOG_LEVEL: 'silent', ...env }, configFile: null });
  const logger = pino({ level: 'silent' });
  const ctx = createContext({ config, db, logger, clock });
  const app = await buildHttpServer(ctx);
  return { app, ctx };
}

export async function newTenant(ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'], name = 'Tenant') {
  const { tenant, apiKey } = await createTenant({ name, repository: ctx.accounts });
  await creditForTests(ctx.db.pool, tenant.id);
  // Tests send free text; an approved default signature 鸿雁 signs what names none (issue 8).
  await grantSending({ db: ctx.db.pool, tenantId: tenant.id, signatures: ['鸿雁'], freeText: true });
  return { tenantId: tenant.id, key: apiKey.key, auth: { authorization: `Bearer ${apiKey.key}` } };
}
