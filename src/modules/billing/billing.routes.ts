// The tenant's balance: available and reserved parts, and the lots (packages, credits) behind
// them in the order they are used (oldest-expiring first); and the ledger's rows, newest first.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponses } from '../../http/schemas.ts';
import { invalidLedgerCursor } from './billing.errors.ts';
import { type LedgerKind, listLedger } from './ledger.sql.ts';
import { getBalance } from './ledger.usecases.ts';

const LEDGER_KINDS: readonly LedgerKind[] = [
  'reserve',
  'capture',
  'refund',
  'release',
  'credit',
  'adjust',
  'expire',
];

const ledgerView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: LEDGER_KINDS },
    available_delta: { type: 'integer', description: 'Change of the available parts.' },
    reserved_delta: { type: 'integer', description: 'Change of the reserved parts.' },
    units: { type: ['integer', 'null'], description: "The message's charge in parts (message rows)." },
    message_id: { type: ['string', 'null'] },
    batch_id: { type: ['string', 'null'] },
    order_id: { type: ['string', 'null'] },
    lot_id: { type: ['string', 'null'] },
    reason: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

const encodeLedgerCursor = (id: number) => Buffer.from(`l:${id}`).toString('base64url');
function decodeLedgerCursor(cursor: string): number {
  const match = /^l:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalidLedgerCursor();
  return Number(match[1]);
}
const idOrNull = (v: number | null) => (v === null ? null : String(v));

const lotView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    parts_left: { type: 'integer' },
    parts_total: { type: 'integer' },
    expires_at: { type: 'string', format: 'date-time' },
    source: { type: 'string', enum: ['order', 'credit', 'adjust'] },
    order_id: { type: ['string', 'null'] },
  },
} as const;

export const balanceView = {
  type: 'object',
  properties: {
    available: { type: 'integer', description: 'Parts that can be spent now.' },
    reserved: {
      type: 'integer',
      description: 'Parts held for accepted messages the carrier has not taken yet.',
    },
    lots: { type: 'array', items: lotView },
  },
} as const;

export async function registerBillingRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = requireTenant(ctx);
  app.get(
    '/v1/billing/balance',
    {
      preHandler: auth,
      config: { permission: 'billing.read' },
      schema: {
        tags: ['billing'],
        summary: 'Balance in parts: available, reserved, and the lots behind them (oldest-expiring first)',
        response: { 200: balanceView, ...errorResponses },
      },
    },
    async (request) => {
      const balance = await getBalance({ db: ctx.db.pool, tenantId: request.tenantId });
      return {
        available: balance.available,
        reserved: balance.reserved,
        lots: balance.lots.map((l) => ({
          ...l,
          id: String(l.id),
          order_id: l.order_id === null ? null : String(l.order_id),
        })),
      };
    },
  );
  app.get<{ Querystring: { cursor?: string; limit?: number; kind?: LedgerKind } }>(
    '/v1/billing/ledger',
    {
      preHandler: auth,
      config: { permission: 'billing.read' },
      schema: {
        tags: ['billing'],
        summary:
          "The balance's movements, newest first: reservations, captures, refunds and releases of messages, credits (purchases, operator credits), adjustments, expiries",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cursor: { type: 'string', maxLength: 64 },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            kind: { type: 'string', enum: LEDGER_KINDS },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              data: { type: 'array', items: ledgerView },
              next_cursor: { type: ['string', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const beforeId =
        request.query.cursor === undefined ? undefined : decodeLedgerCursor(request.query.cursor);
      const rows = await listLedger(ctx.db.pool, {
        tenantId: request.tenantId,
        beforeId,
        kind: request.query.kind,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return {
        data: page.map((r) => ({
          ...r,
          id: String(r.id),
          message_id: idOrNull(r.message_id),
          batch_id: idOrNull(r.batch_id),
          order_id: idOrNull(r.order_id),
          lot_id: idOrNull(r.lot_id),
          created_at: r.created_at.toISOString(),
        })),
        next_cursor: rows.length > limit && page.length > 0 ? encodeLedgerCursor(page.at(-1)!.id) : null,
      };
    },
  );
}
