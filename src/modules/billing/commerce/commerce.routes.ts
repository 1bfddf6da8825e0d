// The tenant's side of billing commerce: packages on sale, its orders, the low-balance flag and
// threshold, and its usage statements (JSON, CSV, XLSX). There is no refund route: purchased
// packages are not refundable (seed 002).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../../app/context.ts';
import { requireTenant } from '../../../http/auth.ts';
import { errorResponses, idParam } from '../../../http/schemas.ts';
import { readAlertStatus, setAlertThreshold } from './alerts.usecases.ts';
import { orderNotFound } from './commerce.errors.ts';
import { findOrder, listOrders, listPackages, toOrderView, toPackageView } from './commerce.repository.ts';
import {
  alertBody,
  alertView,
  exportQuery,
  orderBody,
  orderList,
  orderView,
  packageView,
  statementQuery,
  statementView,
} from './commerce.schemas.ts';
import { appLedger } from './ledger.ts';
import type { LedgerPort } from './ledger-port.ts';
import { cancelOrder, createOrder } from './orders.usecases.ts';
import { statementCsv, statementXlsx } from './statements.export.ts';
import { readStatement, type StatementQuery } from './statements.usecases.ts';

/** Answers a statement as a CSV or XLSX attachment. */
export async function sendStatementFile(
  reply: FastifyReply,
  statement: Awaited<ReturnType<typeof readStatement>>,
  format: 'csv' | 'xlsx',
  name: string,
) {
  const file = `${name}-${statement.from}-${statement.to}.${format}`;
  reply.header('content-disposition', `attachment; filename="${file}"`);
  if (format === 'csv') {
    return reply.type('text/csv; charset=utf-8').send(statementCsv(statement.columns, statement.rows));
  }
  const body = await statementXlsx(statement.columns, statement.rows, { title: file });
  return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet').send(body);
}

export async function registerBillingCommerceRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  ledger: LedgerPort = appLedger,
) {
  const db = ctx.db.pool;
  const auth = requireTenant(ctx);
  const by = (request: FastifyRequest) => ({ actor: request.principal!.actor, ip: request.ip });

  app.get(
    '/v1/billing/packages',
    {
      preHandler: auth,
      config: { permission: 'billing.read' },
      schema: {
        tags: ['billing'],
        summary: 'Quota packages on sale (parts, price, validity in days)',
        response: { 200: { type: 'object', properties: { data: { type: 'array', items: packageView } } } },
      },
    },
    async () => ({ data: (await listPackages(db, { enabledOnly: true })).map(toPackageView) }),
  );

  app.post<{ Body: { package_id: number } }>(
    '/v1/billing/orders',
    {
      preHandler: auth,
      config: { permission: 'billing.order' },
      schema: {
        tags: ['billing'],
        summary: 'Order a package: credited once the operator confirms the payment. Not refundable.',
        body: orderBody,
        response: { 201: orderView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const order = await createOrder({
        db,
        tenantId: request.tenantId,
        packageId: request.body.package_id,
        ...by(request),
        now: ctx.clock.now(),
      });
      return reply.status(201).send(toOrderView(order));
    },
  );

  app.get(
    '/v1/billing/orders',
    {
      preHandler: auth,
      config: { permission: 'billing.read' },
      schema: {
        tags: ['billing'],
        summary: "The tenant's orders, newest first",
        response: { 200: orderList },
      },
    },
    async (request) => ({
      data: (await listOrders(db, { tenantId: request.tenantId, limit: 200 })).map(toOrderView),
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/billing/orders/:id',
    {
      preHandler: auth,
      config: { permission: 'billing.read' },
      schema: {
        tags: ['billing'],
        summary: 'One order and its state',
        params: idParam,
        response: { 200: orderView, ...errorResponses },
      },
    },
    async (request) => {
      const order = await findOrder(db, Number(request.params.id), { tenantId: request.tenantId });
      if (!order) throw orderNotFound();
      return toOrderView(order);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/billing/orders/:id/cancel',
    {
      preHandler: auth,
      config: { permission: 'billing.order' },
      schema: {
        tags: ['billing'],
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
          tenantId: request.tenantId,
          ...by(request),
          now: ctx.clock.now(),
        }),
      ),
  );

  app.get(
    '/v1/billing/alerts',
    {
      preHandler: auth,
      config: { permission: 'billing.read' },
      schema: {
        tags: ['billing'],
        summary: 'Low-balance flag for the console banner, the threshold and when the alert SMS went out',
        response: { 200: alertView, ...errorResponses },
      },
    },
    async (request) =>
      readAlertStatus({
        db,
        ledger,
        tenantId: request.tenantId,
        defaultThreshold: ctx.config.lowBalanceThreshold,
      }),
  );

  app.put<{ Body: { threshold: number | null } }>(
    '/v1/billing/alerts',
    {
      preHandler: auth,
      config: { permission: 'billing.order' },
      schema: {
        tags: ['billing'],
        summary: 'Set the low-balance threshold in parts (null: the platform default)',
        body: alertBody,
        response: { 200: alertView, ...errorResponses },
      },
    },
    async (request) => {
      await setAlertThreshold({
        db,
        tenantId: request.tenantId,
        threshold: request.body.threshold,
        ...by(request),
        now: ctx.clock.now(),
      });
      return readAlertStatus({
        db,
        ledger,
        tenantId: request.tenantId,
        defaultThreshold: ctx.config.lowBalanceThreshold,
      });
    },
  );

  app.get<{ Querystring: StatementQuery }>(
    '/v1/billing/statements',
    {
      preHandler: auth,
      config: { permission: 'billing.read' },
      schema: {
        tags: ['billing'],
        summary:
          'Usage by day, type, signature and channel: parts sent, delivered, failed, charged, refunded',
        querystring: statementQuery,
        response: { 200: statementView, ...errorResponses },
      },
    },
    async (request) =>
      readStatement({ db, tenantId: request.tenantId, query: request.query, operator: false }),
  );

  app.get<{ Querystring: StatementQuery & { format?: 'csv' | 'xlsx' } }>(
    '/v1/billing/statements/export',
    {
      preHandler: auth,
      config: { permission: 'billing.read' },
      schema: {
        tags: ['billing'],
        summary: 'The statement as a CSV (default) or XLSX file',
        querystring: exportQuery,
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const statement = await readStatement({
        db,
        tenantId: request.tenantId,
        query: request.query,
        operator: false,
      });
      return sendStatementFile(reply, statement, request.query.format ?? 'csv', 'statement');
    },
  );
}
