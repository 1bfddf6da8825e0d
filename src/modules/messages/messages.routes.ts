import type { PoolClient } from 'pg';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { withTransaction } from '../../db/pool.ts';
import { requireTenant } from '../../http/auth.ts';
import { maskPhone } from '../../shared/phone-mask.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import { messageRules } from '../compliance/templates/rules-adapter.ts';
import { prepareSendComposer } from '../compliance/templates/send-content.ts';
import { requestHash, withIdempotency } from './idempotency.ts';
import type { MessageType } from './messages.models.ts';
import { admitAndInsertMessages, admitOne } from './admission.ts';
import { insertBatchRow, type NewMessageRow, recountBatch } from './messages.repository.ts';
import {
  batchView,
  listMessagesSchema,
  messageView,
  reviewForecastView,
  sendBatchSchema,
  sendMessageSchema,
} from './messages.schemas.ts';
import {
  cancelBatch,
  cancelMessage,
  getBatch,
  getMessage,
  listMessages,
  sendBatch,
  sendMessage,
} from './messages.usecases.ts';
import { batchReview, rescheduleBody } from '../compliance/protection/batch-review.ts';
import { audienceFileRecipients } from '../campaigns/audience-files.ts';
import { readSettings } from '../compliance/protection/protection.sql.ts';
import { reviewDueFor } from '../compliance/settings/settings.models.ts';
import { readComplianceSettings } from '../compliance/settings/settings.sql.ts';
import { rescheduleBatch, rescheduleMessage } from '../compliance/protection/schedule.usecases.ts';

interface SendBody {
  to: string;
  content?: string;
  type?: MessageType;
  client_ref?: string;
  send_at?: string;
  sign_name?: string;
  template_id?: string | number;
  params?: Record<string, string | number>;
  callback_url?: string;
}
interface BatchBody {
  all_or_nothing?: boolean;
  content?: string;
  type?: MessageType;
  send_at?: string;
  sign_name?: string;
  template_id?: string | number;
  params?: Record<string, string | number>;
  audience_file_id?: string;
  recipients?: {
    to: string;
    vars?: Record<string, string | number>;
    params?: Record<string, string | number>;
    client_ref?: string;
  }[];
}

