// Operator API of routing health: every switch of every channel with its reason (degraded,
// recovered, all degraded, bind lost and back, leases), each channel's live figures, and each
// channel's circuit-breaker settings (read and changed; changes audited, no restart).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../../app/context.ts';
import { errorResponses, idParam } from '../../../http/schemas.ts';
import { type BreakerPatch, changeBreaker, readBreaker } from './breaker.usecases.ts';
import { channelStats } from './channel-stats.ts';
import { listChannelEvents } from './health.sql.ts';

const eventView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    channel_id: { type: 'integer' },
    kind: { type: 'string' },
    reason: { type: 'string' },
    node_id: { type: ['string', 'null'] },
    delivery_rate: { type: ['number', 'null'] },
    samples: { type: ['integer', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

const rate = { type: ['number', 'null'] } as const;
const statsView = {
  type: 'object',
  properties: {
    channel_id: { type: 'integer' },
    name: { type: 'string' },
    enabled: { type: 'boolean' },
    bind_limit: { type: 'integer' },
    binds: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          slot: { type: 'integer' },
          node_id: { type: 'string' },
          expires_at: { type: 'string', format: 'date-time' },
        },
      },
    },
    breaker: { type: 'string', enum: ['healthy', 'degraded'] },
    breaker_since: { type: ['string', 'null'], format: 'date-time' },
    submitted: { type: 'integer' },
    submitted_last_minute: { type: 'integer' },
    delivered: { type: 'integer' },
    undelivered: { type: 'integer' },
    unknown: { type: 'integer' },
    delivery_rate: rate,
    submit_error_rate: rate,
    by_carrier: {
      type: 'array',
      items: {
        type: 'object',
        properties: { carrier: { type: 'string' }, delivery_rate: rate, receipts: { type: 'integer' } },
      },
    },
    receipt_latency_p50_ms: { type: ['integer', 'null'] },
    receipt_latency_p95_ms: { type: ['integer', 'null'] },
    parts_sent: { type: 'integer' },
    cost: { type: 'string' },
    currency: { type: 'string' },
    scanned_messages: { type: 'integer' },
  },
} as const;

const breakerView = {
  type: 'object',
  properties: {
    channel_id: { type: 'integer' },
    channel: { type: 'string' },
    degrade_below: { type: 'number', description: 'Degraded when the delivery rate falls below this.' },
    recover_above: {
      type: 'number',
      description: 'Back when the rate of what it carried since the switch reaches this.',
    },
    probe_share: { type: 'number', description: 'Share of the traffic probing it while degraded.' },
    channel_specific_codes: {
      type: 'array',
      items: { type: 'string' },
      description: 'Carrier codes meaning this channel cannot carry the message: retried once elsewhere.',
    },
    window: { type: 'integer', description: 'Newest final outcomes judged (fixed).' },
    min_receipts: { type: 'integer', description: 'Receipts needed before a rate can degrade it (fixed).' },
    probe_window: { type: 'integer', description: 'Newest probes judged for recovery (fixed).' },
    submit_errors_above: {
      type: 'number',
      description: 'Degraded when more than this share of submits is refused (fixed).',
    },
    quick_receipts: {
      type: 'array',
      items: { type: 'integer' },
      description: 'A sudden fall: each of these newest-receipt counts judged alone (fixed).',
    },
    quick_confidence: {
      type: 'number',
      description: 'The quick rule acts when the rate is below the threshold at this confidence (fixed).',
    },
  },
} as const;

interface BreakerBody {
  degrade_below?: number;
  recover_above?: number;
  probe_share?: number;
  channel_specific_codes?: string[];
}

