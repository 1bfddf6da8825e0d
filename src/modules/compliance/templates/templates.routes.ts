// Templates (模板): the tenant submits (the rules engine's findings are stored with it), edits a
// rejected one, deletes; the operator's queue approves or rejects with a reason (review.routes.ts,
// shared with signatures), and the operator decides which tenants may send free text instead of
// templates.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../app/context.ts';
import { errorResponses, idParam } from '../../../http/schemas.ts';
import { tenantNotFound } from '../../accounts/accounts.errors.ts';
import { registerReviewRoutes, reviewQueueItemSchema } from '../review.routes.ts';
import { readComplianceSettings } from '../settings/settings.sql.ts';
import { templateRules } from './rules-adapter.ts';
import { templateNotFound } from './templates.errors.ts';
import { TEMPLATE_TYPES, VARIABLE_KINDS } from './templates.models.ts';
import { deleteTemplate, findTemplate, listAllTemplates, listTemplates } from './templates.repository.ts';
import {
  resubmit,
  reviewTemplate,
  submitTemplate,
  type TemplateInput,
  templateQueueItemView,
  templateView,
} from './templates.usecases.ts';

const nullableString = { type: ['string', 'null'] } as const;
const variable = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' },
    kind: { type: 'string', enum: VARIABLE_KINDS },
    max_length: { type: 'integer', minimum: 1, maximum: 200 },
  },
} as const;
const view = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    type: { type: 'string', enum: TEMPLATE_TYPES },
    content: { type: 'string' },
    variables: { type: 'array', items: variable },
    allow_urls: { type: 'boolean' },
    allow_phones: { type: 'boolean' },
    status: { type: 'string', enum: ['pending', 'approved', 'rejected'] },
    reason: nullableString,
    findings: { type: 'array', items: { type: 'object', additionalProperties: true } },
    submitted_at: { type: 'string' },
    reviewed_at: nullableString,
    decision_expected_by: {
      ...nullableString,
      description: 'Pending: when a decision is due, in the review desk’s working hours.',
    },
    created_at: { type: 'string' },
  },
} as const;
const queueItem = reviewQueueItemSchema(view);
const fields = {
  name: { type: 'string', minLength: 1, maxLength: 100 },
  type: { type: 'string', enum: TEMPLATE_TYPES },
  content: {
    type: 'string',
    minLength: 1,
    maxLength: 1000,
    description: 'Text with {name} variables, no signature.',
  },
  variables: { type: 'array', maxItems: 32, items: variable },
  allow_urls: { type: 'boolean', default: false },
  allow_phones: { type: 'boolean', default: false },
} as const;

export async function registerTemplateRoutes(app: FastifyInstance, ctx: AppContext) {
  const db = ctx.db.pool;
  const evaluate = () => templateRules(ctx.rules);

  app.get(
    '/v1/templates',
    {
      config: { permission: 'templates.read' },
      schema: {
        tags: ['templates'],
        summary: "The tenant's templates with their status, reason and findings",
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: view } } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const now = ctx.clock.now();
      const settings = await readComplianceSettings(db);
      return { data: (await listTemplates(db, request.tenantId)).map((r) => templateView(r, now, settings)) };
    },
  );

  app.post<{ Body: TemplateInput }>(
    '/v1/templates',
    {
      config: { permission: 'templates.manage' },
      schema: {
        tags: ['templates'],
        summary:
          'Submit a template: checked by the rules engine (a blocking finding rejects it), then reviewed',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'type', 'content'],
          properties: fields,
        },
        response: { 201: view, ...errorResponses },
      },
    },
    async (request, reply) => {
      const created = await submitTemplate({
        db,
        tenantId: request.tenantId,
        input: request.body,
        now: ctx.clock.now(),
        evaluate: await evaluate(),
      });
      return reply.status(201).send(created);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/templates/:id',
    {
      config: { permission: 'templates.read' },
      schema: {
        tags: ['templates'],
        summary: 'One template',
        params: idParam,
        response: { 200: view, ...errorResponses },
      },
    },
    async (request) => {
      const row = await findTemplate(db, { tenantId: request.tenantId, id: Number(request.params.id) });
      if (row === null) throw templateNotFound();
      return templateView(row, ctx.clock.now(), await readComplianceSettings(db));
    },
  );

  app.patch<{ Params: { id: string }; Body: Partial<TemplateInput> }>(
    '/v1/templates/:id',
    {
      config: { permission: 'templates.manage' },
      schema: {
        tags: ['templates'],
        summary: 'Edit a rejected template and send it back to review',
        params: idParam,
        body: { type: 'object', additionalProperties: false, properties: fields },
        response: { 200: view, ...errorResponses },
      },
    },
    async (request) =>
      resubmit({
        db,
        tenantId: request.tenantId,
        id: Number(request.params.id),
        input: request.body,
        now: ctx.clock.now(),
        evaluate: await evaluate(),
      }),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/templates/:id',
    {
      config: { permission: 'templates.manage' },
      schema: {
        tags: ['templates'],
        summary: 'Delete a template: sends naming it are refused from this instant',
        params: idParam,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const deleted = await deleteTemplate(db, {
        tenantId: request.tenantId,
        id: Number(request.params.id),
        now: ctx.clock.now(),
      });
      if (!deleted) throw templateNotFound();
      return reply.status(204).send();
    },
  );

  registerReviewRoutes(app, ctx.clock, {
    kind: 'template',
    queueSummary: 'Templates awaiting review, oldest first, with their findings and age against the target',
    view,
    queueItem,
    listQueue: async (now) => {
      const rows = await listAllTemplates(db, { status: 'pending', limit: 500 });
      const settings = await readComplianceSettings(db);
      return rows.map((r) => templateQueueItemView(r, now, settings));
    },
    review: (decision) => reviewTemplate({ db, ...decision }),
  });

  app.put<{ Params: { id: string }; Body: { allowed: boolean } }>(
    '/v1/operator/tenants/:id/free-text',
    {
      config: { permission: 'operator.tenants.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Allow or forbid a tenant free text (content that is not an approved template)',
        params: idParam,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['allowed'],
          properties: { allowed: { type: 'boolean' } },
        },
        response: {
          200: {
            type: 'object',
            properties: { tenant_id: { type: 'string' }, free_text: { type: 'boolean' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const result = await db.query('update tenants set free_text = $2 where id = $1', [
        Number(request.params.id),
        request.body.allowed,
      ]);
      if (result.rowCount === 0) throw tenantNotFound();
      return { tenant_id: request.params.id, free_text: request.body.allowed };
    },
  );
}
