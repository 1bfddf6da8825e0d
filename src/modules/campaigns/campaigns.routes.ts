// Campaign routes: create, preview, read with each run's progress, state changes, the A/B choice,
// reports (JSON, CSV, XLSX) and the daily statistics that feed the console's charts.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponses } from '../../http/schemas.ts';
import { getCampaign, getRun, listCampaigns, listRuns } from './campaigns.sql.ts';
import { campaignNotFound, noChoice, runNotFound } from './campaigns.errors.ts';
import {
  campaignBody,
  campaignParams,
  campaignView as campaignSchema,
  runParams,
  runView,
} from './campaigns.schemas.ts';
import {
  type CampaignInput,
  changeState,
  createCampaign,
  previewCampaign,
  previewStored,
  validateInput,
} from './campaigns.usecases.ts';
import { campaignView, runViews } from './campaigns.views.ts';
import { campaignDeps } from './campaigns.start.ts';
import { campaignBreakdowns, runFunnel, sumFunnels } from './campaign-reports.ts';
import { reportCsv, reportXlsx } from './campaign-exports.ts';
import { startRest } from './campaign-runs.ts';
import { readDailyStats, readPlatformStats } from './daily-stats.ts';
import { DEFAULT_TIME_ZONE } from './campaigns.models.ts';
import { registerAudienceFileRoutes } from './audience-files.routes.ts';

const PLATFORM_COUNTS = {
  type: 'object',
  properties: {
    messages: { type: 'integer' },
    parts: { type: 'integer' },
    delivered: { type: 'integer' },
    failed: { type: 'integer' },
    unknown: { type: 'integer' },
    canceled: { type: 'integer' },
    delivery_rate: { type: ['number', 'null'], description: 'delivered / (delivered + failed + unknown)' },
  },
} as const;

