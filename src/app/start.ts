// `hongyan start`: builds the shared dependencies, starts the requested roles, and shuts them down
// in reverse order on SIGINT/SIGTERM (HTTP stops accepting, the worker finishes what it holds,
// then the database pool and the embedded server stop).

import { sealTotpSeeds } from '../modules/accounts/totp-seeds.ts';
import { phoneRedaction } from '../shared/phone-mask.ts';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pino from 'pino';
import { buildHttpServer } from '../http/server.ts';
import { ensureConsoleBuilt } from '../modules/console/console.build.ts';
import { bootstrapInstall } from '../modules/accounts/accounts.usecases.ts';
import { DEMO_CREDIT_PARTS, defaultExpiry, creditTenant } from '../modules/billing/ledger.usecases.ts';
import { createChannelsRepository } from '../modules/channels/channels.repository.ts';
import { startWorker } from '../modules/dispatch/worker.ts';
import { setUpDemoSending } from '../modules/compliance/templates/demo.ts';
import { embeddedSimulatorProfile, embeddedSimulatorStateDir } from '../modules/simulator/simulator.cli.ts';
import { startSimulator } from '../modules/simulator/simulator.ts';
import { startCustomerSmppServer } from '../modules/smpp-server/smpp-server.start.ts';
import type { Config } from './config.ts';
import { createContext } from './context.ts';
import { openDatabase } from './database.ts';

const ROLES = ['api', 'worker', 'simulator'] as const;
const SIMULATOR_CHANNEL = 'simulator';
const SIMULATOR_SYSTEM_ID = 'hongyan';

/** A start that cannot go on for a reason the operator can fix: printed as is, without a stack. */
export class StartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StartError';
  }
}

type StartPhase = 'database' | 'simulator' | 'http' | 'smpp' | 'setup';

/** What a failed listen means and which setting moves it. */
export function describeStartFailure({
  error,
  phase,
  config,
}: {
  error: unknown;
  phase: StartPhase;
  config: Pick<Config, 'httpHost' | 'httpPort' | 'simulatorHost' | 'simulatorPort'> &
    Partial<Pick<Config, 'smppHost' | 'smppPort'>>;
}): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const listening = phase === 'simulator' || phase === 'http' || phase === 'smpp';
  if (!listening || !['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'].includes(code ?? '')) {
    return error instanceof Error ? error : new Error(String(error));
  }
  const [what, host, port, env] =
    phase === 'simulator'
      ? ['the carrier simulator (SMPP)', config.simulatorHost, config.simulatorPort, 'HONGYAN_SIMULATOR_PORT']
      : phase === 'smpp'
        ? ['the customer SMPP server', config.smppHost, config.smppPort, 'HONGYAN_SMPP_PORT']
        : ['the HTTP API', config.httpHost, config.httpPort, 'HONGYAN_HTTP_PORT'];
  const why =
    code === 'EADDRINUSE'
      ? `port ${port} is taken (by another program, perhaps another Hongyan)`
      : code === 'EACCES'
        ? `port ${port} needs privileges this process does not have`
        : `${host} is not an address of this machine`;
  const extra = phase === 'simulator' ? ', or HONGYAN_SIMULATOR=off to run without the simulator' : '';
  const fix =
    code === 'EADDRNOTAVAIL'
      ? `set ${env.replace('_PORT', '_HOST')} to an address of this machine`
      : `set ${env} to another port (0 picks a free one)${extra}`;
  return new StartError(
    `hongyan start: ${what} cannot listen on ${host}:${port}: ${why}. To move it, ${fix}.`,
    {
      cause: error,
    },
  );
}

export interface RunningHongyan {
  httpUrl: string | null;
  simulatorPort: number | null;
  /** The customer SMPP server's plain TCP port (api role, HONGYAN_SMPP_SERVER on). */
  smppPort: number | null;
  stop(): Promise<void>;
}

