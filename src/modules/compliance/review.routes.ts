// The operator's review desk for one kind of submission (signatures, templates): the queue of
// pending items, oldest first, each with its age against the target, and approve or reject with a
// reason the tenant sees. The URLs, permission and request bodies are the same for every kind;
// each kind brings its view schemas, how its queue is read and its review use case.
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../app/context.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import type { ReviewDecision } from './review.models.ts';

export interface ReviewDesk {
  /** 'signature' or 'template': the routes are /v1/operator/<kind>s, /:id/approve, /:id/reject. */
  kind: 'signature' | 'template';
  /** The summary of the queue route in the API reference. */
  queueSummary: string;
  /** The schema of a reviewed item (approve and reject answer it). */
  view: object;
  /** The schema of a queue item (see reviewQueueItemSchema). */
  queueItem: object;
  /** The pending items as queue items, oldest first. */
  listQueue(now: Date): Promise<unknown[]>;
  /** Applies the decision and answers the reviewed item; throws the kind's not_found / not_pending. */
  review(decision: ReviewDecision): Promise<unknown>;
}

const reasonBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reason'],
  properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
} as const;

/**
 * A queue item: the kind's view, whose tenant it is, and its ageing (settings.models
 * reviewTimingFor). `ageMinutes` is the schema of age_minutes; a view that already has the field
 * keeps it in its place.
 */
export function reviewQueueItemSchema<P extends object>(
  view: { properties: P },
  ageMinutes: object = { type: 'integer' },
) {
  return {
    type: 'object',
    properties: {
      ...view.properties,
      tenant_id: { type: 'string' },
      tenant_name: { type: 'string' },
      age_minutes: ageMinutes,
      review_minutes: { type: 'integer', description: 'Working minutes waited since the desk took it in.' },
      target_review_minutes: { type: 'integer' },
      due_at: { type: 'string', description: 'When a decision is due, in working hours.' },
      overdue: { type: 'boolean' },
    },
  } as const;
}

export function registerReviewRoutes(app: FastifyInstance, clock: Clock, desk: ReviewDesk) {
  const { kind } = desk;
  app.get(
    `/v1/operator/${kind}s`,
    {
      config: { permission: 'operator.compliance.review' },
      schema: {
        tags: ['operator'],
        summary: desk.queueSummary,
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: desk.queueItem } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ data: await desk.listQueue(clock.now()) }),
  );

  for (const action of ['approve', 'reject'] as const) {
    app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
      `/v1/operator/${kind}s/:id/${action}`,
      {
        config: { permission: 'operator.compliance.review' },
        schema: {
          tags: ['operator'],
          summary:
            action === 'approve' ? `Approve a ${kind}` : `Reject a ${kind} with a reason the tenant sees`,
          params: idParam,
          ...(action === 'reject' ? { body: reasonBody } : {}),
          response: { 200: desk.view, ...errorResponses },
        },
      },
      async (request) =>
        desk.review({
          id: Number(request.params.id),
          approve: action === 'approve',
          reason: request.body?.reason ?? null,
          by: request.principal!.actor,
          now: clock.now(),
        }),
    );
  }
}
