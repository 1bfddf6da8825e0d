// The contacts jobs inside the worker role: the import runner (any node; a job is claimed with a
// lease) and the engagement walk (one node at a time, serialised on its cursor row).
import type { CountryCode } from 'libphonenumber-js/max';
import type { Logger } from 'pino';
import type { AppContext } from '../../app/context.ts';
import { syncEngagement } from './engagement.ts';
import { createImportWorker, type ImportSettings } from './imports.worker.ts';

const IMPORT_POLL_MS = 1_000;

export function importSettingsOf(config: AppContext['config']): ImportSettings {
  return {
    leaseMs: config.contactsImportLeaseSeconds * 1000,
    chunkRows: config.contactsImportChunkRows,
    maxRows: config.contactsImportMaxRows,
    defaultRegion: config.defaultRegion as CountryCode,
  };
}

/** Starts both loops with the worker's `every`; answers one stop function for them. */
export function startContactJobs({
  ctx,
  nodeId,
  logger,
  every,
  onError,
}: {
  ctx: AppContext;
  nodeId: string;
  logger: Logger;
  every: (ms: number, fn: () => Promise<unknown>, onError: (e: unknown) => void) => () => Promise<void>;
  onError: (what: string) => (e: unknown) => void;
}): () => Promise<void> {
  const log = logger.child({ component: 'contacts' });
  const imports = createImportWorker({
    pool: ctx.db.pool,
    nodeId,
    now: () => ctx.clock.now(),
    settings: importSettingsOf(ctx.config),
    logger: log,
  });
  const stops = [
    every(
      IMPORT_POLL_MS,
      async () => {
        // One job after another until none waits.
        while (await imports.runOnce());
      },
      onError('contact imports'),
    ),
    every(
      ctx.config.contactsEngagementIntervalSeconds * 1000,
      () => syncEngagement(ctx.db.pool, ctx.clock.now(), ctx.config.defaultRegion as CountryCode),
      onError('contact engagement'),
    ),
  ];
  return async () => {
    // A job in progress is left as a crash would leave it: its lease runs out and a node resumes it.
    imports.kill();
    await Promise.all(stops.map((stop) => stop()));
  };
}