export async function registerMessageRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = requireTenant(ctx);
  const settings = { maxParts: ctx.config.maxParts, defaultRegion: ctx.config.defaultRegion };
  // Signature, template, free-text permission and content rules: one query per request.
  const composerFor = async (tenantId: number, body: SendBody | BatchBody) =>
    prepareSendComposer({ db: ctx.db.pool, tenantId, request: body, rules: await messageRules(ctx.rules) });

  app.post<{ Body: SendBody; Headers: { 'idempotency-key'?: string } }>(
    '/v1/messages',
    {
      schema: sendMessageSchema,
      preHandler: auth,
      // A signed request's nonce is spent with the message it admits (one transaction, no round
      // trip of its own); below, every path spends it before any effect.
      config: { permission: 'messages.send', deferNonce: true },
      bodyLimit: 64 * 1024,
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const tenantId = request.tenantId;
      if (key === undefined) {
        const nonce = request.credential?.pendingNonce ?? null;
        const result = await sendMessage({
          tenantId,
          input: request.body,
          settings,
          insert: async (rows) => [await ctx.intake.insert({ ...rows[0]!, nonce })],
          now: ctx.clock.now(),
          composer: await composerFor(tenantId, request.body),
        });
        return reply.status(202).send(result);
      }
      // An idempotent send may answer a stored response without admitting a row: its nonce is
      // spent first, on its own.
      if (request.credential) await ctx.signedRequests.spendNonce(request.credential);
      // Read before the transaction: a second pool connection taken while holding one can
      // exhaust the pool under concurrent requests.
      const composer = await composerFor(tenantId, request.body);
      const outcome = await withIdempotency({
        pool: ctx.db.pool,
        tenantId,
        key,
        hash: requestHash('POST /v1/messages', request.body),
        statusCode: 202,
        run: async (client) =>
          sendMessage({
            tenantId,
            input: request.body,
            settings,
            composer,
            insert: async (rows) => [
              await admitOne(client, ctx.admission, rows[0]!, { now: ctx.clock.now(), allOrNothing: false }),
            ],
            now: ctx.clock.now(),
          }),
      });
      if (!outcome.replayed) ctx.notifyQueued();
      reply.header('idempotent-replayed', String(outcome.replayed));
      return reply.status(outcome.statusCode).send(outcome.body);
    },
  );

  // A batch's recipients: pasted, or an uploaded audience file's numbers with their columns as
  // variables (read before the transaction, as the composer is); batch-wide params fill the rest.
  const batchRecipients = async (tenantId: number, body: BatchBody) => {
    const pasted =
      body.audience_file_id === undefined
        ? (body.recipients ?? [])
        : (await audienceFileRecipients(ctx.db.pool, tenantId, Number(body.audience_file_id))).recipients.map(
            (r) => ({ to: r.phone, params: r.fields as Record<string, string | number> }),
          );
    if (body.params === undefined) return pasted;
    return pasted.map(({ vars, params, ...r }: NonNullable<BatchBody['recipients']>[number]) => ({
      ...r,
      params: { ...body.params, ...(params ?? vars) },
    }));
  };

  app.post<{ Body: BatchBody; Headers: { 'idempotency-key'?: string } }>(
    '/v1/batches',
    { schema: sendBatchSchema, preHandler: auth, config: { permission: 'messages.send' } },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const tenantId = request.tenantId;
      // Signatures, template and rules are read before the transaction: taking a second pool
      // connection while holding one exhausts the pool when many batches arrive at once.
      const composer = await composerFor(tenantId, request.body);
      const recipients = await batchRecipients(tenantId, request.body);
      // A batch is written in one transaction: the batch row and all its messages, or nothing.
      const run = async (client: PoolClient) =>
        sendBatch({
          tenantId,
          input: { ...request.body, recipients },
          settings,
          composer,
          insertBatch: (row) => insertBatchRow(client, row),
          insert: (rows: NewMessageRow[]) =>
            admitAndInsertMessages(client, ctx.admission, rows, {
              now: ctx.clock.now(),
              allOrNothing: request.body.all_or_nothing === true,
            }),
          recountBatch: (batchId, accepted, rejected) => recountBatch(client, batchId, accepted, rejected),
          now: ctx.clock.now(),
        }).then(async (batch) => ({ ...batch, review: await batchReview(client, batch.id, tenantId) }));
      if (key !== undefined) {
        const outcome = await withIdempotency({
          pool: ctx.db.pool,
          tenantId,
          key,
          hash: requestHash('POST /v1/batches', request.body),
          statusCode: 202,
          run,
        });
        if (!outcome.replayed) ctx.notifyQueued();
        reply.header('idempotent-replayed', String(outcome.replayed));
        return reply.status(outcome.statusCode).send(outcome.body);
      }
      const result = await withTransaction(ctx.db.pool, run);
      ctx.notifyQueued();
      return reply.status(202).send(result);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/messages/:id',
    {
      schema: {
        tags: ['messages'],
        summary: 'One message with its state history',
        params: idParam,
        response: { 200: messageView, ...errorResponses },
      },
      preHandler: auth,
      config: { permission: 'messages.read' },
    },
    async (request) => {
      const view = await getMessage({
        tenantId: request.tenantId,
        id: Number(request.params.id),
        repository: ctx.messages,
      });
      return request.seesFullNumbers ? view : maskRecipient(view);
    },
  );

  app.get<{ Querystring: Parameters<typeof listMessages>[0]['query'] }>(
    '/v1/messages',
    { schema: listMessagesSchema, preHandler: auth, config: { permission: 'messages.read' } },
    async (request) => {
      const page = await listMessages({
        tenantId: request.tenantId,
        query: request.query,
        settings,
        repository: ctx.messages,
      });
      return request.seesFullNumbers ? page : { ...page, data: page.data.map(maskRecipient) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/messages/:id/cancel',
    {
      schema: {
        tags: ['messages'],
        summary: 'Cancel a scheduled message that has not started',
        params: idParam,
        response: { 200: messageView, ...errorResponses },
      },
      preHandler: auth,
      config: { permission: 'messages.send' },
    },
    async (request) =>
      cancelMessage({
        tenantId: request.tenantId,
        id: Number(request.params.id),
        repository: ctx.messages,
        now: ctx.clock.now(),
      }),
  );

  // Before sending: whether this tenant's marketing batches wait for a review, and by when one sent
  // now is expected to be reviewed (the marketing desk's hours and holidays, compliance settings).
  app.get(
    '/v1/batches/review-forecast',
    {
      schema: {
        tags: ['batches'],
        summary:
          "Whether a marketing batch sent now waits for the operator's review, and by when it is expected to be reviewed",
        response: { 200: reviewForecastView, ...errorResponses },
      },
      preHandler: auth,
      config: { permission: 'messages.read' },
    },
    async (request) => {
      const now = ctx.clock.now();
      const protection = (await readSettings(ctx.db.pool, [request.tenantId])).get(request.tenantId)!;
      const settings = await readComplianceSettings(ctx.db.pool);
      const desk = settings.review.marketing;
      return {
        review: protection.marketing_review,
        expected_by: protection.marketing_review
          ? reviewDueFor(settings, 'marketing', now).toISOString()
          : null,
        hours: {
          time_zone: settings.review.time_zone,
          days: desk.days,
          open: desk.open,
          close: desk.close,
          intake_until: desk.intake_until,
        },
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/batches/:id',
    {
      schema: {
        tags: ['batches'],
        summary: 'A batch with its messages counted by state',
        params: idParam,
        response: { 200: batchView, ...errorResponses },
      },
      preHandler: auth,
      config: { permission: 'messages.read' },
    },
    async (request) => {
      const batch = await getBatch({
        tenantId: request.tenantId,
        id: Number(request.params.id),
        repository: ctx.messages,
      });
      return { ...batch, review: await batchReview(ctx.db.pool, batch.id, request.tenantId) };
    },
  );

  // A scheduled send's new time, while it is at least an hour away (compliance/protection).
  app.patch<{ Params: { id: string }; Body: { send_at: string } }>(
    '/v1/messages/:id',
    {
      schema: {
        tags: ['messages'],
        summary: 'Give a scheduled message a new send_at (only while its time is at least one hour away)',
        params: idParam,
        body: rescheduleBody,
        response: { 200: messageView, ...errorResponses },
      },
      preHandler: auth,
      config: { permission: 'messages.send' },
    },
    async (request) => {
      const target = { tenantId: request.tenantId, id: Number(request.params.id) };
      await rescheduleMessage({
        pool: ctx.db.pool,
        ...target,
        sendAt: request.body.send_at,
        now: ctx.clock.now(),
      });
      const view = await getMessage({ ...target, repository: ctx.messages });
      return request.seesFullNumbers ? view : maskRecipient(view);
    },
  );

  app.patch<{ Params: { id: string }; Body: { send_at: string } }>(
    '/v1/batches/:id',
    {
      schema: {
        tags: ['batches'],
        summary:
          'Give a scheduled batch and its waiting messages a new send_at (only while it is at least one hour away)',
        params: idParam,
        body: rescheduleBody,
        response: { 200: batchView, ...errorResponses },
      },
      preHandler: auth,
      config: { permission: 'messages.send' },
    },
    async (request) => {
      const target = { tenantId: request.tenantId, id: Number(request.params.id) };
      await rescheduleBatch({
        pool: ctx.db.pool,
        ...target,
        sendAt: request.body.send_at,
        now: ctx.clock.now(),
      });
      const batch = await getBatch({ ...target, repository: ctx.messages });
      return { ...batch, review: await batchReview(ctx.db.pool, batch.id, request.tenantId) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/batches/:id/cancel',
    {
      schema: {
        tags: ['batches'],
        summary: "Cancel a scheduled batch's messages that have not started",
        params: idParam,
        response: { 200: batchView, ...errorResponses },
      },
      preHandler: auth,
      config: { permission: 'messages.send' },
    },
    async (request) =>
      cancelBatch({
        tenantId: request.tenantId,
        id: Number(request.params.id),
        repository: ctx.messages,
        now: ctx.clock.now(),
      }),
  );
}

/** A message as a role without `messages.read_full_numbers` sees it. */
function maskRecipient<T extends { to: string }>(view: T): T {
  return { ...view, to: maskPhone(view.to) };
}
