// /v1/contacts/groups and /v1/contacts/segments: static lists with their members, and saved
// filters (fields, tags, engagement) with a count of the contacts they select now.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import { countAudience } from './contacts.repository.ts';
import {
  changeGroupMembers,
  createGroup,
  createSegment,
  deleteGroup,
  deleteSegment,
  getGroup,
  getSegment,
  listGroups,
  listSegments,
  updateGroup,
  updateSegment,
} from './groups.usecases.ts';

const idString = { type: 'string', pattern: '^[1-9][0-9]{0,15}$' } as const;
const name = { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' } as const;
const description = { type: 'string', maxLength: 500 } as const;
const groupView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    members: { type: 'integer' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;
const filterSchema = {
  type: 'object',
  additionalProperties: true,
  description:
    '{"match":"all"|"any","conditions":[{"type":"field","key":"city","op":"eq|neq|contains|exists|missing","value":"上海"},{"type":"tag","op":"has|lacks","value":"vip"},{"type":"not_engaged","days":30},{"type":"engaged","days":7}]}',
} as const;
const segmentView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    filter: { type: 'object', additionalProperties: true },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

export async function registerContactGroupRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = requireTenant(ctx);
  const pool = ctx.db.pool;
  const now = () => ctx.clock.now();
  const read = { preHandler: auth, config: { permission: 'contacts.read' as const } };
  const manage = { preHandler: auth, config: { permission: 'contacts.manage' as const } };
  const tags = ['contacts'];
  const params = idParam;

  app.get(
    '/v1/contacts/groups',
    {
      ...read,
      schema: {
        tags,
        summary: 'Groups with their member counts',
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: groupView } } },
          ...errorResponses,
        },
      },
    },
    async (request) => ({ data: await listGroups(pool, request.tenantId) }),
  );
  app.post<{ Body: { name: string; description?: string } }>(
    '/v1/contacts/groups',
    {
      ...manage,
      schema: {
        tags,
        summary: 'Create a group (names are unique per tenant)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name, description },
        },
        response: { 201: groupView, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createGroup(pool, request.tenantId, request.body, now())),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/contacts/groups/:id',
    {
      ...read,
      schema: { tags, summary: 'One group', params, response: { 200: groupView, ...errorResponses } },
    },
    async (request) => getGroup(pool, request.tenantId, Number(request.params.id)),
  );
  app.patch<{ Params: { id: string }; Body: { name?: string; description?: string } }>(
    '/v1/contacts/groups/:id',
    {
      ...manage,
      schema: {
        tags,
        summary: 'Rename a group or change its description',
        params,
        body: { type: 'object', additionalProperties: false, properties: { name, description } },
        response: { 200: groupView, ...errorResponses },
      },
    },
    async (request) => updateGroup(pool, request.tenantId, Number(request.params.id), request.body, now()),
  );
  app.delete<{ Params: { id: string } }>(
    '/v1/contacts/groups/:id',
    {
      ...manage,
      schema: {
        tags,
        summary: 'Delete a group (its contacts stay)',
        params,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await deleteGroup(pool, request.tenantId, Number(request.params.id));
      return reply.status(204).send();
    },
  );
  for (const action of ['add', 'remove'] as const) {
    app.post<{ Params: { id: string }; Body: { contact_ids: string[] } }>(
      `/v1/contacts/groups/:id/members/${action}`,
      {
        ...manage,
        schema: {
          tags,
          summary: `${action === 'add' ? 'Add' : 'Remove'} contacts (by id, up to 10,000) ${action === 'add' ? 'to' : 'from'} a group`,
          params,
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['contact_ids'],
            properties: { contact_ids: { type: 'array', minItems: 1, maxItems: 10_000, items: idString } },
          },
          response: {
            200: { type: 'object', properties: { changed: { type: 'integer' }, group: groupView } },
            ...errorResponses,
          },
        },
      },
      async (request) =>
        changeGroupMembers({
          pool,
          tenantId: request.tenantId,
          groupId: Number(request.params.id),
          contactIds: request.body.contact_ids.map(Number),
          action,
          now: now(),
        }),
    );
  }

  app.get(
    '/v1/contacts/segments',
    {
      ...read,
      schema: {
        tags,
        summary: 'Saved segments',
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: segmentView } } },
          ...errorResponses,
        },
      },
    },
    async (request) => ({ data: await listSegments(pool, request.tenantId) }),
  );
  app.post<{ Body: { name: string; filter: unknown } }>(
    '/v1/contacts/segments',
    {
      ...manage,
      schema: {
        tags,
        summary: 'Save a segment: a filter on fields, tags and engagement, evaluated each time it is used',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'filter'],
          properties: { name, filter: filterSchema },
        },
        response: { 201: segmentView, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createSegment(pool, request.tenantId, request.body, now())),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/contacts/segments/:id',
    {
      ...read,
      schema: {
        tags,
        summary:
          'One segment, with how many contacts it selects now (all, and those that may receive marketing)',
        params,
        response: {
          200: {
            type: 'object',
            properties: {
              ...segmentView.properties,
              contacts: { type: 'integer' },
              marketable: { type: 'integer' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const segment = await getSegment(pool, request.tenantId, Number(request.params.id));
      const spec = { segmentIds: [Number(segment.id)], now: now() };
      return {
        ...segment,
        contacts: await countAudience(pool, request.tenantId, { ...spec, excludeProtected: false }),
        marketable: await countAudience(pool, request.tenantId, spec),
      };
    },
  );
  app.patch<{ Params: { id: string }; Body: { name?: string; filter?: unknown } }>(
    '/v1/contacts/segments/:id',
    {
      ...manage,
      schema: {
        tags,
        summary: 'Rename a segment or replace its filter',
        params,
        body: { type: 'object', additionalProperties: false, properties: { name, filter: filterSchema } },
        response: { 200: segmentView, ...errorResponses },
      },
    },
    async (request) => updateSegment(pool, request.tenantId, Number(request.params.id), request.body, now()),
  );
  app.delete<{ Params: { id: string } }>(
    '/v1/contacts/segments/:id',
    {
      ...manage,
      schema: {
        tags,
        summary: 'Delete a segment',
        params,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await deleteSegment(pool, request.tenantId, Number(request.params.id));
      return reply.status(204).send();
    },
  );
}
