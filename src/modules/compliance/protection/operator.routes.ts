// Operator routes of recipient protection: a tenant's settings (frequency caps, quiet hours,
// marketing review), the opt-out keywords, and the marketing review queue with its decisions.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../../app/context.ts';
import { withTransaction } from '../../../db/pool.ts';
import { errorResponses, idParam } from '../../../http/schemas.ts';
import { audit } from '../../accounts/audit.ts';
import { tenantNotFound } from '../../accounts/accounts.errors.ts';
import { invalidSettings, reviewDecided, reviewNotFound } from './protection.errors.ts';
import {
  DEFAULT_SETTINGS,
  mergeSettings,
  normalizeKeyword,
  type SettingsPatch,
  settingsProblem,
} from './protection.models.ts';
import { reviewTimingFor } from '../settings/settings.models.ts';
import { readComplianceSettings } from '../settings/settings.sql.ts';
import { cancelRejectedBatch, listPendingReviews, lockReview, releaseReviewedBatch } from './review.sql.ts';

const capLimits = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(
    ['minute', 'hour', 'day'].map((w) => [w, { type: ['integer', 'null'], minimum: 0 }]),
  ),
} as const;
const settingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    caps: {
      type: 'object',
      additionalProperties: false,
      properties: { verification: capLimits, notification: capLimits, marketing: capLimits },
    },
    quiet_hours: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        start: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' },
        end: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' },
        action: { type: 'string', enum: ['hold', 'reject'] },
      },
    },
    marketing_review: { type: 'boolean' },
  },
} as const;

const keywordsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['opt_out', 'opt_in'],
  properties: {
    opt_out: { type: 'array', maxItems: 200, items: { type: 'string', minLength: 1, maxLength: 16 } },
    opt_in: { type: 'array', maxItems: 200, items: { type: 'string', minLength: 1, maxLength: 16 } },
  },
} as const;

const batchIdParam = {
  type: 'object',
  required: ['batchId'],
  additionalProperties: false,
  properties: { batchId: idParam.properties.id },
} as const;

