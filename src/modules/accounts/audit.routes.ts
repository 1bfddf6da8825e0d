// Reading the audit log: a tenant's owners and admins their own rows, operator admins all rows.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponses } from '../../http/schemas.ts';
import { listAudit } from './audit.ts';

const query = {
  type: 'object',
  additionalProperties: false,
  properties: {
    before_id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
  },
} as const;
const auditPage = {
  200: {
    type: 'object',
    properties: {
      data: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            id: { type: 'integer' },
            at: { type: 'string', format: 'date-time' },
            actor: { type: 'string' },
            tenant_id: { type: ['integer', 'null'] },
            action: { type: 'string' },
            target: { type: ['string', 'null'] },
            before: {},
            after: {},
            ip: { type: ['string', 'null'] },
          },
        },
      },
    },
  },
  ...errorResponses,
} as const;

export async function registerAuditRoutes(app: FastifyInstance, ctx: AppContext) {
  const db = ctx.db.pool;
  app.get<{ Querystring: { before_id?: number; limit: number } }>(
    '/v1/audit',
    {
      preHandler: requireTenant(ctx),
      config: { permission: 'audit.read' },
      schema: {
        tags: ['audit'],
        summary: "The tenant's audit log, newest first",
        querystring: query,
        response: auditPage,
      },
    },
    async (request) => ({
      data: await listAudit(db, {
        tenantId: request.tenantId,
        beforeId: request.query.before_id,
        limit: request.query.limit,
      }),
    }),
  );

  app.get<{ Querystring: { before_id?: number; limit: number } }>(
    '/v1/operator/audit',
    {
      config: { permission: 'operator.audit.read' },
      schema: {
        tags: ['operator'],
        summary: 'The whole audit log, newest first',
        querystring: query,
        response: auditPage,
      },
    },
    async (request) => ({
      data: await listAudit(db, {
        tenantId: null,
        beforeId: request.query.before_id,
        limit: request.query.limit,
      }),
    }),
  );
}
