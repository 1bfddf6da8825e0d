// Proof documents of a signature over HTTP: the tenant uploads the raw file (typed by content,
// size-limited like qualification documents), downloads it, and deletes a wrong one while the
// signature is not approved; the operator reviewing the signature downloads it too. Another tenant's signature or document answers 404.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../app/context.ts';
import { errorResponses } from '../../../http/schemas.ts';
import type { DocumentStore } from '../../tenants/document-store.ts';
import {
  deleteSignatureDocument,
  documentViewSchema,
  readSignatureDocument,
  uploadSignatureDocument,
} from './signature-documents.ts';

/** Raw bodies an upload may declare; what the file really is comes from its bytes. */
const UPLOAD_TYPES = ['application/pdf', 'image/jpeg', 'image/png', 'application/octet-stream'];

const idPattern = { type: 'string', pattern: '^[1-9][0-9]{0,15}$' } as const;
const signatureParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: idPattern },
} as const;
const documentParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'docId'],
  properties: { id: idPattern, docId: idPattern },
} as const;

export async function registerSignatureDocumentRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  store: DocumentStore,
) {
  const db = ctx.db.pool;

  // Its own scope: the raw-body parsers and their size limit apply to the upload route only.
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      UPLOAD_TYPES,
      { parseAs: 'buffer', bodyLimit: ctx.config.documentMaxBytes },
      (request, body, done) => {
        // A signed request's HMAC covers the bytes as sent.
        request.rawBody = body as Buffer;
        done(null, body);
      },
    );
    scope.post<{ Params: { id: string } }>(
      '/v1/signatures/:id/documents',
      {
        config: { permission: 'signatures.manage' },
        bodyLimit: ctx.config.documentMaxBytes,
        schema: {
          tags: ['signatures'],
          summary:
            'Add a proof document to a pending or rejected signature: the raw body, a PDF, JPEG or PNG (checked by content)',
          params: signatureParams,
          response: { 201: documentViewSchema, ...errorResponses },
        },
      },
      async (request, reply) => {
        const bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const doc = await uploadSignatureDocument({
          db,
          store,
          tenantId: request.tenantId,
          signatureId: Number(request.params.id),
          bytes,
          by: { actor: request.principal!.actor, ip: request.ip },
          now: ctx.clock.now(),
        });
        return reply.status(201).send(doc);
      },
    );
  });

  app.get<{ Params: { id: string; docId: string } }>(
    '/v1/signatures/:id/documents/:docId',
    {
      config: { permission: 'signatures.read' },
      schema: {
        tags: ['signatures'],
        summary: 'Download a proof document of one of the tenant’s signatures',
        params: documentParams,
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { doc, bytes } = await readSignatureDocument({
        db,
        store,
        tenantId: request.tenantId,
        signatureId: Number(request.params.id),
        documentId: Number(request.params.docId),
      });
      return reply.header('content-type', doc.content_type).send(bytes);
    },
  );

  app.delete<{ Params: { id: string; docId: string } }>(
    '/v1/signatures/:id/documents/:docId',
    {
      config: { permission: 'signatures.manage' },
      schema: {
        tags: ['signatures'],
        summary: 'Delete a proof document of a pending or rejected signature (audited)',
        params: documentParams,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await deleteSignatureDocument({
        db,
        store,
        tenantId: request.tenantId,
        signatureId: Number(request.params.id),
        documentId: Number(request.params.docId),
        by: { actor: request.principal!.actor, ip: request.ip },
        now: ctx.clock.now(),
      });
      return reply.status(204).send();
    },
  );

  app.get<{ Params: { id: string; docId: string } }>(
    '/v1/operator/signatures/:id/documents/:docId',
    {
      config: { permission: 'operator.compliance.review' },
      schema: {
        tags: ['operator'],
        summary: 'Download a proof document of a signature under review',
        params: documentParams,
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { doc, bytes } = await readSignatureDocument({
        db,
        store,
        tenantId: null,
        signatureId: Number(request.params.id),
        documentId: Number(request.params.docId),
      });
      return reply.header('content-type', doc.content_type).send(bytes);
    },
  );
}
