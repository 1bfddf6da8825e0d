// /v1/webhooks: a tenant's endpoints (secret shown once), its deliveries with each attempt, and
// replay. Delivery itself is the worker's (webhooks.worker.ts).
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponse, errorResponses, idParam } from '../../http/schemas.ts';
import { addressPolicyOf } from './ssrf.models.ts';
import { WEBHOOK_EVENTS, WEBHOOK_FORMATS, type WebhookFormat } from './webhooks.models.ts';
import { createWebhooksRepository } from './webhooks.repository.ts';
import {
  createEndpoint,
  deleteEndpoint,
  getDelivery,
  getEndpoint,
  replayDelivery,
  rotateCallbackSecret,
  rotateEndpointSecret,
  toDeliveryView,
  toEndpointView,
  updateEndpoint,
  type WebhookDeps,
} from './webhooks.usecases.ts';

const responses = { ...errorResponses, 422: errorResponse } as const;
const nullableString = { type: ['string', 'null'] } as const;

const endpointView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    events: { type: 'array', items: { type: 'string' } },
    description: { type: 'string' },
    format: { type: 'string', enum: [...WEBHOOK_FORMATS] },
    enabled: { type: 'boolean' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;
const withSecret = {
  type: 'object',
  properties: {
    endpoint: endpointView,
    secret: { type: 'string', description: 'Signing secret: shown once; stored sealed with the master key.' },
  },
} as const;
const deliveryProperties = {
  id: { type: 'string' },
  endpoint_id: nullableString,
  callback_url: nullableString,
  event_id: { type: 'string' },
  event_type: { type: 'string' },
  message_id: nullableString,
  state: { type: 'string', enum: ['pending', 'delivered', 'dead'] },
  attempts: { type: 'integer' },
  next_attempt_at: nullableString,
  last_status: { type: ['integer', 'null'] },
  last_error: nullableString,
  replay_of: nullableString,
  created_at: { type: 'string' },
  done_at: nullableString,
} as const;
const deliveryView = { type: 'object', properties: deliveryProperties } as const;
const deliveryDetail = {
  type: 'object',
  properties: {
    ...deliveryProperties,
    payload: { type: 'object', additionalProperties: true },
    attempt_log: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          at: { type: 'string' },
          status_code: { type: ['integer', 'null'] },
          error: nullableString,
          duration_ms: { type: 'integer' },
          events_in_post: { type: 'integer' },
        },
      },
    },
  },
} as const;

const url = { type: 'string', minLength: 1, maxLength: 2000 } as const;
const events = {
  type: 'array',
  minItems: 1,
  maxItems: WEBHOOK_EVENTS.length,
  items: { type: 'string', enum: [...WEBHOOK_EVENTS] },
} as const;
const description = { type: 'string', maxLength: 200 } as const;
const format = {
  type: 'string',
  enum: [...WEBHOOK_FORMATS],
  description:
    "The body of each POST: hongyan (the events envelope, the default), or a cloud vendor's status report push, aliyun (SmsReport) or tencent (status callback), for message.status only (docs/webhooks.md).",
} as const;

interface EndpointBody {
  url: string;
  events: string[];
  description?: string;
  format?: WebhookFormat;
}
type EndpointPatch = Partial<EndpointBody> & { enabled?: boolean };
interface DeliveriesQuery {
  endpoint_id?: string;
  state?: string;
  message_id?: string;
  before?: string;
  limit?: number;
}

