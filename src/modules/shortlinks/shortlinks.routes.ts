// The redirect (`GET /s/:code`, public, on Hongyan's HTTP server) and the operator's routes that
// disable a link (phishing reports). The redirect answers from memory (link-cache.ts: every
// node follows new and changed links once a second) and queues its click for the batched
// recorder (click-recorder.ts), so a redirect of a known link waits on no query.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { errorResponses } from '../../http/schemas.ts';
import { audit } from '../accounts/audit.ts';
import { createClickRecorder } from './click-recorder.ts';
import { createLinkCache } from './link-cache.ts';
import { registerShortDomainRoutes } from './short-domains.routes.ts';
import { linkDisabled, linkNotFound } from './shortlinks.errors.ts';
import { deviceClassOf, isCode } from './shortlinks.models.ts';
import {
  findLinkByCode,
  getLinkRow,
  type LinkRow,
  type LinkTarget,
  setLinkDisabled,
} from './shortlinks.sql.ts';

/** How often each node reads new and changed links: a disable reaches every node within about this. */
export const LINK_SYNC_INTERVAL_MS = 1000;
/** The longest a node serves a link from memory without a successful sync (PostgreSQL away). */
export const LINK_TRUST_MS = 30_000;
/** Links held in memory per node (about 150 bytes each). */
const LINK_CACHE_SIZE = 200_000;

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

// The redirect's refusals, built once: answering them sends a constant body, without the stack
// trace a thrown error would capture (a scan of random codes is mostly these).
const NOT_FOUND = JSON.stringify({ error: { code: linkNotFound.code, message: linkNotFound().message } });
const DISABLED = JSON.stringify({ error: { code: linkDisabled.code, message: linkDisabled().message } });

export async function registerShortLinkRoutes(app: FastifyInstance, ctx: AppContext) {
  const pool = ctx.db.pool;
  const log = ctx.logger.child({ component: 'short-links' });
  const cache = createLinkCache({
    pool,
    maxEntries: LINK_CACHE_SIZE,
    syncIntervalMs: LINK_SYNC_INTERVAL_MS,
    trustForMs: LINK_TRUST_MS,
    onError: (err) => log.warn({ err }, 'short links: reading new and changed links failed'),
  });
  const recorder = createClickRecorder({
    pool,
    onError: (err, detail) => log.warn({ err, ...detail }, 'short links: writing clicks failed'),
  });
  app.addHook('onReady', async () => cache.start());
  app.addHook('onClose', async () => {
    await cache.close();
    await recorder.close();
  });
  app.decorate('shortLinkClicks', recorder);

  const answer = (request: FastifyRequest, reply: FastifyReply, link: LinkTarget | null) => {
    if (link === null || link.disabled) {
      reply.code(link === null ? 404 : 410).header('content-type', 'application/json; charset=utf-8');
      reply.send(link === null ? NOT_FOUND : DISABLED);
      return;
    }
    const userAgent = request.headers['user-agent']?.slice(0, 512) ?? null;
    recorder.record({
      linkId: link.id,
      tenantId: link.tenantId,
      at: ctx.clock.now(),
      userAgent,
      device: deviceClassOf(userAgent ?? undefined),
    });
    reply.header('cache-control', 'no-store').redirect(link.target, 302);
  };

  // In a scope of its own: the redirect logs nothing per request, so it skips the per-request
  // child logger (and the per-request log level a route option would rebuild it with).
  await app.register(async (scope) => {
    scope.setChildLoggerFactory((logger) => logger);
    scope.get<{ Params: { code: string } }>('/s/:code', { schema: { hide: true } }, (request, reply) => {
      const code = request.params.code;
      if (!isCode(code)) return answer(request, reply, null);
      const link = cache.get(code);
      if (link !== undefined) return answer(request, reply, link);
      // Not in memory (older than the cache holds, or not synced yet): one read with the other
      // misses of the moment. PostgreSQL unreachable: 503 through the error handler.
      return cache.load(code).then((l) => answer(request, reply, l));
    });
  });

  registerShortDomainRoutes(app, ctx);

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
        // This node at once; the others at their next sync (changed_at).
        cache.set(code, await findLinkByCode(pool, code));
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
