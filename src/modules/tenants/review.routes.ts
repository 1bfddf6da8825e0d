// The operator's side of onboarding: the review queue, a tenant's documents, approve/reject with a
// reason, suspend/activate. Every decision is audited by changeTenantStatus.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import { createFileDocumentStore, type DocumentStore } from './document-store.ts';
import type { TenantAction } from './tenants.models.ts';
import { findTenant, listDocuments, listReviewQueue } from './tenants.repository.ts';
import { tenantNotFound } from '../accounts/accounts.errors.ts';
import { reviewTimingFor } from '../compliance/settings/settings.models.ts';
import { readComplianceSettings } from '../compliance/settings/settings.sql.ts';
import { documentParams, queueItemView, reasonBody, tenantProfileView } from './tenants.schemas.ts';
import { changeTenantStatus, readDocument } from './tenants.usecases.ts';

const DECISIONS: {
  action: TenantAction;
  permission: 'operator.reviews.decide' | 'operator.tenants.manage';
  reason: 'required' | 'optional' | 'none';
  summary: string;
}[] = [
  {
    action: 'approve',
    permission: 'operator.reviews.decide',
    reason: 'none',
    summary: 'Approve an application: the tenant may send',
  },
  {
    action: 'reject',
    permission: 'operator.reviews.decide',
    reason: 'required',
    summary: 'Reject an application with a reason the tenant sees',
  },
  {
    action: 'suspend',
    permission: 'operator.tenants.manage',
    reason: 'optional',
    summary: 'Suspend a tenant: sending and logins stop at once; queued messages are held',
  },
  {
    action: 'activate',
    permission: 'operator.tenants.manage',
    reason: 'none',
    summary: 'Reactivate a suspended tenant: held messages resume',
  },
];

export async function registerReviewRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  store: DocumentStore = createFileDocumentStore(ctx.config.dataDir),
) {
  const db = ctx.db.pool;

  app.get(
    '/v1/operator/reviews/tenants',
    {
      config: { permission: 'operator.reviews.read' },
      schema: {
        tags: ['operator'],
        summary: 'Applications awaiting review, oldest first, with their age and documents',
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: queueItemView } } },
          ...errorResponses,
        },
      },
    },
    async () => {
      const now = ctx.clock.now();
      const [queue, settings] = await Promise.all([
        listReviewQueue(db, now, 500),
        readComplianceSettings(db),
      ]);
      const docs = await listDocuments(
        db,
        queue.map((t) => t.id),
      );
      return {
        data: queue.map((t) => ({
          ...t,
          // Against the qualification desk's target (seed 000: 1–3 working days), as the other
          // review queues are against theirs.
          ...(t.submitted_at ? reviewTimingFor(settings, 'qualification', t.submitted_at, now) : {}),
          documents: docs.filter((d) => Number(d.tenant_id) === Number(t.id)),
        })),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/operator/tenants/:id/application',
    {
      config: { permission: 'operator.reviews.read' },
      schema: {
        tags: ['operator'],
        summary: "A tenant's profile, status (with its reason) and documents, whatever its status",
        params: idParam,
        response: { 200: tenantProfileView, ...errorResponses },
      },
    },
    async (request) => {
      const id = Number(request.params.id);
      const tenant = await findTenant(db, id);
      if (!tenant) throw tenantNotFound();
      return { ...tenant, documents: await listDocuments(db, [id]) };
    },
  );

  app.get<{ Params: { id: string; docId: string } }>(
    '/v1/operator/tenants/:id/documents/:docId',
    {
      config: { permission: 'operator.reviews.read' },
      schema: {
        tags: ['operator'],
        summary: "Download one of a tenant's qualification documents",
        params: documentParams,
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { doc, bytes } = await readDocument({
        db,
        store,
        tenantId: Number(request.params.id),
        documentId: Number(request.params.docId),
      });
      return reply.header('content-type', doc.content_type).send(bytes);
    },
  );

  for (const d of DECISIONS) {
    app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
      `/v1/operator/tenants/:id/${d.action}`,
      {
        config: { permission: d.permission },
        schema: {
          tags: ['operator'],
          summary: d.summary,
          params: idParam,
          ...(d.reason === 'none' ? {} : { body: reasonBody(d.reason === 'required') }),
          response: { 200: tenantProfileView, ...errorResponses },
        },
      },
      async (request) => {
        const tenantId = Number(request.params.id);
        const tenant = await changeTenantStatus({
          db,
          tenantId,
          action: d.action,
          reason: request.body?.reason ?? null,
          by: { actor: request.principal!.actor, ip: request.ip },
          now: ctx.clock.now(),
        });
        return { ...tenant, documents: await listDocuments(db, [tenantId]) };
      },
    );
  }
}