export async function registerWebhookRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = requireTenant(ctx);
  const deps: WebhookDeps = {
    repository: createWebhooksRepository(ctx.db.pool),
    keyRing: ctx.keyRing,
    policy: addressPolicyOf(ctx.config.webhookAllowRanges),
    now: () => ctx.clock.now(),
  };
  const read = { preHandler: auth, config: { permission: 'webhooks.read' as const } };
  const manage = { preHandler: auth, config: { permission: 'webhooks.manage' as const } };
  const tags = ['webhooks'];

  app.get(
    '/v1/webhooks/endpoints',
    {
      ...read,
      schema: {
        tags,
        summary: "The tenant's webhook endpoints (secrets are never shown again)",
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: endpointView } } },
          ...responses,
        },
      },
    },
    async (request) => ({
      data: (await deps.repository.listEndpoints(request.tenantId)).map(toEndpointView),
    }),
  );

  app.post<{ Body: EndpointBody }>(
    '/v1/webhooks/endpoints',
    {
      ...manage,
      bodyLimit: 64 * 1024,
      schema: {
        tags,
        summary: 'Register an endpoint: URL, events, format; answers its signing secret, once',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['url', 'events'],
          properties: { url, events, description, format },
        },
        response: { 201: withSecret, ...responses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createEndpoint({ tenantId: request.tenantId, input: request.body, deps })),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/webhooks/endpoints/:id',
    {
      ...read,
      schema: {
        tags,
        summary: 'One endpoint',
        params: idParam,
        response: { 200: endpointView, ...responses },
      },
    },
    async (request) => getEndpoint({ tenantId: request.tenantId, id: Number(request.params.id), deps }),
  );

  app.patch<{ Params: { id: string }; Body: EndpointPatch }>(
    '/v1/webhooks/endpoints/:id',
    {
      ...manage,
      bodyLimit: 64 * 1024,
      schema: {
        tags,
        summary: 'Change an endpoint: URL, events, description, format, enabled',
        params: idParam,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { url, events, description, format, enabled: { type: 'boolean' } },
        },
        response: { 200: endpointView, ...responses },
      },
    },
    async (request) =>
      updateEndpoint({
        tenantId: request.tenantId,
        id: Number(request.params.id),
        input: request.body,
        deps,
      }),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/webhooks/endpoints/:id',
    {
      ...manage,
      schema: {
        tags,
        summary: 'Delete an endpoint; its pending deliveries are dead-lettered',
        params: idParam,
        response: { 204: { type: 'null' }, ...responses },
      },
    },
    async (request, reply) => {
      await deleteEndpoint({ tenantId: request.tenantId, id: Number(request.params.id), deps });
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/webhooks/endpoints/:id/rotate-secret',
    {
      ...manage,
      schema: {
        tags,
        summary: 'A new signing secret for this endpoint (shown once); the old one stops signing at once',
        params: idParam,
        response: { 200: withSecret, ...responses },
      },
    },
    async (request) =>
      rotateEndpointSecret({ tenantId: request.tenantId, id: Number(request.params.id), deps }),
  );

  app.post(
    '/v1/webhooks/callback-secret',
    {
      ...manage,
      schema: {
        tags,
        summary: "A new secret signing the messages' own callback_url deliveries (shown once)",
        response: { 200: { type: 'object', properties: { secret: { type: 'string' } } }, ...responses },
      },
    },
    async (request) => rotateCallbackSecret({ tenantId: request.tenantId, deps }),
  );

  app.get<{ Querystring: DeliveriesQuery }>(
    '/v1/webhooks/deliveries',
    {
      ...read,
      schema: {
        tags,
        summary: 'Deliveries, newest first, with their state, attempts and last outcome',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            endpoint_id: { type: 'string', pattern: '^[1-9][0-9]{0,15}$' },
            message_id: { type: 'string', pattern: '^[1-9][0-9]{0,15}$' },
            state: { type: 'string', enum: ['pending', 'delivered', 'dead'] },
            before: {
              type: 'string',
              pattern: '^[1-9][0-9]{0,15}$',
              description: 'A delivery id: older ones.',
            },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { data: { type: 'array', items: deliveryView }, next_before: nullableString },
          },
          ...responses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 100;
      const rows = await deps.repository.listDeliveries({
        tenantId: request.tenantId,
        limit,
        ...(q.endpoint_id ? { endpointId: Number(q.endpoint_id) } : {}),
        ...(q.message_id ? { messageId: Number(q.message_id) } : {}),
        ...(q.state ? { state: q.state } : {}),
        ...(q.before ? { beforeId: Number(q.before) } : {}),
      });
      return {
        data: rows.map(toDeliveryView),
        next_before: rows.length === limit ? String(rows[rows.length - 1]!.id) : null,
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/webhooks/deliveries/:id',
    {
      ...read,
      schema: {
        tags,
        summary: 'One delivery: the event sent, and each attempt (time, HTTP status or error, duration)',
        params: idParam,
        response: { 200: deliveryDetail, ...responses },
      },
    },
    async (request) => getDelivery({ tenantId: request.tenantId, id: Number(request.params.id), deps }),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/webhooks/deliveries/:id/replay',
    {
      ...manage,
      schema: {
        tags,
        summary: 'Send this delivered or dead-lettered event again (a new delivery, same event id)',
        params: idParam,
        response: { 201: deliveryView, ...responses },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await replayDelivery({ tenantId: request.tenantId, id: Number(request.params.id), deps })),
  );
}