export async function startHongyan({
  config,
  roles,
  json = false,
  installSignalHandlers = true,
  serveConsole = false,
}: {
  config: Config;
  roles: string[];
  json?: boolean;
  installSignalHandlers?: boolean;
  /** Build (when stale) and serve the web console at /; `hongyan start` passes config.console. */
  serveConsole?: boolean;
}): Promise<RunningHongyan> {
  for (const role of roles) {
    if (!(ROLES as readonly string[]).includes(role))
      throw new Error(`unknown role "${role}" (roles: ${ROLES.join(', ')})`);
  }
  const logger = pino({ level: config.logLevel, base: { pid: process.pid }, ...phoneRedaction() });
  const database = await openDatabase({ config, ownEmbedded: true, log: (msg) => logger.info(msg) });
  const ctx = createContext({ config, db: database.db, logger });
  const nodeId = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  // Stopped first to last: HTTP stops accepting, the worker finishes what it holds, the simulator,
  // then the database pool and the embedded server.
  const stops: (() => Promise<void>)[] = [async () => database.close()];
  let stopping: Promise<void> | null = null;
  const stop = () => {
    // Once stopping, a background loop may still reject on the pool or a socket being closed
    // (work in flight as the process drains): logged, and not allowed to turn a clean stop into
    // an exit with an error.
    if (stopping === null && installSignalHandlers)
      process.on('unhandledRejection', (err) => logger.warn({ err }, 'after shutdown began'));
    stopping ??= (async () => {
      for (const fn of [...stops]) {
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
  // Settled when the start below has returned or failed: a signal during start-up stops after it.
  let startSettled!: () => void;
  const starting = new Promise<void>((resolve) => (startSettled = resolve));
  let stopAsked = false;
  /** Between two start steps: a signal that came during the last one ends the start here. */
  const goOn = () => {
    if (stopAsked) throw new StartInterrupted();
  };
  if (installSignalHandlers) {
    // Installed before the roles start, so that a Ctrl-C during start-up still stops the server.
    // Not beside the step in progress: a stop that began while the start went on missed what the
    // start began after it (the worker). A worker begun as HTTP closed held a connection for its
    // liveness lock that only its own stop gives back, and closing the pool waited for it for
    // good (found by a SIGTERM right after the first-start line: 1 start in 8 hung). The start
    // ends at its next step instead, and stops everything it had begun.
    // A second signal (Ctrl-C again while the stop drains) exits at once: what this node held is
    // crash recovery's, as after kill -9; but the embedded server it owns is told to stop first
    // (its fast shutdown needs nothing more of this process), not left running with no owner.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (stopAsked) {
          logger.warn({ signal }, 'second signal: exiting now');
          database.embedded?.stopNow();
          process.exit(128 + os.constants.signals[signal]);
        }
        logger.info({ signal }, 'shutting down');
        stopAsked = true;
        void starting.then(stop).then(() => process.exit(0));
      });
    }
  }

  // A start that fails after the embedded server is up stops what it started, that server
  // included, instead of exiting and leaving it running.
  let phase: StartPhase = 'simulator';
  try {
    let simulatorPort: number | null = null;
    // Read even without the simulator role: the channel made below must match the profile's ids.
    const simulatorProfile = embeddedSimulatorProfile(config.simulatorProfile, SIMULATOR_SYSTEM_ID);
    if (roles.includes('simulator') && config.simulator) {
      const simulator = await startSimulator({
        host: config.simulatorHost,
        port: config.simulatorPort,
        logger,
        windowSize: 2000,
        profiles: simulatorProfile.profiles,
        ...(simulatorProfile.forceProfile === undefined
          ? {}
          : { forceProfile: simulatorProfile.forceProfile }),
        // Receipts owed when the process dies (kill -9 included) go out after the restart.
        stateDir: embeddedSimulatorStateDir(config),
      });
      simulatorPort = simulator.port;
      stops.unshift(() => simulator.close());
    }

    goOn();
    phase = 'http';
    let httpUrl: string | null = null;
    let closeHttp: (() => Promise<void>) | null = null;
    if (roles.includes('api')) {
      // Listening comes before the first-start bootstrap, so that a port already taken cannot
      // swallow the secrets printed once below.
      const consoleBundle = serveConsole
        ? await ensureConsoleBuilt({ dataDir: config.dataDir, log: (msg) => logger.info(msg) })
        : null;
      const app = await buildHttpServer(ctx, { consoleDir: consoleBundle?.dir });
      closeHttp = () => app.close();
      await app.listen({ host: config.httpHost, port: config.httpPort });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.httpPort;
      httpUrl = `http://${config.httpHost}:${port}`;
      stops.unshift(closeHttp);
    }

    goOn();
    phase = 'smpp';
    let smppPort: number | null = null;
    if (roles.includes('api') && config.smppServer) {
      try {
        const smpp = await startCustomerSmppServer({ ctx, nodeId, logger });
        smppPort = smpp.port;
        stops.unshift(() => smpp.stop());
      } catch (error) {
        // A taken SMPP port leaves this node without the customer SMPP server rather than without
        // its HTTP API (several nodes on one host, tests in parallel); said loudly, not silently.
        const why = describeStartFailure({ error, phase, config });
        if (!(why instanceof StartError)) throw error;
        logger.error({ err: error }, `${why.message} Starting without the customer SMPP server.`);
      }
    }

    goOn();
    phase = 'setup';
    const firstStart = await bootstrapInstall({ repository: ctx.accounts });
    // The demo tenant of a fresh install starts with 10,000 parts to try sending with.
    if (firstStart)
      await creditTenant({
        db: database.db.pool,
        tenantId: firstStart.tenant.id,
        parts: DEMO_CREDIT_PARTS,
        expiresAt: defaultExpiry(new Date()),
        reason: 'demo tenant of a fresh install',
        actor: 'system',
      });
    // The demo tenant sends as the README shows: signature 鸿雁, free text, a template of each type.
    if (firstStart) await setUpDemoSending({ db: database.db.pool, tenantId: firstStart.tenant.id });
    if (firstStart) printWelcome({ firstStart, httpUrl, json });
    const channels = createChannelsRepository(database.db.kysely, ctx.keyRing);
    // Passwords stored before secrets were sealed (or written by hand) are sealed once, here.
    const sealed = await channels.sealPasswords();
    if (sealed > 0)
      logger.info({ channels: sealed }, 'sealed plain-text channel passwords with the master key');
    const seeds = await sealTotpSeeds({ db: database.db.pool, keyRing: ctx.keyRing() });
    if (seeds > 0) logger.info({ totp_seeds: seeds }, 'sealed plain-text TOTP seeds with the master key');
    if (config.simulator && (await channels.listChannels()).length === 0) {
      await channels.addChannel({
        name: SIMULATOR_CHANNEL,
        host: config.simulatorHost,
        port: simulatorPort ?? config.simulatorPort,
        systemId: SIMULATOR_SYSTEM_ID,
        password: 'sim',
        windowSize: 1000,
        maxTps: 100_000,
        isDefault: true,
        idConvention: simulatorProfile.idConvention,
      });
    } else if (simulatorPort !== null) {
      // The channel made for the embedded simulator follows it when its address changes
      // (another HONGYAN_SIMULATOR_PORT, or port 0 picking a new port at every start).
      await channels.followSimulator({
        name: SIMULATOR_CHANNEL,
        host: config.simulatorHost,
        port: simulatorPort,
        enabled: true,
        idConvention: simulatorProfile.idConvention,
      });
    } else if (!config.simulator) {
      // HONGYAN_SIMULATOR=off: its channel must not take messages nor retry a bind forever.
      await channels.followSimulator({ name: SIMULATOR_CHANNEL, enabled: false });
    }

    goOn();
    if (roles.includes('worker')) {
      const worker = await startWorker({ ctx, nodeId, roles });
      stops.splice(closeHttp ? stops.indexOf(closeHttp) + 1 : 0, 0, () => worker.stop());
    }

    goOn();
    logger.info({ roles, nodeId, httpUrl, simulatorPort, smppPort }, 'hongyan started');
    return { httpUrl, simulatorPort, smppPort, stop };
  } catch (error) {
    await stop();
    // Stopped by a signal during start-up: not a failure; the signal's handler exits.
    if (error instanceof StartInterrupted)
      return { httpUrl: null, simulatorPort: null, smppPort: null, stop };
    throw describeStartFailure({ error, phase, config });
  } finally {
    startSettled();
  }
}

/** A signal came during start-up (see goOn). */
class StartInterrupted extends Error {
  constructor() {
    super('start interrupted by a signal');
    this.name = 'StartInterrupted';
  }
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
