// Replies (MO): what handsets sent back to the tenant's numbers, newest first.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponses } from '../../http/schemas.ts';
import { maskPhone } from '../../shared/phone-mask.ts';
import { invalidCursor } from '../messages/messages.errors.ts';
import { decodeCursor, encodeCursor } from '../messages/messages.models.ts';
import { listReplies } from './replies.repository.ts';

const replyView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    content: { type: 'string' },
    /** A reply the handset sent in several parts is shown once, reassembled. */
    parts: { type: 'integer' },
    /** Parts never arrived within the reassembly timeout: the content is what did. */
    incomplete: { type: 'boolean' },
    received_at: { type: 'string' },
  },
} as const;

export async function registerReplyRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get<{ Querystring: { cursor?: string; limit?: number } }>(
    '/v1/replies',
    {
      preHandler: requireTenant(ctx),
      config: { permission: 'replies.read' },
      schema: {
        tags: ['replies'],
        summary: 'Replies from handsets to this tenant (including TD/退订/STOP), newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cursor: { type: 'string', maxLength: 64 },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              data: { type: 'array', items: replyView },
              next_cursor: { type: ['string', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      let beforeId: number | undefined;
      if (request.query.cursor !== undefined) {
        const decoded = decodeCursor(request.query.cursor);
        if (decoded === null) throw invalidCursor();
        beforeId = decoded;
      }
      const rows = await listReplies(ctx.db.kysely, {
        scope: { tenantId: request.tenantId },
        beforeId,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return {
        data: page.map((r) => ({
          id: String(r.id),
          // The replier's number is personal; the tenant's own number (`to`) is not.
          from: request.seesFullNumbers ? r.sender : maskPhone(r.sender),
          to: r.destination,
          content: r.content,
          parts: r.parts,
          incomplete: r.incomplete,
          received_at: r.received_at.toISOString(),
        })),
        next_cursor: rows.length > limit && page.length > 0 ? encodeCursor(page.at(-1)!.id) : null,
      };
    },
  );
}
