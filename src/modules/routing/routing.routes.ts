// Operator API for routing: the route table, the decision for one message, and the carrier
// overrides of ported numbers (携号转网). Workers pick up changes at their next channel sync;
// every change is audited.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import { createChannelsRepository } from '../channels/channels.repository.ts';
import type { ChangedBy } from '../channels/channels.usecases.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import { registerRoutingHealthRoutes } from './health/health.routes.ts';
import type { RouteInput } from './route-input.models.ts';
import { invalidRoute } from './routing.errors.ts';
import {
  type ChannelHealth,
  chooseChannel,
  MESSAGE_TYPES,
  ROUTE_CARRIERS,
  DOMESTIC_CARRIERS,
  type RoutedMessageType,
} from './routing.models.ts';
import { createRoutingRepository, routingChannelOf } from './routing.repository.ts';
import {
  addRoute,
  changeRoute,
  removeNumberCarrier,
  removeRoute,
  setNumberCarrier,
} from './routing.usecases.ts';

const routeView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    position: { type: 'integer' },
    tenant_id: { type: ['integer', 'null'] },
    message_type: { type: ['string', 'null'] },
    carrier: { type: ['string', 'null'] },
    country_prefix: { type: ['string', 'null'] },
    signature: { type: ['string', 'null'] },
    description: { type: 'string' },
    channels: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          channel_id: { type: 'integer' },
          channel: { type: 'string' },
          tier: { type: 'integer' },
          weight: { type: 'integer' },
        },
      },
    },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

