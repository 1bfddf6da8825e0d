// Operator API of routing health: every switch of every channel with its reason (degraded,
// recovered, all degraded, bind lost and back, leases), and each channel's live figures.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../app/context.ts';
import { errorResponses } from '../../../http/schemas.ts';
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

export async function registerRoutingHealthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const pool = ctx.db.pool;

  app.get<{ Querystring: { channel_id?: number; after_id?: number; limit?: number } }>(
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
            channel_id: { type: 'integer', minimum: 1 },
            after_id: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
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
