// The operator's routes for a tenant's own short domain (GET, PUT, DELETE
// /v1/operator/tenants/:id/short-domain): set once the operator has checked that the domain is
// the tenant's and points at Hongyan; the tenant's campaigns write their links with it from then on.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import { audit } from '../accounts/audit.ts';
import { invalidShortDomain, tenantNotFound } from './shortlinks.errors.ts';
import {
  checkShortBase,
  clearTenantShortDomain,
  getTenantShortDomain,
  setTenantShortDomain,
} from './short-domains.ts';

const domainView = {
  type: 'object',
  properties: {
    tenant_id: { type: 'string' },
    base_url: {
      type: 'string',
      description: "The base of the tenant's short links, e.g. https://t.shop.cn/s",
    },
    own: { type: 'boolean', description: "false: the platform's shortLinkBaseUrl" },
    set_by: { type: ['string', 'null'] },
    set_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export function registerShortDomainRoutes(app: FastifyInstance, ctx: AppContext) {
  const pool = ctx.db.pool;
  const url = '/v1/operator/tenants/:id/short-domain';

  const viewOf = async (tenantId: number) => {
    const row = await getTenantShortDomain(pool, tenantId);
    return {
      tenant_id: String(tenantId),
      base_url: row?.base_url ?? ctx.config.shortLinkBaseUrl,
      own: row !== null,
      set_by: row?.set_by ?? null,
      set_at: row?.set_at ?? null,
    };
  };
  const tenantExists = async (tenantId: number) => {
    const { rows } = await pool.query('select 1 from tenants where id = $1', [tenantId]);
    if (rows.length === 0) throw tenantNotFound();
  };

  app.get<{ Params: { id: string } }>(
    url,
    {
      config: { permission: 'operator.tenants.read' },
      schema: {
        tags: ['operator'],
        summary: "A tenant's short domain (its own, or the platform's)",
        params: idParam,
        response: { 200: domainView, ...errorResponses },
      },
    },
    async (request) => {
      const tenantId = Number(request.params.id);
      await tenantExists(tenantId);
      return viewOf(tenantId);
    },
  );

  app.put<{ Params: { id: string }; Body: { base_url: string } }>(
    url,
    {
      config: { permission: 'operator.tenants.manage' },
      schema: {
        tags: ['operator'],
        summary:
          "Set a tenant's own short domain (checked by the operator to be the tenant's and to reach GET /s/:code); its campaigns' new links use it",
        params: idParam,
        body: {
          type: 'object',
          required: ['base_url'],
          additionalProperties: false,
          properties: { base_url: { type: 'string', minLength: 1, maxLength: 200 } },
        },
        response: { 200: domainView, ...errorResponses },
      },
    },
    async (request) => {
      const tenantId = Number(request.params.id);
      const checked = checkShortBase(request.body.base_url);
      if (!checked.ok) throw invalidShortDomain({ details: { reason: checked.reason } });
      await tenantExists(tenantId);
      const now = ctx.clock.now();
      const actor = request.principal!.actor;
      await setTenantShortDomain(pool, { tenantId, baseUrl: checked.value, setBy: actor, now });
      await audit(
        pool,
        { actor, tenantId, action: 'short_domain.set', after: { base_url: checked.value }, ip: request.ip },
        now,
      );
      return viewOf(tenantId);
    },
  );

  app.delete<{ Params: { id: string } }>(
    url,
    {
      config: { permission: 'operator.tenants.manage' },
      schema: {
        tags: ['operator'],
        summary: "Remove a tenant's own short domain: its new links use the platform's again",
        params: idParam,
        response: { 200: domainView, ...errorResponses },
      },
    },
    async (request) => {
      const tenantId = Number(request.params.id);
      await tenantExists(tenantId);
      if (await clearTenantShortDomain(pool, tenantId))
        await audit(
          pool,
          { actor: request.principal!.actor, tenantId, action: 'short_domain.clear', ip: request.ip },
          ctx.clock.now(),
        );
      return viewOf(tenantId);
    },
  );
}
