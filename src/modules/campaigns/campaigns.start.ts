// The campaign jobs inside the worker role: claiming due runs, admitting their recipients in
// chunks, deciding A/B tests, the daily statistics pass, and removing expired audience files.
import type { Logger } from 'pino';
import type { AppContext } from '../../app/context.ts';
import { messageRules } from '../compliance/templates/rules-adapter.ts';
import { type RunDeps, runCampaignJobsOnce } from './campaign-runs.ts';
import { findDueCampaigns, findExpandingRuns, findTestsToDecide } from './campaigns.sql.ts';
import { runDailyStatsPass } from './daily-stats.ts';
import { AUDIENCE_FILE_SWEEP_MS, sweepExpiredAudienceFiles } from './audience-files.retention.ts';

export function campaignDeps(ctx: AppContext): RunDeps {
  return {
    pool: ctx.db.pool,
    admission: ctx.admission,
    rules: () => messageRules(ctx.rules),
    now: () => ctx.clock.now(),
    maxParts: ctx.config.maxParts,
    defaultRegion: ctx.config.defaultRegion,
    shortLinkBase: ctx.config.shortLinkBaseUrl,
    onQueued: () => ctx.notifyQueued(),
  };
}

/** One pass of every campaign job (also what tests and a second scheduler call). */
export function campaignJobs(deps: RunDeps) {
  return () =>
    runCampaignJobsOnce(deps, {
      findDue: (now) => findDueCampaigns(deps.pool, now, 20),
      findExpanding: () => findExpandingRuns(deps.pool, 20),
      findToDecide: (now) => findTestsToDecide(deps.pool, now, 20),
    });
}

/** Starts the loops with the worker's `every`; answers their stop function. */
export function startCampaignJobs({
  ctx,
  logger,
  every,
  onError,
}: {
  ctx: AppContext;
  logger: Logger;
  every: (ms: number, fn: () => Promise<unknown>, onError: (e: unknown) => void) => () => Promise<void>;
  onError: (what: string) => (e: unknown) => void;
}): () => Promise<void> {
  const pass = campaignJobs(campaignDeps(ctx));
  const stopRuns = every(
    ctx.config.campaignIntervalMs,
    async () => {
      // A long run is worked without pause, chunk after chunk, until nothing is left.
      for (let i = 0; i < 100 && (await pass()); i++);
    },
    onError('campaign runs'),
  );
  const stopStats = every(
    ctx.config.statsIntervalMs,
    async () => {
      const r = await runDailyStatsPass({ pool: ctx.db.pool, now: ctx.clock.now() });
      if (r && r.counted > 0) logger.debug({ ...r }, 'daily statistics updated');
    },
    onError('daily statistics'),
  );
  const stopFileSweep = every(
    AUDIENCE_FILE_SWEEP_MS,
    async () => {
      const r = await sweepExpiredAudienceFiles({
        db: ctx.db.pool,
        now: ctx.clock.now(),
        days: ctx.config.audienceFileRetentionDays,
      });
      if (r.expired + r.rows > 0)
        logger.info({ ...r }, 'audience files removed after their retention period');
    },
    onError('audience file retention'),
  );
  return async () => {
    await stopRuns();
    await stopStats();
    await stopFileSweep();
  };
}
