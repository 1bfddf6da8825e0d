// The redirect (`GET /s/:code`, public, on Hongyan's HTTP server) and the operator's routes that
// disable a link (phishing reports). The redirect answers from an in-memory LRU of code → target
// and queues its click for the batched recorder, so a cached redirect costs no query.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { errorResponses } from '../../http/schemas.ts';
import { audit } from '../accounts/audit.ts';
import { createClickRecorder } from './click-recorder.ts';
import { linkDisabled, linkNotFound } from './shortlinks.errors.ts';
import { deviceClassOf, isCode, LruCache } from './shortlinks.models.ts';
import {
  findLinkByCode,
  getLinkRow,
  type LinkRow,
  type LinkTarget,
  setLinkDisabled,
} from './shortlinks.sql.ts';

/** How long a cached code is trusted: another node's disable takes effect here within this time. */
export const LINK_CACHE_TTL_MS = 30_000;
const LINK_CACHE_SIZE = 100_000;

const codeParam = {
  type: 'object',
  required: ['code'],
  additionalProperties: false,
  properties: { code: { type: 'string', pattern: '^[0-9A-Za-z]{1,16}$' } },
} as const;

const linkView = {
  type: 'object',
  properties: {
    code: { type: 'string' },
    tenant_id: { type: 'string' },
    campaign_id: { type: ['string', 'null'] },
    message_id: { type: ['string', 'null'] },
    target: { type: 'string' },
    disabled: { type: 'boolean' },
    disabled_at: { type: ['string', 'null'], format: 'date-time' },
    disabled_reason: { type: ['string', 'null'] },
    clicks: { type: 'integer' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

function viewOf(row: LinkRow) {
  return { ...row, disabled: row.disabled_at !== null };
}

export async function registerShortLinkRoutes(app: FastifyInstance, ctx: AppContext) {
  const pool = ctx.db.pool;
  const cache = new LruCache<LinkTarget | null>(LINK_CACHE_SIZE, LINK_CACHE_TTL_MS);
  const recorder = createClickRecorder({
    pool,
    onError: (err) => ctx.logger.warn({ err }, 'short links: writing clicks failed'),
  });
  app.addHook('onClose', async () => recorder.close());
  app.decorate('shortLinkClicks', recorder);

  const lookup = async (code: string): Promise<LinkTarget | null> => {
    const now = Date.now();
    const cached = cache.get(code, now);
    if (cached !== undefined) return cached;
    const found = await findLinkByCode(pool, code);
    cache.set(code, found, now);
    return found;
  };

  app.get<{ Params: { code: string } }>(
    '/s/:code',
    {
      schema: { hide: true },
      logLevel: 'warn',
    },
    async (request, reply) => {
      const code = request.params.code;
      const link = isCode(code) ? await lookup(code) : null;
      if (link === null) throw linkNotFound();
      if (link.disabled) throw linkDisabled();
      const userAgent = request.headers['user-agent']?.slice(0, 512) ?? null;
      recorder.record({
        linkId: link.id,
        tenantId: link.tenantId,
        at: ctx.clock.now(),
        userAgent,
        device: deviceClassOf(userAgent ?? undefined),
      });
      return reply.header('cache-control', 'no-store').redirect(link.target, 302);
    },
  );

  app.get<{ Params: { code: string } }>(
    '/v1/operator/short-links/:code',
    {
      config: { permission: 'operator.compliance.read' },
      schema: {
        tags: ['operator'],
        summary: 'A short link: its target, tenant, campaign, clicks and whether it is disabled',
        params: codeParam,
        response: { 200: linkView, ...errorResponses },
      },
    },
    async (request) => {
      const row = await getLinkRow(pool, request.params.code);
      if (row === null) throw linkNotFound();
      return viewOf(row);
    },
  );

  for (const action of ['disable', 'enable'] as const) {
    app.post<{ Params: { code: string }; Body: { reason?: string } | undefined }>(
      `/v1/operator/short-links/:code/${action}`,
      {
        config: { permission: 'operator.compliance.manage' },
        schema: {
          tags: ['operator'],
          summary:
            action === 'disable'
              ? 'Disable a short link (a phishing report): its redirect answers 410 from now on'
              : 'Enable a disabled short link again',
          params: codeParam,
          body: {
            type: ['object', 'null'],
            additionalProperties: false,
            properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
          },
          response: { 200: linkView, ...errorResponses },
        },
      },
      async (request) => {
        const code = request.params.code;
        const row = await setLinkDisabled(pool, {
          code,
          disabled: action === 'disable',
          reason: request.body?.reason ?? null,
          now: ctx.clock.now(),
        });
        if (row === null) throw linkNotFound();
        cache.delete(code);
        await audit(
          pool,
          {
            actor: request.principal!.actor,
            tenantId: Number(row.tenant_id),
            action: `short_link.${action}`,
            target: code,
            after: { reason: row.disabled_reason },
            ip: request.ip,
          },
          ctx.clock.now(),
        );
        return viewOf(row);
      },
    );
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    shortLinkClicks: ReturnType<typeof createClickRecorder>;
  }
}
