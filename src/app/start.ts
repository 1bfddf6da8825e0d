// `hongyan start`: builds the shared dependencies, starts the requested roles, and shuts them down
// in reverse order on SIGINT/SIGTERM (HTTP stops accepting, the worker finishes what it holds,
// then the database pool and the embedded server stop).

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pino from 'pino';
import { buildHttpServer } from '../http/server.ts';
import { bootstrapInstall } from '../modules/accounts/accounts.usecases.ts';
import { createChannelsRepository } from '../modules/channels/channels.repository.ts';
import { startWorker } from '../modules/dispatch/worker.ts';
import { startSimulator } from '../modules/simulator/simulator.ts';
import type { Config } from './config.ts';
import { createContext } from './context.ts';
import { openDatabase } from './database.ts';

const ROLES = ['api', 'worker', 'simulator'] as const;
const SIMULATOR_CHANNEL = 'simulator';

export interface RunningHongyan {
  httpUrl: string | null;
  simulatorPort: number | null;
  stop(): Promise<void>;
}

export async function startHongyan({
  config,
  roles,
  json = false,
  installSignalHandlers = true,
}: {
  config: Config;
  roles: string[];
  json?: boolean;
  installSignalHandlers?: boolean;
}): Promise<RunningHongyan> {
  for (const role of roles) {
    if (!(ROLES as readonly string[]).includes(role))
      throw new Error(`unknown role "${role}" (roles: ${ROLES.join(', ')})`);
  }
  const logger = pino({ level: config.logLevel, base: { pid: process.pid } });
  const database = await openDatabase({ config, ownEmbedded: true, log: (msg) => logger.info(msg) });
  const ctx = createContext({ config, db: database.db, logger });
  const nodeId = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const stops: (() => Promise<void>)[] = [async () => database.close()];

  let simulatorPort: number | null = null;
  if (roles.includes('simulator') && config.simulator) {
    const simulator = await startSimulator({
      host: config.simulatorHost,
      port: config.simulatorPort,
      logger,
      windowSize: 2000,
    });
    simulatorPort = simulator.port;
    stops.unshift(() => simulator.close());
  }

  const firstStart = await bootstrapInstall({ repository: ctx.accounts });
  const channels = createChannelsRepository(database.db.kysely);
  if (config.simulator && (await channels.listChannels()).length === 0) {
    await channels.addChannel({
      name: SIMULATOR_CHANNEL,
      host: config.simulatorHost,
      port: simulatorPort ?? config.simulatorPort,
      systemId: 'hongyan',
      password: 'sim',
      windowSize: 1000,
      maxTps: 100_000,
      isDefault: true,
    });
  } else if (simulatorPort !== null) {
    // The channel made for the embedded simulator follows it when its address changes
    // (another HONGYAN_SIMULATOR_PORT, or port 0 picking a new port at every start).
    await channels.followSimulator({
      name: SIMULATOR_CHANNEL,
      host: config.simulatorHost,
      port: simulatorPort,
      enabled: true,
    });
  } else if (!config.simulator) {
    // HONGYAN_SIMULATOR=off: its channel must not take messages nor retry a bind forever.
    await channels.followSimulator({ name: SIMULATOR_CHANNEL, enabled: false });
  }

  if (roles.includes('worker')) {
    const worker = await startWorker({ ctx, nodeId, roles });
    stops.unshift(() => worker.stop());
  }

  let httpUrl: string | null = null;
  if (roles.includes('api')) {
    const app = await buildHttpServer(ctx);
    await app.listen({ host: config.httpHost, port: config.httpPort });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.httpPort;
    httpUrl = `http://${config.httpHost}:${port}`;
    stops.unshift(() => app.close());
  }

  logger.info({ roles, nodeId, httpUrl, simulatorPort }, 'hongyan started');
  if (firstStart) printWelcome({ firstStart, httpUrl, json });

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      for (const fn of stops) {
        try {
          await fn();
        } catch (error) {
          logger.error({ err: error }, 'error during shutdown');
        }
      }
      logger.info('hongyan stopped');
    })();
    return stopping;
  };
  if (installSignalHandlers) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        logger.info({ signal }, 'shutting down');
        void stop().then(() => process.exit(0));
      });
    }
  }
  return { httpUrl, simulatorPort, stop };
}

function printWelcome({
  firstStart,
  httpUrl,
  json,
}: {
  firstStart: NonNullable<Awaited<ReturnType<typeof bootstrapInstall>>>;
  httpUrl: string | null;
  json: boolean;
}) {
  const base = httpUrl ?? 'http://127.0.0.1:8080';
  if (json) {
    console.log(
      JSON.stringify({
        operator: firstStart.operator,
        tenant: { id: firstStart.tenant.id, name: firstStart.tenant.name },
        api_key: firstStart.apiKey.key,
        http: base,
      }),
    );
    return;
  }
  console.log(`
  鸿雁 Hongyan is running — first start, so an operator and a demo tenant were created.
  These secrets are shown once; keep them now.

    operator login:  ${firstStart.operator.username} / ${firstStart.operator.password}
    demo tenant:     #${firstStart.tenant.id} ${firstStart.tenant.name}
    API key:         ${firstStart.apiKey.key}

  Send a message through the built-in carrier simulator:

    curl -H "Authorization: Bearer ${firstStart.apiKey.key}" -H 'content-type: application/json' \\
      -d '{"to":"+8613800138000","content":"【鸿雁】您的验证码是 123456，5分钟内有效","type":"verification"}' \\
      ${base}/v1/messages

  Then GET ${base}/v1/messages/<id>. API reference: ${base}/docs
`);
}
