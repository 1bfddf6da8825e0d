// The customer SMPP server inside the `api` role, built from the settings (src/app/config.ts).
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { AppContext } from '../../app/context.ts';
import { createSmppAccountsRepository } from './smpp-accounts.repository.ts';
import { createSmppIntake } from './smpp-intake.ts';
import { createCustomerSmppServer } from './smpp-server.ts';

export interface RunningSmppServer {
  port: number;
  tlsPort: number | null;
  stop(): Promise<void>;
}

export async function startCustomerSmppServer({
  ctx,
  nodeId,
  logger,
}: {
  ctx: AppContext;
  nodeId: string;
  logger: Logger;
}): Promise<RunningSmppServer> {
  const { config } = ctx;
  const log = logger.child({ component: 'smpp-server' });
  const tls =
    config.smppTlsCert !== '' && config.smppTlsKey !== ''
      ? { cert: readFileSync(config.smppTlsCert), key: readFileSync(config.smppTlsKey) }
      : undefined;
  const server = createCustomerSmppServer({
    accounts: createSmppAccountsRepository(ctx.db.pool),
    submit: createSmppIntake({
      pool: ctx.db.pool,
      intake: ctx.intake,
      rules: ctx.rules,
      settings: { maxParts: config.maxParts, defaultRegion: config.defaultRegion },
      now: () => ctx.clock.now(),
      logger: log,
    }),
    pool: ctx.db.pool,
    nodeId,
    logger: log,
    concatTimeoutMs: config.smppConcatTimeoutMs,
    outbox: {
      pollMs: config.smppOutboxPollMs,
      leaseMs: 60_000,
      retryBaseMs: 1_000,
      retryMaxMs: 60_000,
      claimMax: 100,
    },
    ...(tls ? { tls } : {}),
  });
  let address: Awaited<ReturnType<typeof server.listen>>;
  try {
    address = await server.listen({
      host: config.smppHost,
      port: config.smppPort,
      ...(tls ? { tlsPort: config.smppTlsPort } : {}),
    });
  } catch (error) {
    await server.close().catch(() => {}); // its outbox loop and LISTEN connection
    throw error;
  }
  log.info(address, 'customer SMPP server listening');
  return { ...address, stop: () => server.close() };
}
