// The operator's side of billing commerce: packages and prices, every tenant's orders (confirm a
// payment, cancel), balance adjustments with a reason, and statements with channel cost and margin.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../../app/context.ts';
import { errorResponses, idParam } from '../../../http/schemas.ts';
import { tenantNotFound } from '../../accounts/accounts.errors.ts';
import { audit } from '../../accounts/audit.ts';
import { invalidPrice, packageNotFound } from './commerce.errors.ts';
import type { OrderStatus } from './commerce.models.ts';
import {
  deletePrice,
  insertPackage,
  listOrders,
  listPackages,
  listPrices,
  type NewPackage,
  type PriceInput,
  toOrderView,
  toPackageView,
  updatePackage,
  upsertPrice,
} from './commerce.repository.ts';
import {
  confirmBody,
  exportQuery,
  orderList,
  orderView,
  packageBody,
  packagePatchBody,
  packageView,
  priceBody,
  priceView,
  statementQuery,
  statementView,
} from './commerce.schemas.ts';
import { sendStatementFile } from './commerce.routes.ts';
import { appLedger } from './ledger.ts';
import type { LedgerPort } from './ledger-port.ts';
import { adjustBalance, cancelOrder, confirmOrder } from './orders.usecases.ts';
import { readStatement, type StatementQuery } from './statements.usecases.ts';

const tenantFilter = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;

