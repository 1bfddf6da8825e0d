// /v1/operator/staff: staff admins list, add, re-role and remove operator staff (audited).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import { STAFF_ROLES, type StaffRole } from './permissions.models.ts';
import { addStaff, changeStaffRole, listStaff, removeStaff, type StaffRow } from './staff.usecases.ts';

const staffView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    username: { type: 'string' },
    role: { type: 'string', enum: [...STAFF_ROLES] },
    two_factor: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;
const role = { type: 'string', enum: [...STAFF_ROLES] } as const;

const view = (s: StaffRow) => ({ ...s, created_at: s.created_at.toISOString() });
const by = (request: FastifyRequest) => ({ actor: request.principal!.actor, ip: request.ip });

export async function registerStaffRoutes(app: FastifyInstance, ctx: AppContext) {
  const db = ctx.db.pool;
  const config = { permission: 'operator.staff.manage' } as const;

  app.get(
    '/v1/operator/staff',
    {
      config,
      schema: {
        tags: ['operator'],
        summary: 'Every member of operator staff',
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: staffView } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ data: (await listStaff({ db })).map(view) }),
  );

  app.post<{ Body: { username: string; role: StaffRole; password?: string } }>(
    '/v1/operator/staff',
    {
      config,
      schema: {
        tags: ['operator'],
        summary: 'Add a member of staff; without a password, an initial one is generated and shown once',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['username', 'role'],
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 64 },
            role,
            password: { type: 'string', minLength: 1, maxLength: 256 },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: { staff: staffView, initial_password: { type: 'string' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { staff, initial_password } = await addStaff({
        db,
        ...request.body,
        by: by(request),
        now: ctx.clock.now(),
      });
      return reply.status(201).send({ staff: view(staff), initial_password });
    },
  );

  app.patch<{ Params: { id: string }; Body: { role: StaffRole } }>(
    '/v1/operator/staff/:id',
    {
      config,
      schema: {
        tags: ['operator'],
        summary: "Change a member of staff's role (their sessions end)",
        params: idParam,
        body: { type: 'object', additionalProperties: false, required: ['role'], properties: { role } },
        response: { 200: { type: 'object', properties: { staff: staffView } }, ...errorResponses },
      },
    },
    async (request) => {
      const staff = await changeStaffRole({
        db,
        id: Number(request.params.id),
        role: request.body.role,
        by: by(request),
        now: ctx.clock.now(),
      });
      return { staff: view(staff) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/operator/staff/:id',
    {
      config,
      schema: {
        tags: ['operator'],
        summary: 'Remove a member of staff (their sessions end)',
        params: idParam,
        response: { 204: { type: 'null', description: 'Removed.' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await removeStaff({ db, id: Number(request.params.id), by: by(request), now: ctx.clock.now() });
      return reply.code(204).send();
    },
  );
}
