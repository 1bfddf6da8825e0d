// Signatures (签名): the tenant applies, edits a rejected one, adds proof documents, picks its
// default; the operator's review queue (each item's age, due time in working hours and overdue
// flag, under the compliance settings) approves or rejects (review.routes.ts, shared with templates).
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../app/context.ts';
import { errorResponses, idParam } from '../../../http/schemas.ts';
import { createFileDocumentStore, type DocumentStore } from '../../tenants/document-store.ts';
import { registerReviewRoutes, reviewQueueItemSchema } from '../review.routes.ts';
import { readComplianceSettings } from '../settings/settings.sql.ts';
import { documentView, documentViewSchema, listSignatureDocuments } from './signature-documents.ts';
import { registerSignatureDocumentRoutes } from './signature-documents.routes.ts';
import { signatureNotFound } from './signatures.errors.ts';
import { SIGNATURE_SOURCES, type SignatureSource } from './signatures.models.ts';
import {
  deleteSignature,
  findSignature,
  listPendingSignatures,
  listSignatures,
} from './signatures.repository.ts';
import {
  applyForSignature,
  chooseDefaultSignature,
  queueItemView,
  resubmit,
  reviewSignature,
  signatureView,
} from './signatures.usecases.ts';

const nullableString = { type: ['string', 'null'] } as const;
const view = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    source: { type: 'string', enum: SIGNATURE_SOURCES },
    source_detail: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'approved', 'rejected'] },
    reason: nullableString,
    extension_code: { type: 'string' },
    is_default: { type: 'boolean' },
    submitted_at: { type: 'string' },
    reviewed_at: nullableString,
    decision_expected_by: {
      ...nullableString,
      description:
        'Pending: when a decision is due, in the review desk’s working hours (GET /v1/operator/compliance/settings; by default 2 working hours, Monday–Friday 9:00–20:00 China time).',
    },
    age_minutes: { type: ['integer', 'null'] },
    documents: { type: 'array', items: documentViewSchema, description: 'Proof documents, oldest first.' },
    created_at: { type: 'string' },
  },
} as const;
const queueItem = reviewQueueItemSchema(view, {
  type: 'integer',
  description: 'Wall-clock minutes since submission.',
});
const fields = {
  name: { type: 'string', minLength: 1, maxLength: 64 },
  source: { type: 'string', enum: SIGNATURE_SOURCES },
  source_detail: {
    type: 'string',
    maxLength: 200,
    description: 'The company, trademark, app or site named.',
  },
} as const;

interface SignatureBody {
  name: string;
  source: SignatureSource;
  source_detail?: string;
}

export async function registerSignatureRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  store: DocumentStore = createFileDocumentStore(ctx.config.dataDir),
) {
  const db = ctx.db.pool;
  /** The view of one signature, its documents and the current settings read for it. */
  const viewOf = async (row: Parameters<typeof signatureView>[0]) =>
    signatureView(
      row,
      ctx.clock.now(),
      await readComplianceSettings(db),
      await listSignatureDocuments(db, [row.id]),
    );

  app.get(
    '/v1/signatures',
    {
      config: { permission: 'signatures.read' },
      schema: {
        tags: ['signatures'],
        summary: "The tenant's signatures, their status, reason and extension codes",
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: view } } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const now = ctx.clock.now();
      const rows = await listSignatures(db, request.tenantId);
      const settings = await readComplianceSettings(db);
      const documents = await listSignatureDocuments(
        db,
        rows.map((r) => r.id),
      );
      return { data: rows.map((r) => signatureView(r, now, settings, documents)) };
    },
  );

  app.post<{ Body: SignatureBody }>(
    '/v1/signatures',
    {
      config: { permission: 'signatures.manage' },
      schema: {
        tags: ['signatures'],
        summary: 'Apply for a signature: it waits for the operator’s review',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'source'],
          properties: fields,
        },
        response: { 201: view, ...errorResponses },
      },
    },
    async (request, reply) => {
      const created = await applyForSignature({
        db,
        tenantId: request.tenantId,
        input: request.body,
        now: ctx.clock.now(),
      });
      return reply.status(201).send(created);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/signatures/:id',
    {
      config: { permission: 'signatures.read' },
      schema: {
        tags: ['signatures'],
        summary: 'One signature',
        params: idParam,
        response: { 200: view, ...errorResponses },
      },
    },
    async (request) => {
      const row = await findSignature(db, { tenantId: request.tenantId, id: Number(request.params.id) });
      if (row === null) throw signatureNotFound();
      return viewOf(row);
    },
  );

  app.patch<{ Params: { id: string }; Body: Partial<SignatureBody> }>(
    '/v1/signatures/:id',
    {
      config: { permission: 'signatures.manage' },
      schema: {
        tags: ['signatures'],
        summary: 'Edit a rejected signature and send it back to review',
        params: idParam,
        body: { type: 'object', additionalProperties: false, properties: fields },
        response: { 200: view, ...errorResponses },
      },
    },
    async (request) => {
      const view = await resubmit({
        db,
        tenantId: request.tenantId,
        id: Number(request.params.id),
        input: request.body,
        now: ctx.clock.now(),
      });
      return { ...view, documents: (await listSignatureDocuments(db, [view.id])).map(documentView) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/signatures/:id/default',
    {
      config: { permission: 'signatures.manage' },
      schema: {
        tags: ['signatures'],
        summary: 'Make an approved signature the default: sends that name none get it',
        params: idParam,
        response: { 200: view, ...errorResponses },
      },
    },
    async (request) => {
      const row = await chooseDefaultSignature({
        pool: db,
        tenantId: request.tenantId,
        id: Number(request.params.id),
      });
      return viewOf(row);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/signatures/:id',
    {
      config: { permission: 'signatures.manage' },
      schema: {
        tags: ['signatures'],
        summary: 'Delete a signature: it cannot be used from now on',
        params: idParam,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const deleted = await deleteSignature(db, {
        tenantId: request.tenantId,
        id: Number(request.params.id),
        now: ctx.clock.now(),
      });
      if (!deleted) throw signatureNotFound();
      return reply.status(204).send();
    },
  );

  registerReviewRoutes(app, ctx.clock, {
    kind: 'signature',
    queueSummary: 'Signatures awaiting review, oldest first, with their age against the target',
    view,
    queueItem,
    listQueue: async (now) => {
      const rows = await listPendingSignatures(db, { limit: 500 });
      const settings = await readComplianceSettings(db);
      const documents = await listSignatureDocuments(
        db,
        rows.map((r) => r.id),
      );
      return rows.map((r) => queueItemView(r, now, settings, documents));
    },
    review: async (decision) => {
      const view = await reviewSignature({ db, ...decision });
      return { ...view, documents: (await listSignatureDocuments(db, [view.id])).map(documentView) };
    },
  });

  await registerSignatureDocumentRoutes(app, ctx, store);
}