export async function registerCampaignRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = requireTenant(ctx);
  const deps = campaignDeps(ctx);
  const send = { preHandler: auth, config: { permission: 'messages.send' as const } };
  const read = { preHandler: auth, config: { permission: 'messages.read' as const } };

  await registerAudienceFileRoutes(app, ctx);

  const owned = async (tenantId: number, id: string) => {
    const c = await getCampaign(ctx.db.pool, { tenantId, id: Number(id) });
    if (c === null) throw campaignNotFound();
    return c;
  };

  app.post<{ Body: CampaignInput }>(
    '/v1/campaigns',
    {
      ...send,
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        tags: ['campaigns'],
        summary:
          'Create a campaign (sent now, at a time, or on a recurring schedule; `draft` keeps it for later)',
        body: campaignBody,
        response: { 201: campaignSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { campaign, invalid } = await createCampaign(deps, request.tenantId, request.body);
      return reply.status(201).send({ ...campaignView(campaign), invalid_numbers: invalid.slice(0, 1000) });
    },
  );

  app.post<{ Body: CampaignInput }>(
    '/v1/campaigns/preview',
    {
      ...send,
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        tags: ['campaigns'],
        summary:
          'What a campaign would send, written nowhere: samples, parts, recipients after de-duplication and exclusions, cost against the balance',
        body: campaignBody,
      },
    },
    async (request) => {
      const now = deps.now();
      const { draft, pasted } = await validateInput(deps, request.tenantId, request.body, now);
      return previewCampaign(deps, request.tenantId, {
        row: draft,
        pasted: pasted.recipients,
        invalid: pasted.invalid.length,
      });
    },
  );

  app.get<{ Querystring: { limit?: number; before?: string } }>(
    '/v1/campaigns',
    {
      ...read,
      schema: {
        tags: ['campaigns'],
        summary: "The tenant's campaigns, newest first",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
            before: { type: 'string', pattern: '^[0-9]{1,15}$' },
          },
        },
      },
    },
    async (request) => {
      const rows = await listCampaigns(ctx.db.pool, request.tenantId, {
        limit: request.query.limit ?? 50,
        before: request.query.before === undefined ? null : Number(request.query.before),
      });
      return { data: rows.map(campaignView) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/campaigns/:id',
    {
      ...read,
      schema: {
        tags: ['campaigns'],
        summary: 'A campaign with its runs and their progress (expanded, accepted, sent, delivered)',
        params: campaignParams,
      },
    },
    async (request) => {
      const c = await owned(request.tenantId, request.params.id);
      return { ...campaignView(c), runs: await runViews(ctx.db.pool, await listRuns(ctx.db.pool, c.id)) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/campaigns/:id/runs',
    {
      ...read,
      schema: {
        tags: ['campaigns'],
        summary: "A campaign's runs with their progress",
        params: campaignParams,
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: runView } } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const c = await owned(request.tenantId, request.params.id);
      return { data: await runViews(ctx.db.pool, await listRuns(ctx.db.pool, c.id)) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/campaigns/:id/preview',
    {
      ...send,
      schema: { tags: ['campaigns'], summary: 'Preview a stored campaign (a draft)', params: campaignParams },
    },
    async (request) => previewStored(deps, request.tenantId, Number(request.params.id)),
  );

  for (const action of ['start', 'pause', 'resume', 'cancel'] as const) {
    app.post<{ Params: { id: string } }>(
      `/v1/campaigns/:id/${action}`,
      {
        ...send,
        schema: {
          tags: ['campaigns'],
          summary: {
            start: 'Start a draft',
            pause: 'Pause: no new run starts, and a run being admitted stops where it is',
            resume: 'Resume a paused campaign (missed recurring runs are not made up)',
            cancel: 'Cancel: no run starts again',
          }[action],
          params: campaignParams,
          response: { 200: campaignSchema, ...errorResponses },
        },
      },
      async (request) =>
        campaignView(
          await changeState(deps, { tenantId: request.tenantId, id: Number(request.params.id), action }),
        ),
    );
  }

  app.post<{ Params: { id: string; runId: string }; Body: { variant: string } }>(
    '/v1/campaigns/:id/runs/:runId/choose',
    {
      ...send,
      schema: {
        tags: ['campaigns'],
        summary: "Send an A/B test's rest with the chosen variant (while it tests or waits for a choice)",
        params: runParams,
        body: {
          type: 'object',
          required: ['variant'],
          additionalProperties: false,
          properties: { variant: { type: 'string', maxLength: 32 } },
        },
      },
    },
    async (request) => {
      const c = await owned(request.tenantId, request.params.id);
      const run = await getRun(ctx.db.pool, Number(request.params.runId));
      if (run === null || run.campaign_id !== c.id) throw runNotFound();
      if (c.ab === null) throw noChoice();
      const moved = await startRest(deps, {
        run,
        campaign: c,
        winner: request.body.variant,
        decision: null,
        from: ['testing', 'choosing'],
      });
      if (!moved) throw noChoice({ details: { state: run.state } });
      return { data: await runViews(ctx.db.pool, await listRuns(ctx.db.pool, c.id)) };
    },
  );

  const report = async (tenantId: number, id: string) => {
    const c = await owned(tenantId, id);
    const runs = await listRuns(ctx.db.pool, c.id);
    const perRun = [];
    for (const r of runs)
      perRun.push({
        run_id: String(r.id),
        run_at: r.run_at.toISOString(),
        funnel: await runFunnel(ctx.db.pool, r),
      });
    const zone = c.schedule.time_zone ?? DEFAULT_TIME_ZONE;
    return { campaign: c, perRun, breakdowns: await campaignBreakdowns(ctx.db.pool, c.id, zone) };
  };

  app.get<{ Params: { id: string } }>(
    '/v1/campaigns/:id/report',
    {
      ...read,
      schema: {
        tags: ['campaigns'],
        summary:
          'Funnel per run and in total (audience → sent → delivered → clicked → opted out), replies, cost, by carrier and by hour',
        params: campaignParams,
      },
    },
    async (request) => {
      const r = await report(request.tenantId, request.params.id);
      return {
        campaign_id: String(r.campaign.id),
        total: sumFunnels(r.perRun.map((x) => x.funnel)),
        runs: r.perRun,
        ...r.breakdowns,
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { format?: 'csv' | 'xlsx' } }>(
    '/v1/campaigns/:id/report/export',
    {
      ...read,
      schema: {
        tags: ['campaigns'],
        summary: 'The campaign report as CSV (runs) or XLSX (runs, carriers, hours)',
        params: campaignParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { type: 'string', enum: ['csv', 'xlsx'], default: 'csv' } },
        },
      },
    },
    async (request, reply) => {
      const r = await report(request.tenantId, request.params.id);
      const name = `campaign-${r.campaign.id}`;
      if (request.query.format === 'xlsx') {
        const body = await reportXlsx(r.perRun, r.breakdowns, r.campaign.name);
        return reply
          .header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
          .header('content-disposition', `attachment; filename="${name}.xlsx"`)
          .send(body);
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}.csv"`)
        .send(reportCsv(r.perRun));
    },
  );

  app.get<{ Querystring: { from: string; to: string } }>(
    '/v1/stats/daily',
    {
      ...read,
      schema: {
        tags: ['campaigns'],
        summary:
          "The tenant's daily statistics (messages counted once final, on their day of creation; clicks; opt-outs), kept by a periodic job",
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: {
            from: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
            to: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
          },
        },
      },
    },
    async (request) => ({
      data: await readDailyStats(ctx.db.pool, { tenantId: request.tenantId, ...request.query }),
    }),
  );

  app.get<{ Querystring: { from: string; to: string } }>(
    '/v1/operator/stats/daily',
    {
      config: { permission: 'operator.tenants.read' },
      schema: {
        tags: ['operator'],
        summary:
          "The platform's daily statistics (messages counted once final, on their day of creation): each day's totals and each tenant's over the range, with delivery rates",
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: {
            from: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
            to: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              days: {
                type: 'array',
                items: {
                  ...PLATFORM_COUNTS,
                  properties: { day: { type: 'string' }, ...PLATFORM_COUNTS.properties },
                },
              },
              tenants: {
                type: 'array',
                items: {
                  ...PLATFORM_COUNTS,
                  properties: {
                    tenant_id: { type: 'integer' },
                    tenant_name: { type: 'string' },
                    ...PLATFORM_COUNTS.properties,
                  },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => readPlatformStats(ctx.db.pool, request.query),
  );
}
