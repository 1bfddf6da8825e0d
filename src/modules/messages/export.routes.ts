// GET /v1/messages/export: the tenant's messages as CSV or XLSX (format=xlsx), with the filters of GET /v1/messages,
// streamed page by page (bounded memory) and capped at `exportMaxRows` (HONGYAN_EXPORT_MAX_ROWS) per request. Exporting is its
// own permission (`messages.export`, owner and admin) because a file of full numbers leaves the
// product for good; each export is audited (messages.exported: the filters and the row count).
import { PassThrough, Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponses } from '../../http/schemas.ts';
import { maskPhone } from '../../shared/phone-mask.ts';
import { audit } from '../accounts/audit.ts';
import { csvHeader, csvRow, EXPORT_COLUMNS, EXPORT_PAGE_ROWS, exportCells } from './export.models.ts';
import { listMessagesSchema } from './messages.schemas.ts';
import { listMessages } from './messages.usecases.ts';

type Filters = Omit<Parameters<typeof listMessages>[0]['query'], 'cursor' | 'limit'> & {
  format?: 'csv' | 'xlsx';
};

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
        summary: `Export messages as CSV or XLSX (the filters of GET /v1/messages, newest first, at most ${maxRows} rows; audited)`,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...filterProperties,
            format: { type: 'string', enum: ['csv', 'xlsx'], default: 'csv' },
          },
        },
        response: { 200: { type: 'string', description: 'text/csv or XLSX' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const tenantId = request.tenantId;
      const { format = 'csv', ...filters } = request.query;
      const full = request.seesFullNumbers === true;
      // The first page is read before answering, so a bad filter is a JSON error, not a broken file.
      let page = await listMessages({
        tenantId,
        query: { ...filters, limit: Math.min(EXPORT_PAGE_ROWS, maxRows) },
        settings,
        repository: ctx.messages,
      });
      const principal = request.principal;
      async function* views() {
        let rows = 0;
        try {
          for (;;) {
            for (const v of page.data) {
              if (rows === maxRows) return;
              rows += 1;
              yield full ? v : { ...v, to: maskPhone(v.to) };
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
              after: { filters, format, rows, full_numbers: full, capped: rows === maxRows },
              ip: request.ip,
            },
            ctx.clock.now(),
          );
        }
      }
      if (format === 'xlsx') {
        // exceljs's streaming writer zips rows as they are committed: memory stays bounded.
        const out = new PassThrough();
        const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
          stream: out,
          useStyles: false,
          useSharedStrings: false,
        });
        const sheet = workbook.addWorksheet('messages');
        void (async () => {
          try {
            sheet.addRow([...EXPORT_COLUMNS]).commit();
            for await (const v of views()) sheet.addRow(exportCells(v)).commit();
            sheet.commit();
            await workbook.commit();
          } catch (error) {
            request.log.error({ err: error }, 'messages export failed');
            out.destroy(error as Error);
          }
        })();
        return reply
          .header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
          .header('content-disposition', 'attachment; filename="messages.xlsx"')
          .send(out);
      }
      async function* lines() {
        yield csvHeader();
        for await (const v of views()) yield csvRow(v);
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="messages.csv"')
        .send(Readable.from(lines()));
    },
  );
}