export async function registerRoutingHealthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const pool = ctx.db.pool;

  app.get<{ Params: { id: string } }>(
    '/v1/operator/channels/:id/breaker',
    {
      config: { permission: 'operator.channels.read' },
      schema: {
        tags: ['operator'],
        summary: "A channel's circuit breaker: thresholds, probe share, channel-specific codes",
        params: idParam,
        response: { 200: breakerView, ...errorResponses },
      },
    },
    async (request) => readBreaker({ db: ctx.db.kysely, nameOrId: request.params.id }),
  );

  app.patch<{ Params: { id: string }; Body: BreakerBody }>(
    '/v1/operator/channels/:id/breaker',
    {
      config: { permission: 'operator.channels.manage' },
      schema: {
        tags: ['operator'],
        summary:
          "Change a channel's circuit breaker (what is left out keeps its value); workers apply it at their next channel sync, no restart",
        params: idParam,
        // Types here; ranges and the hysteresis in the use case, under one code (routing.invalid_breaker).
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            degrade_below: { type: 'number' },
            recover_above: { type: 'number' },
            probe_share: { type: 'number' },
            channel_specific_codes: { type: 'array', items: { type: 'string' }, maxItems: 1000 },
          },
        },
        response: { 200: breakerView, ...errorResponses },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string }; Body: BreakerBody }>) => {
      const b = request.body;
      const patch: BreakerPatch = {
        degradeBelow: b.degrade_below,
        recoverAbove: b.recover_above,
        probeShare: b.probe_share,
        channelSpecificCodes: b.channel_specific_codes,
      };
      return changeBreaker({
        db: ctx.db.kysely,
        nameOrId: request.params.id,
        patch,
        by: { actor: request.principal!.actor, ip: request.ip },
      });
    },
  );

  app.get<{
    Querystring: { channel_id?: number; after_id?: number; limit?: number; order?: 'asc' | 'desc' };
  }>(
    '/v1/operator/routing/events',
    {
      config: { permission: 'operator.channels.read' },
      schema: {
        tags: ['operator'],
        summary: 'Channel switches (degraded, recovered, all degraded, bind lost/back, leases) with reasons',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            channel_id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
            after_id: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
            order: {
              type: 'string',
              enum: ['asc', 'desc'],
              default: 'asc',
              description: 'asc: oldest first (follow with after_id); desc: the newest first',
            },
          },
        },
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: eventView } } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const rows = await listChannelEvents(pool, {
        channelId: request.query.channel_id ?? null,
        afterId: request.query.after_id ?? 0,
        limit: request.query.limit ?? 100,
        newestFirst: request.query.order === 'desc',
      });
      return {
        data: rows.map((e) => ({
          id: e.id,
          channel_id: e.channelId,
          kind: e.kind,
          reason: e.reason,
          node_id: e.nodeId,
          delivery_rate: e.deliveryRate,
          samples: e.samples,
          created_at: e.createdAt,
        })),
      };
    },
  );

  app.get(
    '/v1/operator/routing/health',
    {
      config: { permission: 'operator.channels.read' },
      schema: {
        tags: ['operator'],
        summary: 'Per channel: binds and their nodes, submitted, outcomes, delivery rate, latency, cost',
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: statsView } } },
          ...errorResponses,
        },
      },
    },
    async () => ({
      data: (await channelStats(pool)).map((s) => ({
        channel_id: s.channelId,
        name: s.name,
        enabled: s.enabled,
        bind_limit: s.bindLimit,
        binds: s.binds.map((b) => ({ slot: b.slot, node_id: b.nodeId, expires_at: b.expiresAt })),
        breaker: s.breaker,
        breaker_since: s.breakerSince,
        submitted: s.submitted,
        submitted_last_minute: s.submittedLastMinute,
        delivered: s.delivered,
        undelivered: s.undelivered,
        unknown: s.unknown,
        delivery_rate: s.deliveryRate,
        submit_error_rate: s.submitErrorRate,
        by_carrier: s.byCarrier.map((c) => ({
          carrier: c.carrier,
          delivery_rate: c.deliveryRate,
          receipts: c.receipts,
        })),
        receipt_latency_p50_ms: s.receiptLatencyP50Ms,
        receipt_latency_p95_ms: s.receiptLatencyP95Ms,
        parts_sent: s.partsSent,
        cost: s.cost,
        currency: s.currency,
        scanned_messages: s.scannedMessages,
      })),
    }),
  );
}
