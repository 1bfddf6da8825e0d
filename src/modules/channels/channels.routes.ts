// Operator API for carrier channels: list, read, add, change (workers rebind within seconds) and
// remove, with what each covers, carries and costs (issue 10). Every change is audited.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import {
  BIND_MODES,
  type BindMode,
  type ChannelPatch,
  ID_CONVENTIONS,
  type IdConvention,
} from './channels.models.ts';
import { createChannelsRepository, toChannelView } from './channels.repository.ts';
import { addChannel, type ChangedBy, changeChannel, removeChannel } from './channels.usecases.ts';

const channelView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'integer' },
    system_id: { type: 'string' },
    system_type: { type: 'string' },
    bind_mode: { type: 'string' },
    window: { type: 'integer' },
    max_tps: { type: 'integer' },
    source_addr: { type: 'string' },
    is_default: { type: 'boolean' },
    enabled: { type: 'boolean' },
    id_convention: { type: 'string' },
    id_convention_learned: { type: ['string', 'null'] },
    carriers: { type: 'array', items: { type: 'string' } },
    message_types: { type: 'array', items: { type: 'string' } },
    cost_per_part: { type: 'string', description: 'Decimal, exact.' },
    cost_currency: { type: 'string' },
    weight: { type: 'integer' },
    binds: { type: 'integer' },
    accepts_extension: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

const settings = {
  host: { type: 'string', minLength: 1, maxLength: 255 },
  port: { type: 'integer' },
  system_id: { type: 'string', minLength: 1, maxLength: 15 },
  password: { type: 'string', maxLength: 8 },
  system_type: { type: 'string', maxLength: 12 },
  bind_mode: { type: 'string', enum: [...BIND_MODES] },
  window: { type: 'integer' },
  max_tps: { type: 'integer' },
  source_addr: { type: 'string', maxLength: 20 },
  id_convention: { type: 'string', enum: [...ID_CONVENTIONS] },
  carriers: { type: 'array', items: { type: 'string', maxLength: 10 }, minItems: 1, maxItems: 300 },
  message_types: { type: 'array', items: { type: 'string', maxLength: 20 }, minItems: 1, maxItems: 3 },
  cost_per_part: { type: 'string', maxLength: 20 },
  cost_currency: { type: 'string', maxLength: 3 },
  weight: { type: 'integer' },
  binds: { type: 'integer' },
  accepts_extension: { type: 'boolean' },
  enabled: { type: 'boolean' },
} as const;

interface SettingsBody {
  host?: string;
  port?: number;
  system_id?: string;
  password?: string;
  system_type?: string;
  bind_mode?: BindMode;
  window?: number;
  max_tps?: number;
  source_addr?: string;
  id_convention?: IdConvention;
  carriers?: string[];
  message_types?: string[];
  cost_per_part?: string;
  cost_currency?: string;
  weight?: number;
  binds?: number;
  accepts_extension?: boolean;
  enabled?: boolean;
}

const patchOf = (b: SettingsBody): ChannelPatch => ({
  host: b.host,
  port: b.port,
  systemId: b.system_id,
  password: b.password,
  systemType: b.system_type,
  bindMode: b.bind_mode,
  windowSize: b.window,
  maxTps: b.max_tps,
  sourceAddr: b.source_addr,
  idConvention: b.id_convention,
  carriers: b.carriers,
  messageTypes: b.message_types,
  costPerPart: b.cost_per_part,
  costCurrency: b.cost_currency,
  weight: b.weight,
  binds: b.binds,
  acceptsExtension: b.accepts_extension,
  enabled: b.enabled,
});

export async function registerChannelRoutes(app: FastifyInstance, ctx: AppContext) {
  const channels = () => createChannelsRepository(ctx.db.kysely, ctx.keyRing);
  const one = { 200: channelView, ...errorResponses };
  // Every change is audited with the staff account and address that made it.
  const by = (request: FastifyRequest): ChangedBy => ({ actor: request.principal!.actor, ip: request.ip });

  app.get(
    '/v1/operator/channels',
    {
      config: { permission: 'operator.channels.read' },
      schema: {
        tags: ['operator'],
        summary: 'Every carrier channel, with what it covers, carries and costs',
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: channelView } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ data: (await channels().listChannels()).map(toChannelView) }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/operator/channels/:id',
    {
      config: { permission: 'operator.channels.read' },
      schema: { tags: ['operator'], summary: 'One channel', params: idParam, response: one },
    },
    async (request) => toChannelView(await channels().getChannel(request.params.id)),
  );

  app.post<{ Body: SettingsBody & { name: string; is_default?: boolean } }>(
    '/v1/operator/channels',
    {
      config: { permission: 'operator.channels.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Add a channel; workers bind it within seconds',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'host', 'system_id'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 64 },
            is_default: { type: 'boolean' },
            ...settings,
          },
        },
        response: { 201: channelView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const patch = patchOf(b);
      const channel = await addChannel({
        db: ctx.db.kysely,
        keyRing: ctx.keyRing,
        input: {
          ...patch,
          name: b.name,
          host: b.host!,
          port: b.port ?? 2775,
          systemId: b.system_id!,
          isDefault: b.is_default,
        },
        by: by(request),
      });
      return reply.status(201).send(toChannelView(channel));
    },
  );

  app.patch<{ Params: { id: string }; Body: SettingsBody }>(
    '/v1/operator/channels/:id',
    {
      config: { permission: 'operator.channels.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Change a channel; workers rebind it with the new settings within seconds, no restart',
        params: idParam,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: settings },
        response: one,
      },
    },
    async (request) =>
      toChannelView(
        await changeChannel({
          db: ctx.db.kysely,
          keyRing: ctx.keyRing,
          nameOrId: request.params.id,
          patch: patchOf(request.body),
          by: by(request),
        }),
      ),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/operator/channels/:id',
    {
      config: { permission: 'operator.channels.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Remove a channel (and it from every route)',
        params: idParam,
        response: one,
      },
    },
    async (request) =>
      toChannelView(
        await removeChannel({
          db: ctx.db.kysely,
          keyRing: ctx.keyRing,
          nameOrId: request.params.id,
          by: by(request),
        }),
      ),
  );
}
