// Operator staff: tenants (list, create, require two-factor) and the staff-wide two-factor switch.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import { TENANT_STATUSES } from '../tenants/tenants.models.ts';
import { tenantNotFound } from './accounts.errors.ts';
import { createTenant } from './accounts.usecases.ts';
import { audit } from './audit.ts';

const tenantView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    status: { type: 'string' },
    /** Why the tenant was suspended or its application rejected (the operator's reason), if given. */
    status_reason: { type: ['string', 'null'] },
    sender_code: { type: ['string', 'null'] },
    require_two_factor: { type: 'boolean' },
    /** Days final messages keep their content; null: the install's HONGYAN_CONTENT_RETENTION_DAYS. */
    content_retention_days: { type: ['integer', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;
const tenantColumns =
  'id, name, status, status_reason, sender_code, require_two_factor, content_retention_days, created_at';

export async function registerOperatorRoutes(app: FastifyInstance, ctx: AppContext) {
  const db = ctx.db.pool;

  app.get<{ Querystring: { limit?: number; before?: string; status?: string; q?: string } }>(
    '/v1/operator/tenants',
    {
      config: { permission: 'operator.tenants.read' },
      schema: {
        tags: ['operator'],
        summary:
          'Tenants: with limit, newest first a page at a time (before: the last id seen); without, every tenant by id',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 500 },
            before: { type: 'string', pattern: '^[1-9][0-9]{0,15}$' },
            status: { type: 'string', enum: TENANT_STATUSES },
            q: { type: 'string', minLength: 1, maxLength: 200, description: 'Part of the name (any case).' },
          },
        },
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: tenantView } } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { limit, before, status, q } = request.query;
      const where: string[] = [];
      const params: unknown[] = [];
      if (status !== undefined) where.push(`status = $${params.push(status)}`);
      if (q !== undefined) where.push(`strpos(lower(name), lower($${params.push(q)})) > 0`);
      if (before !== undefined) where.push(`id < $${params.push(before)}::bigint`);
      const filter = where.length > 0 ? `where ${where.join(' and ')}` : '';
      // A page (the console's list) is newest first on the primary key; the whole list, by id.
      const order = limit === undefined ? 'order by id' : `order by id desc limit $${params.push(limit)}`;
      return {
        data: (await db.query(`select ${tenantColumns} from tenants ${filter} ${order}`, params)).rows,
      };
    },
  );

  app.post<{ Body: { name: string } }>(
    '/v1/operator/tenants',
    {
      config: { permission: 'operator.tenants.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Create a tenant (active at once) with a first API key, shown once',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 200 } },
        },
        response: {
          201: { type: 'object', properties: { tenant: tenantView, api_key: { type: 'string' } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { tenant, apiKey } = await createTenant({ name: request.body.name, repository: ctx.accounts });
      await audit(
        db,
        {
          actor: request.principal!.actor,
          tenantId: tenant.id,
          action: 'tenant.created',
          target: `tenant:${tenant.id}`,
          after: { name: tenant.name },
          ip: request.ip,
        },
        ctx.clock.now(),
      );
      return reply
        .status(201)
        .send({ tenant: { ...tenant, require_two_factor: false }, api_key: apiKey.key });
    },
  );

  app.patch<{
    Params: { id: string };
    Body: { require_two_factor?: boolean; content_retention_days?: number | null };
  }>(
    '/v1/operator/tenants/:id',
    {
      config: { permission: 'operator.tenants.manage' },
      schema: {
        tags: ['operator'],
        summary:
          "Require two-factor of every member of a tenant (their next login demands set-up); set the tenant's message content retention (null: the install's default)",
        params: idParam,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            require_two_factor: { type: 'boolean' },
            content_retention_days: { type: ['integer', 'null'], minimum: 1, maximum: 36_500 },
          },
        },
        response: { 200: tenantView, ...errorResponses },
      },
    },
    async (request) => {
      const id = Number(request.params.id);
      const { rows } = await db.query(
        `update tenants set require_two_factor = coalesce($2, require_two_factor),
                content_retention_days = case when $3 then $4::integer else content_retention_days end
          where id = $1 returning ${tenantColumns}`,
        [
          id,
          request.body.require_two_factor ?? null,
          request.body.content_retention_days !== undefined,
          request.body.content_retention_days ?? null,
        ],
      );
      if (!rows[0]) throw tenantNotFound();
      const { require_two_factor, content_retention_days } = request.body;
      const changes = [
        ...(require_two_factor === undefined
          ? []
          : [{ action: 'tenant.two_factor_required', after: { require_two_factor } }]),
        ...(content_retention_days === undefined
          ? []
          : [{ action: 'tenant.content_retention_changed', after: { content_retention_days } }]),
      ];
      for (const { action, after } of changes)
        await audit(
          db,
          {
            actor: request.principal!.actor,
            tenantId: id,
            action,
            target: `tenant:${id}`,
            after,
            ip: request.ip,
          },
          ctx.clock.now(),
        );
      return rows[0];
    },
  );

  app.put<{ Body: { staff_require_two_factor: boolean } }>(
    '/v1/operator/security',
    {
      config: { permission: 'operator.security.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Require two-factor of all operator staff',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['staff_require_two_factor'],
          properties: { staff_require_two_factor: { type: 'boolean' } },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      await db.query('update security_settings set staff_require_two_factor = $1', [
        request.body.staff_require_two_factor,
      ]);
      await audit(
        db,
        {
          actor: request.principal!.actor,
          action: 'security.staff_two_factor_required',
          after: request.body,
          ip: request.ip,
        },
        ctx.clock.now(),
      );
      return request.body;
    },
  );
}
