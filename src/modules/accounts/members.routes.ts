// Members of the caller's tenant (the tenant id comes from the session, never the request).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import { TENANT_ROLES, type TenantRole } from './permissions.models.ts';
import { issueResetCode } from './reset-codes.ts';
import {
  addMember,
  changeMemberRole,
  listMembers,
  type MemberActor,
  removeMember,
  resetMemberPassword,
} from './members.usecases.ts';

const memberView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    email: { type: 'string' },
    role: { type: 'string', enum: [...TENANT_ROLES] },
    two_factor: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;
const role = { type: 'string', enum: [...TENANT_ROLES] } as const;

function actorOf(request: FastifyRequest): MemberActor {
  const p = request.principal!;
  return { actor: p.actor, role: p.kind === 'member' ? p.role : null, ip: request.ip };
}

export async function registerMemberRoutes(app: FastifyInstance, ctx: AppContext) {
  const db = ctx.db.pool;
  const preHandler = requireTenant(ctx);

  app.get(
    '/v1/members',
    {
      preHandler,
      config: { permission: 'members.read' },
      schema: {
        tags: ['members'],
        summary: "The tenant's members and roles",
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: memberView } } },
          ...errorResponses,
        },
      },
    },
    async (request) => ({ data: await listMembers({ db, tenantId: request.tenantId }) }),
  );

  app.post<{ Body: { email: string; role: TenantRole; password?: string } }>(
    '/v1/members',
    {
      preHandler,
      config: { permission: 'members.manage' },
      schema: {
        tags: ['members'],
        summary: 'Add a member; without a password, an initial one is generated and shown once',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['email', 'role'],
          properties: {
            email: { type: 'string', minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' },
            role,
            password: { type: 'string', minLength: 10, maxLength: 256 },
          },
        },
        response: {
          201: { type: 'object', properties: { member: memberView, initial_password: { type: 'string' } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const result = await addMember({
        db,
        tenantId: request.tenantId,
        ...request.body,
        by: actorOf(request),
        now: ctx.clock.now(),
      });
      return reply.status(201).send(result);
    },
  );

  app.patch<{ Params: { id: string }; Body: { role: TenantRole } }>(
    '/v1/members/:id',
    {
      preHandler,
      config: { permission: 'members.manage' },
      schema: {
        tags: ['members'],
        summary: "Change a member's role (the member's sessions end)",
        params: idParam,
        body: { type: 'object', additionalProperties: false, required: ['role'], properties: { role } },
        response: { 200: memberView, ...errorResponses },
      },
    },
    async (request) =>
      changeMemberRole({
        db,
        tenantId: request.tenantId,
        id: Number(request.params.id),
        role: request.body.role,
        by: actorOf(request),
        now: ctx.clock.now(),
      }),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/members/:id',
    {
      preHandler,
      config: { permission: 'members.manage' },
      schema: {
        tags: ['members'],
        summary: 'Remove a member',
        params: idParam,
        response: { 204: { type: 'null', description: 'Removed.' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await removeMember({
        db,
        tenantId: request.tenantId,
        id: Number(request.params.id),
        by: actorOf(request),
        now: ctx.clock.now(),
      });
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/members/:id/password-reset',
    {
      preHandler,
      config: { permission: 'members.manage' },
      schema: {
        tags: ['members'],
        summary: "Reset a member's password: a new one, shown once (the member's sessions end)",
        params: idParam,
        response: {
          200: { type: 'object', properties: { password: { type: 'string' } } },
          ...errorResponses,
        },
      },
    },
    async (request) =>
      resetMemberPassword({
        db,
        tenantId: request.tenantId,
        id: Number(request.params.id),
        by: actorOf(request),
        now: ctx.clock.now(),
      }),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/members/:id/reset-code',
    {
      preHandler,
      config: { permission: 'members.manage' },
      schema: {
        tags: ['members'],
        summary:
          'A one-time reset code for a member (24 h, shown once) to set a new password with POST /v1/auth/reset',
        params: idParam,
        response: {
          200: {
            type: 'object',
            properties: {
              reset_code: { type: 'string' },
              expires_at: { type: 'string', format: 'date-time' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) =>
      issueResetCode({
        db,
        tenantId: request.tenantId,
        id: Number(request.params.id),
        by: actorOf(request),
        now: ctx.clock.now(),
      }),
  );
}