const overrideView = {
  type: 'object',
  properties: {
    number: { type: 'string' },
    carrier: { type: 'string' },
    note: { type: 'string' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

const routeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['channels'],
  properties: {
    position: { type: 'integer' },
    tenant_id: { type: ['integer', 'null'], minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    message_type: { type: ['string', 'null'], enum: [...MESSAGE_TYPES, null] },
    carrier: { type: ['string', 'null'], enum: [...ROUTE_CARRIERS, null] },
    country_prefix: { type: ['string', 'null'], maxLength: 6 },
    signature: { type: ['string', 'null'], maxLength: 40 },
    description: { type: 'string', maxLength: 500 },
    channels: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['channel'],
        properties: {
          channel: { type: ['string', 'integer'], description: 'A channel name or id.' },
          tier: {
            type: 'integer',
            description: '1 first; a higher tier carries only when no lower one is bound.',
          },
          weight: { type: 'integer' },
        },
      },
    },
  },
} as const;

interface RouteBody {
  position?: number;
  tenant_id?: number | null;
  message_type?: string | null;
  carrier?: string | null;
  country_prefix?: string | null;
  signature?: string | null;
  description?: string;
  channels: { channel: string | number; tier?: number; weight?: number }[];
}

const routeInput = (b: RouteBody): RouteInput => ({
  position: b.position,
  tenantId: b.tenant_id ?? null,
  messageType: b.message_type ?? null,
  carrier: b.carrier ?? null,
  countryPrefix: b.country_prefix ?? null,
  signature: b.signature ?? null,
  description: b.description,
  channels: b.channels.map((c) => ({ channel: String(c.channel), tier: c.tier, weight: c.weight })),
});

export async function registerRoutingRoutes(app: FastifyInstance, ctx: AppContext) {
  const routes = createRoutingRepository(ctx.db.kysely);
  // Every change is audited with the staff account and address that made it.
  const by = (request: FastifyRequest): ChangedBy => ({ actor: request.principal!.actor, ip: request.ip });

  app.get(
    '/v1/operator/routes',
    {
      config: { permission: 'operator.channels.read' },
      schema: {
        tags: ['operator'],
        summary: 'The route table, in the order rules are tried',
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: routeView } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ data: await routes.listRoutes() }),
  );

  app.post<{ Body: RouteBody }>(
    '/v1/operator/routes',
    {
      config: { permission: 'operator.channels.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Add a route: filters (absent or null match anything) and a channel group',
        body: routeBody,
        response: { 201: routeView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const route = await addRoute({ db: ctx.db.kysely, input: routeInput(request.body), by: by(request) });
      return reply.status(201).send(route);
    },
  );

  app.put<{ Params: { id: string }; Body: RouteBody }>(
    '/v1/operator/routes/:id',
    {
      config: { permission: 'operator.channels.manage' },
      schema: {
        tags: ['operator'],
        summary:
          'Change a route: its filters, description and channel group are replaced by the body (what is left out matches anything); without a position it keeps its own',
        params: idParam,
        body: routeBody,
        response: { 200: routeView, ...errorResponses },
      },
    },
    async (request) =>
      changeRoute({
        db: ctx.db.kysely,
        id: Number(request.params.id),
        input: routeInput(request.body),
        by: by(request),
      }),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/operator/routes/:id',
    {
      config: { permission: 'operator.channels.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Remove a route',
        params: idParam,
        response: { 200: routeView, ...errorResponses },
      },
    },
    async (request) => removeRoute({ db: ctx.db.kysely, id: Number(request.params.id), by: by(request) }),
  );

  app.post<{ Body: { to: string; type?: RoutedMessageType; tenant_id?: number; content?: string } }>(
    '/v1/operator/routes/test',
    {
      config: { permission: 'operator.channels.read' },
      schema: {
        tags: ['operator'],
        summary: 'The decision for one message and why (every enabled channel taken as bound)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['to'],
          properties: {
            to: { type: 'string', maxLength: 64 },
            type: { type: 'string', enum: [...MESSAGE_TYPES] },
            tenant_id: { type: 'integer' },
            content: { type: 'string', maxLength: 1000 },
          },
        },
      },
    },
    async (request) => {
      const b = request.body;
      const phone = normalizePhone(b.to);
      if (!phone.ok) throw invalidRoute({ message: `to: ${phone.reason}` });
      const every = await createChannelsRepository(ctx.db.kysely, ctx.keyRing).listChannels();
      const channels = new Map(every.map((c) => [c.id, routingChannelOf(c)]));
      const health = new Map<number, ChannelHealth>(every.map((c) => [c.id, { bound: c.enabled }]));
      const d = chooseChannel(
        {
          tenantId: b.tenant_id ?? 0,
          type: b.type ?? 'notification',
          recipient: phone.e164,
          content: b.content ?? '',
        },
        await routes.loadTable(),
        channels,
        health,
      );
      return {
        to: phone.e164,
        recipient: {
          country_code: d.recipient.countryCode,
          carrier: d.recipient.carrier,
          virtual_operator: d.recipient.mvno,
          ported: d.recipient.ported,
        },
        decision: d.kind === 'no_route' ? 'rejected' : d.kind,
        error_code: d.kind === 'no_route' ? 'routing.no_route' : null,
        channel: d.kind === 'channel' ? { id: d.channel.id, name: d.channel.name } : null,
        rule: d.kind === 'no_route' ? null : d.rule === null ? 'default' : d.rule.id,
        why: d.kind === 'channel' ? null : d.why,
        skipped: d.skipped.map((s) => ({
          channel_id: s.channelId,
          rule: s.ruleId,
          reason: s.reason,
          why: s.why,
        })),
      };
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/v1/operator/number-carriers',
    {
      config: { permission: 'operator.channels.read' },
      schema: {
        tags: ['operator'],
        summary: 'Ported numbers (携号转网) and the carrier serving each now',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 10000 } },
        },
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: overrideView } } },
          ...errorResponses,
        },
      },
    },
    async (request) => ({ data: await routes.listOverrides({ limit: request.query.limit ?? 1000 }) }),
  );

  app.put<{ Body: { number: string; carrier: string; note?: string } }>(
    '/v1/operator/number-carriers',
    {
      config: { permission: 'operator.channels.manage' },
      schema: {
        tags: ['operator'],
        summary: "Set a ported number's carrier",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['number', 'carrier'],
          properties: {
            number: { type: 'string', maxLength: 20 },
            carrier: { type: 'string', enum: [...DOMESTIC_CARRIERS] },
            note: { type: 'string', maxLength: 200 },
          },
        },
        response: { 200: overrideView, ...errorResponses },
      },
    },
    async (request) => setNumberCarrier({ db: ctx.db.kysely, override: request.body, by: by(request) }),
  );

  app.delete<{ Params: { number: string } }>(
    '/v1/operator/number-carriers/:number',
    {
      config: { permission: 'operator.channels.manage' },
      schema: {
        tags: ['operator'],
        summary: "Remove a number's override; its segment decides again",
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['number'],
          properties: { number: { type: 'string', minLength: 1, maxLength: 20 } },
        },
        response: { 200: overrideView, ...errorResponses },
      },
    },
    async (request) =>
      removeNumberCarrier({ db: ctx.db.kysely, number: request.params.number, by: by(request) }),
  );

  // Part B: switch events and per-channel health (health/health.routes.ts).
  await registerRoutingHealthRoutes(app, ctx);
}
