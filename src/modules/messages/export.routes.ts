// GET /v1/messages/export: the tenant's messages as CSV, with the filters of GET /v1/messages,
// streamed page by page (bounded memory) and capped at `exportMaxRows` (HONGYAN_EXPORT_MAX_ROWS) per request. Exporting is its
// own permission (`messages.export`, owner and admin) because a file of full numbers leaves the
// product for good; each export is audited (messages.exported: the filters and the row count).
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponses } from '../../http/schemas.ts';
import { maskPhone } from '../../shared/phone-mask.ts';
import { audit } from '../accounts/audit.ts';
import { csvHeader, csvRow, EXPORT_PAGE_ROWS } from './export.models.ts';
import { listMessagesSchema } from './messages.schemas.ts';
import { listMessages } from './messages.usecases.ts';

type Filters = Omit<Parameters<typeof listMessages>[0]['query'], 'cursor' | 'limit'>;

const { cursor: _cursor, limit: _limit, ...filterProperties } = listMessagesSchema.querystring.properties;

export async function registerMessageExportRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = requireTenant(ctx);
  const maxRows = ctx.config.exportMaxRows;
  const settings = { maxParts: ctx.config.maxParts, defaultRegion: ctx.config.defaultRegion };

  app.get<{ Querystring: Filters }>(
    '/v1/messages/export',
    {
      preHandler: auth,
      config: { permission: 'messages.export' },
      schema: {
        tags: ['messages'],
        summary: `Export messages as CSV (the filters of GET /v1/messages, newest first, at most ${maxRows} rows; audited)`,
        querystring: { type: 'object', additionalProperties: false, properties: filterProperties },
        response: { 200: { type: 'string', description: 'text/csv' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const tenantId = request.tenantId;
      const filters = request.query;
      const full = request.seesFullNumbers === true;
      // The first page is read before answering, so a bad filter is a JSON error, not a broken CSV.
      let page = await listMessages({
        tenantId,
        query: { ...filters, limit: Math.min(EXPORT_PAGE_ROWS, maxRows) },
        settings,
        repository: ctx.messages,
      });
      const principal = request.principal;
      async function* lines() {
        let rows = 0;
        try {
          yield csvHeader();
          for (;;) {
            for (const v of page.data) {
              if (rows === maxRows) return;
              rows += 1;
              yield csvRow(full ? v : { ...v, to: maskPhone(v.to) });
            }
            if (page.next_cursor === null || rows === maxRows) return;
            page = await listMessages({
              tenantId,
              query: { ...filters, cursor: page.next_cursor, limit: Math.min(EXPORT_PAGE_ROWS, maxRows) },
              settings,
              repository: ctx.messages,
            });
          }
        } finally {
          await audit(
            ctx.db.pool,
            {
              actor: principal?.actor ?? 'anonymous',
              tenantId,
              action: 'messages.exported',
              after: { filters, rows, full_numbers: full, capped: rows === maxRows },
              ip: request.ip,
            },
            ctx.clock.now(),
          );
        }
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="messages.csv"')
        .send(Readable.from(lines()));
    },
  );
}
