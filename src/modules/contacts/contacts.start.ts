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
    // The chunk in flight is rolled back; the job's lease is then given up, so that another node
    // resumes it at once instead of after the lease (a crash leaves the lease to run out).
    imports.kill();
    await Promise.all(stops.map((stop) => stop()));
    await ctx.db.pool
      .query(`update contact_imports set leased_until = null where claimed_by = $1 and state = 'running'`, [
        nodeId,
      ])
      .catch((error: unknown) => log.warn({ err: error }, 'could not give up contact import leases'));
  };
}
