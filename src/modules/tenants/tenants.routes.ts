// The tenant's side of onboarding: self-registration (public), its profile and application status,
// qualification documents (raw PDF/JPEG/PNG bodies, typed by content), and resubmission.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { errorResponses } from '../../http/schemas.ts';
import { tenantNotFound } from '../accounts/accounts.errors.ts';
import { createFileDocumentStore, type DocumentStore } from './document-store.ts';
import { profileLocked, registrationLimited } from './tenants.errors.ts';
import { createWindowLimiter, type DocumentKind, isValidCreditCode } from './tenants.models.ts';
import { findTenant, listDocuments, type Profile, updateProfile } from './tenants.repository.ts';
import {
  documentQuery,
  documentView,
  ownDocumentParams,
  profilePatchBody,
  registerBody,
  tenantProfileView,
} from './tenants.schemas.ts';
import { changeTenantStatus, readDocument, registerTenant, uploadDocument } from './tenants.usecases.ts';
import { invalidCreditCode } from './tenants.errors.ts';

/** Raw bodies an upload may declare; what the file really is comes from its bytes. */
const UPLOAD_TYPES = ['application/pdf', 'image/jpeg', 'image/png', 'application/octet-stream'];

export async function registerTenantRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  store: DocumentStore = createFileDocumentStore(ctx.config.dataDir),
) {
  const db = ctx.db.pool;
  const takeRegistration = createWindowLimiter(ctx.config.registrationsPerAddressPerHour, 3_600_000);
  const by = (request: { principal?: { actor: string }; ip: string }) => ({
    actor: request.principal!.actor,
    ip: request.ip,
  });
  const profileOf = async (tenantId: number) => {
    const tenant = await findTenant(db, tenantId);
    if (!tenant) throw tenantNotFound();
    return { ...tenant, documents: await listDocuments(db, [tenantId]) };
  };

  app.post<{ Body: Profile & { email: string; password: string } }>(
    '/v1/auth/register',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['tenant'],
        summary: 'Register a company: a tenant awaiting review, and its owner who may log in at once',
        security: [],
        body: registerBody,
        response: {
          201: { type: 'object', properties: { tenant: tenantProfileView } },
          429: errorResponses[409],
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const wait = takeRegistration(request.ip, ctx.clock.now().getTime());
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw registrationLimited();
      }
      const { email, password, ...profile } = request.body;
      const { tenant } = await registerTenant({
        pool: db,
        profile,
        email,
        password,
        ip: request.ip,
        now: ctx.clock.now(),
      });
      return reply.status(201).send({ tenant: { ...tenant, documents: [] } });
    },
  );

  app.get(
    '/v1/tenant',
    {
      config: { permission: 'tenant.read' },
      schema: {
        tags: ['tenant'],
        summary: "The tenant's profile, application status (with the rejection reason) and documents",
        response: { 200: tenantProfileView, ...errorResponses },
      },
    },
    async (request) => profileOf(request.tenantId),
  );

  app.patch<{ Body: Partial<Profile> }>(
    '/v1/tenant',
    {
      config: { permission: 'tenant.manage' },
      schema: {
        tags: ['tenant'],
        summary: 'Fix the profile of an application in review or rejected',
        body: profilePatchBody,
        response: { 200: tenantProfileView, ...errorResponses },
      },
    },
    async (request) => {
      const code = request.body.credit_code;
      if (code !== undefined && !isValidCreditCode(code)) throw invalidCreditCode();
      const updated = await updateProfile(db, request.tenantId, request.body);
      if (!updated) throw profileLocked();
      return profileOf(request.tenantId);
    },
  );

  app.post(
    '/v1/tenant/resubmit',
    {
      config: { permission: 'tenant.manage' },
      schema: {
        tags: ['tenant'],
        summary: 'Send a rejected application back to review',
        response: { 200: tenantProfileView, ...errorResponses },
      },
    },
    async (request) => {
      await changeTenantStatus({
        db,
        tenantId: request.tenantId,
        action: 'resubmit',
        by: by(request),
        now: ctx.clock.now(),
      });
      return profileOf(request.tenantId);
    },
  );

  // Its own scope: the raw-body parsers and their size limit apply to the upload route only.
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      UPLOAD_TYPES,
      { parseAs: 'buffer', bodyLimit: ctx.config.documentMaxBytes },
      (_request, body, done) => done(null, body),
    );
    scope.post<{ Querystring: { kind: DocumentKind } }>(
      '/v1/tenant/documents',
      {
        config: { permission: 'tenant.manage' },
        bodyLimit: ctx.config.documentMaxBytes,
        schema: {
          tags: ['tenant'],
          summary: 'Upload a qualification document as the raw body (PDF, JPEG or PNG, checked by content)',
          querystring: documentQuery,
          response: { 201: documentView, ...errorResponses },
        },
      },
      async (request, reply) => {
        const bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const doc = await uploadDocument({
          db,
          store,
          tenantId: request.tenantId,
          kind: request.query.kind,
          bytes,
          by: by(request),
          now: ctx.clock.now(),
        });
        return reply.status(201).send(doc);
      },
    );
  });

  app.get<{ Params: { docId: string } }>(
    '/v1/tenant/documents/:docId',
    {
      config: { permission: 'tenant.read' },
      schema: {
        tags: ['tenant'],
        summary: 'Download one of the tenant’s documents',
        params: ownDocumentParams,
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { doc, bytes } = await readDocument({
        db,
        store,
        tenantId: request.tenantId,
        documentId: Number(request.params.docId),
      });
      return reply.header('content-type', doc.content_type).send(bytes);
    },
  );
}