export async function registerProtectionOperatorRoutes(app: FastifyInstance, ctx: AppContext) {
  const db = ctx.db.pool;
  const actor = (request: FastifyRequest) => request.principal!.actor;

  const settingsOf = async (tenantId: number) => {
    const tenant = await db.query('select 1 from tenants where id = $1', [tenantId]);
    if (tenant.rowCount === 0) throw tenantNotFound();
    const stored = await db.query<{ settings: SettingsPatch }>(
      'select settings from protection_settings where tenant_id = $1',
      [tenantId],
    );
    return { stored: stored.rows[0]?.settings ?? null };
  };

  app.get<{ Params: { id: string } }>(
    '/v1/operator/tenants/:id/protection',
    {
      config: { permission: 'operator.compliance.read' },
      schema: {
        tags: ['operator'],
        summary:
          "A tenant's protection settings, defaults filled in (frequency caps, quiet hours, marketing review)",
        params: idParam,
        response: { 200: settingsSchema, ...errorResponses },
      },
    },
    async (request) => mergeSettings(DEFAULT_SETTINGS, (await settingsOf(Number(request.params.id))).stored),
  );

  app.patch<{ Params: { id: string }; Body: SettingsPatch }>(
    '/v1/operator/tenants/:id/protection',
    {
      config: { permission: 'operator.compliance.manage' },
      schema: {
        tags: ['operator'],
        summary: "Change a tenant's protection settings (what is left out keeps its value; null: no cap)",
        params: idParam,
        body: settingsSchema,
        response: { 200: settingsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const tenantId = Number(request.params.id);
      const problem = settingsProblem(request.body);
      if (problem) throw invalidSettings({ message: problem });
      const { stored } = await settingsOf(tenantId);
      const next = mergeSettings(mergeSettings(DEFAULT_SETTINGS, stored), request.body);
      const qh = next.quiet_hours;
      if (qh.start === qh.end) throw invalidSettings({ message: 'quiet_hours: start and end must differ' });
      const now = ctx.clock.now();
      await withTransaction(db, async (client) => {
        await client.query(
          `insert into protection_settings (tenant_id, settings, updated_at) values ($1, $2, $3)
           on conflict (tenant_id) do update set settings = excluded.settings, updated_at = excluded.updated_at`,
          [tenantId, JSON.stringify(next), now],
        );
        await audit(
          client,
          {
            actor: actor(request),
            tenantId,
            action: 'tenant.protection_changed',
            before: stored,
            after: next,
            ip: request.ip,
          },
          now,
        );
      });
      return next;
    },
  );

  const readKeywords = async () => {
    const rows = await db.query<{ keyword: string; action: 'out' | 'in' }>(
      'select keyword, action from opt_keywords order by keyword',
    );
    return {
      opt_out: rows.rows.filter((r) => r.action === 'out').map((r) => r.keyword),
      opt_in: rows.rows.filter((r) => r.action === 'in').map((r) => r.keyword),
    };
  };

  app.get(
    '/v1/operator/compliance/opt-out-keywords',
    {
      config: { permission: 'operator.compliance.read' },
      schema: {
        tags: ['operator'],
        summary:
          'The keywords a whole reply must equal to opt out or back in (after trim, case and width folding)',
        response: { 200: keywordsSchema, ...errorResponses },
      },
    },
    readKeywords,
  );

  app.put<{ Body: { opt_out: string[]; opt_in: string[] } }>(
    '/v1/operator/compliance/opt-out-keywords',
    {
      config: { permission: 'operator.compliance.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Replace the opt-out and opt-in keywords (stored normalised; one keyword cannot be both)',
        body: keywordsSchema,
        response: { 200: keywordsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const out = [...new Set(request.body.opt_out.map(normalizeKeyword).filter((k) => k !== ''))];
      const inn = [...new Set(request.body.opt_in.map(normalizeKeyword).filter((k) => k !== ''))];
      const both = out.filter((k) => inn.includes(k));
      if (both.length > 0) throw invalidSettings({ message: `both opt-out and opt-in: ${both.join(', ')}` });
      const before = await readKeywords();
      await withTransaction(db, async (client) => {
        await client.query('delete from opt_keywords');
        await client.query(
          `insert into opt_keywords (keyword, action) select k, a from unnest($1::text[], $2::text[]) as u(k, a)`,
          [
            [...out, ...inn],
            [...out.map(() => 'out'), ...inn.map(() => 'in')],
          ],
        );
        await audit(
          client,
          {
            actor: actor(request),
            action: 'compliance.keywords_changed',
            before,
            after: { opt_out: out, opt_in: inn },
            ip: request.ip,
          },
          ctx.clock.now(),
        );
      });
      return readKeywords();
    },
  );

  app.get(
    '/v1/operator/marketing-reviews',
    {
      config: { permission: 'operator.marketing_reviews.read' },
      schema: {
        tags: ['operator'],
        summary:
          'Marketing batches awaiting review, oldest first, each with its age, working minutes waited, due time and overdue flag',
        response: errorResponses,
      },
    },
    async () => {
      const now = ctx.clock.now();
      const settings = await readComplianceSettings(db);
      return {
        data: (await listPendingReviews(db, { limit: 200 })).map((r) => ({
          batch_id: String(r.batch_id),
          tenant_id: Number(r.tenant_id),
          tenant_name: r.tenant_name,
          content: r.content,
          total: r.total,
          accepted: r.accepted,
          send_at: r.send_at?.toISOString() ?? null,
          submitted_at: r.submitted_at.toISOString(),
          // What the tenant was told at submission; due_at follows the settings as they are now.
          expected_by: r.expected_by.toISOString(),
          age_seconds: Math.max(0, Math.round((now.getTime() - r.submitted_at.getTime()) / 1000)),
          ...reviewTimingFor(settings, 'marketing', r.submitted_at, now),
        })),
      };
    },
  );

  app.post<{ Params: { batchId: string } }>(
    '/v1/operator/marketing-reviews/:batchId/approve',
    {
      config: { permission: 'operator.marketing_reviews.decide' },
      schema: {
        tags: ['operator'],
        summary:
          "Approve a marketing batch: its messages are queued, or held until their time (send_at, the recipient's daytime)",
        params: batchIdParam,
        response: errorResponses,
      },
    },
    async (request) => {
      const batchId = Number(request.params.batchId);
      const now = ctx.clock.now();
      const result = await withTransaction(db, async (client) => {
        const review = await lockReview(client, batchId);
        if (!review) throw reviewNotFound();
        if (review.status !== 'pending') throw reviewDecided({ details: { status: review.status } });
        const released = await releaseReviewedBatch(client, { review, by: actor(request), now });
        await audit(
          client,
          {
            actor: actor(request),
            tenantId: Number(review.tenant_id),
            action: 'marketing_review.approved',
            target: `batch:${batchId}`,
            after: released,
            ip: request.ip,
          },
          now,
        );
        return released;
      });
      if (result.queued > 0) ctx.notifyQueued();
      return { batch_id: String(batchId), status: 'approved', ...result };
    },
  );

  app.post<{ Params: { batchId: string }; Body: { reason: string } }>(
    '/v1/operator/marketing-reviews/:batchId/reject',
    {
      config: { permission: 'operator.marketing_reviews.decide' },
      schema: {
        tags: ['operator'],
        summary: 'Reject a marketing batch: its waiting messages are canceled with the reason',
        params: batchIdParam,
        body: {
          type: 'object',
          required: ['reason'],
          additionalProperties: false,
          properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const batchId = Number(request.params.batchId);
      const now = ctx.clock.now();
      const canceled = await withTransaction(db, async (client) => {
        const review = await lockReview(client, batchId);
        if (!review) throw reviewNotFound();
        if (review.status !== 'pending') throw reviewDecided({ details: { status: review.status } });
        const n = await cancelRejectedBatch(client, {
          batchId,
          by: actor(request),
          reason: request.body.reason,
          now,
        });
        await audit(
          client,
          {
            actor: actor(request),
            tenantId: Number(review.tenant_id),
            action: 'marketing_review.rejected',
            target: `batch:${batchId}`,
            after: { canceled: n, reason: request.body.reason },
            ip: request.ip,
          },
          now,
        );
        return n;
      });
      return { batch_id: String(batchId), status: 'rejected', canceled };
    },
  );
}