export async function registerBillingOperatorRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  ledger: LedgerPort = appLedger,
) {
  const db = ctx.db.pool;
  const by = (request: FastifyRequest) => ({ actor: request.principal!.actor, ip: request.ip });

  app.get(
    '/v1/operator/billing/packages',
    {
      config: { permission: 'operator.billing.read' },
      schema: {
        tags: ['operator'],
        summary: 'Every package, on sale or not',
        response: { 200: { type: 'object', properties: { data: { type: 'array', items: packageView } } } },
      },
    },
    async () => ({ data: (await listPackages(db, { enabledOnly: false })).map(toPackageView) }),
  );

  app.post<{ Body: NewPackage }>(
    '/v1/operator/billing/packages',
    {
      config: { permission: 'operator.billing.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Define a quota package (parts, price, currency, validity in days)',
        body: packageBody,
        response: { 201: packageView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const pkg = await insertPackage(db, request.body);
      await audit(
        db,
        {
          ...by(request),
          action: 'billing.package_created',
          target: `package:${pkg.id}`,
          after: toPackageView(pkg),
        },
        ctx.clock.now(),
      );
      return reply.status(201).send(toPackageView(pkg));
    },
  );

  app.patch<{ Params: { id: string }; Body: Partial<NewPackage> }>(
    '/v1/operator/billing/packages/:id',
    {
      config: { permission: 'operator.billing.manage' },
      schema: {
        tags: ['operator'],
        summary:
          'Change a package (orders already made keep what they bought); enabled: false stops its sale',
        params: idParam,
        body: packagePatchBody,
        response: { 200: packageView, ...errorResponses },
      },
    },
    async (request) => {
      const pkg = await updatePackage(db, Number(request.params.id), request.body);
      if (!pkg) throw packageNotFound();
      await audit(
        db,
        {
          ...by(request),
          action: 'billing.package_changed',
          target: `package:${pkg.id}`,
          after: request.body,
        },
        ctx.clock.now(),
      );
      return toPackageView(pkg);
    },
  );

  app.get(
    '/v1/operator/billing/prices',
    {
      config: { permission: 'operator.billing.read' },
      schema: {
        tags: ['operator'],
        summary:
          'The price table: parts charged per message part and money per part, by type and destination',
        response: { 200: { type: 'object', properties: { data: { type: 'array', items: priceView } } } },
      },
    },
    async () => ({ data: await listPrices(db) }),
  );

  app.put<{ Body: PriceInput }>(
    '/v1/operator/billing/prices',
    {
      config: { permission: 'operator.billing.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Set the price of a (type, destination, country); null type: every type',
        body: priceBody,
        response: { 200: priceView, ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      const countryCode = b.country_code ?? null;
      if (b.destination === 'domestic' && countryCode !== null) {
        throw invalidPrice({
          details: [{ field: 'country_code', reason: 'only international prices name a country' }],
        });
      }
      const row = await upsertPrice(db, {
        ...b,
        type: b.type ?? null,
        country_code: countryCode,
        price_per_part: b.price_per_part ?? '0',
      });
      await audit(
        db,
        { ...by(request), action: 'billing.price_set', target: `price:${row.id}`, after: request.body },
        ctx.clock.now(),
      );
      return row;
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/operator/billing/prices/:id',
    {
      config: { permission: 'operator.billing.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Remove a price row (its messages fall back to a broader row, or 1 part per part)',
        params: idParam,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      if (!(await deletePrice(db, Number(request.params.id))))
        throw invalidPrice({ message: 'No such price row.' });
      await audit(
        db,
        { ...by(request), action: 'billing.price_removed', target: `price:${request.params.id}` },
        ctx.clock.now(),
      );
      return reply.status(204).send();
    },
  );

  app.get<{ Querystring: { status?: OrderStatus; tenant_id?: number } }>(
    '/v1/operator/billing/orders',
    {
      config: { permission: 'operator.billing.read' },
      schema: {
        tags: ['operator'],
        summary: "Tenants' orders, newest first (status=created: awaiting payment)",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['created', 'paid', 'credited', 'canceled'] },
            tenant_id: tenantFilter,
          },
        },
        response: { 200: orderList, ...errorResponses },
      },
    },
    async (request) => ({
      data: (
        await listOrders(db, { tenantId: request.query.tenant_id, status: request.query.status, limit: 500 })
      ).map(toOrderView),
    }),
  );

  app.post<{ Params: { id: string }; Body: { reference?: string } | undefined }>(
    '/v1/operator/billing/orders/:id/confirm',
    {
      config: { permission: 'operator.billing.manage' },
      schema: {
        tags: ['operator'],
        summary: "Confirm an order's payment (with its reference) and credit its parts; again: no change",
        params: idParam,
        body: confirmBody,
        response: {
          200: { type: 'object', properties: { order: orderView, credited: { type: 'boolean' } } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { order, credited } = await confirmOrder({
        pool: db,
        ledger,
        orderId: Number(request.params.id),
        reference: request.body?.reference ?? null,
        ...by(request),
        now: ctx.clock.now(),
      });
      return { order: toOrderView(order), credited };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/operator/billing/orders/:id/cancel',
    {
      config: { permission: 'operator.billing.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Cancel an order not yet paid',
        params: idParam,
        response: { 200: orderView, ...errorResponses },
      },
    },
    async (request) =>
      toOrderView(
        await cancelOrder({
          pool: db,
          orderId: Number(request.params.id),
          ...by(request),
          now: ctx.clock.now(),
        }),
      ),
  );

  app.post<{ Params: { id: string }; Body: { parts: number; reason: string } }>(
    '/v1/operator/billing/tenants/:id/adjust',
    {
      config: { permission: 'operator.billing.manage' },
      schema: {
        tags: ['operator'],
        summary: "Adjust a tenant's balance by a number of parts (negative: take), with a reason; audited",
        params: idParam,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['parts', 'reason'],
          properties: {
            parts: { type: 'integer', minimum: -1_000_000_000, maximum: 1_000_000_000, not: { const: 0 } },
            reason: { type: 'string', minLength: 1, maxLength: 500 },
          },
        },
        response: {
          200: { type: 'object', properties: { available: { type: 'integer' } } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const tenantId = Number(request.params.id);
      if (!(await ctx.accounts.getTenantById(tenantId))) throw tenantNotFound();
      const balance = await adjustBalance({
        pool: db,
        ledger,
        tenantId,
        parts: request.body.parts,
        reason: request.body.reason,
        actor: request.principal!.actor,
        now: ctx.clock.now(),
      });
      return { available: balance.available };
    },
  );

  app.get<{ Querystring: StatementQuery & { tenant_id?: number } }>(
    '/v1/operator/billing/statements',
    {
      config: { permission: 'operator.billing.read' },
      schema: {
        tags: ['operator'],
        summary: "Usage statement of one tenant or all, with each channel's cost price and the margin",
        querystring: {
          ...statementQuery,
          properties: { ...statementQuery.properties, tenant_id: tenantFilter },
        },
        response: { 200: statementView, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant_id, ...query } = request.query;
      return readStatement({ db, tenantId: tenant_id ?? null, query, operator: true });
    },
  );

  app.get<{ Querystring: StatementQuery & { tenant_id?: number; format?: 'csv' | 'xlsx' } }>(
    '/v1/operator/billing/statements/export',
    {
      config: { permission: 'operator.billing.read' },
      schema: {
        tags: ['operator'],
        summary: 'The operator statement as a CSV (default) or XLSX file',
        querystring: { ...exportQuery, properties: { ...exportQuery.properties, tenant_id: tenantFilter } },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { tenant_id, format, ...query } = request.query;
      const statement = await readStatement({ db, tenantId: tenant_id ?? null, query, operator: true });
      return sendStatementFile(
        reply,
        statement,
        format ?? 'csv',
        tenant_id ? `tenant-${tenant_id}` : 'all-tenants',
      );
    },
  );
}
