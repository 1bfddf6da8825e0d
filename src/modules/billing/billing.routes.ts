// The tenant's balance: available and reserved parts, and the lots (packages, credits) behind
// them in the order they are used (oldest-expiring first).
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponses } from '../../http/schemas.ts';
import { getBalance } from './ledger.usecases.ts';

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
}
