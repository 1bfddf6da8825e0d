// /v1/contacts/imports: upload a CSV or XLSX (multipart) and get a job id at once; read the job's
// progress; download its error file; download a template to fill in (seed 002: 下载模板,在模板中
// 填入手机号). The rows themselves are read by the import worker (imports.worker.ts) on any node.
import { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { isTruncatedMultipart, TRUNCATED_MULTIPART_MESSAGE } from '../../http/multipart.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import { maskPhone } from '../../shared/phone-mask.ts';
import { importNotFound, invalidImport } from './contacts.errors.ts';
import { csvCell } from './contacts.export.ts';
import { getImport, listErrors, listImports } from './imports.sql.ts';
import { readImport, receiveImport, toImportView, type UploadPart } from './imports.usecases.ts';

const TEMPLATE_HEADER = ['手机号', '姓名', '标签'];
const importView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    state: { type: 'string', enum: ['running', 'completed', 'failed'] },
    file_name: { type: 'string' },
    format: { type: 'string', enum: ['csv', 'xlsx'] },
    group_id: { type: ['string', 'null'] },
    rows_read: {
      type: 'integer',
      description: 'Data rows read and committed (the header row is not counted).',
    },
    accepted: { type: 'integer', description: 'Rows whose contact was created or updated.' },
    invalid: { type: 'integer', description: 'Rows without a valid mobile number.' },
    duplicates: { type: 'integer', description: 'Rows whose number appeared earlier in the file.' },
    percent: { type: 'integer', description: 'Share of the file read, 100 once completed.' },
    failure_reason: { type: ['string', 'null'] },
    created_at: { type: 'string' },
    started_at: { type: ['string', 'null'] },
    finished_at: { type: ['string', 'null'] },
  },
} as const;

export async function registerContactImportRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = requireTenant(ctx);
  const pool = ctx.db.pool;
  const read = { preHandler: auth, config: { permission: 'contacts.read' as const } };
  const manage = { preHandler: auth, config: { permission: 'contacts.manage' as const } };
  const tags = ['contacts'];
  const maxBytes = ctx.config.contactsImportMaxBytes;

  await app.register(async (scope) => {
    await scope.register(multipart, {
      limits: { fileSize: maxBytes, files: 1, fields: 10, fieldSize: 64 * 1024, parts: 12 },
    });
    scope.post(
      '/v1/contacts/imports',
      {
        ...manage,
        bodyLimit: maxBytes + 1024 * 1024,
        schema: {
          tags,
          summary:
            'Import contacts from a CSV (UTF-8 with or without BOM, or GBK) or XLSX file (multipart: file, mapping JSON, group_id, encoding); answers the job at once (202)',
          consumes: ['multipart/form-data'],
          response: { 202: importView, ...errorResponses },
        },
      },
      async (request, reply) => {
        if (!request.isMultipart())
          throw invalidImport({ message: 'send a multipart/form-data body with the file' });
        const view = await receiveImport({
          pool,
          tenantId: request.tenantId,
          parts: request.parts() as AsyncIterable<UploadPart>,
          now: ctx.clock.now(),
        }).catch((error: unknown) => {
          if (isTruncatedMultipart(error))
            throw invalidImport({ message: TRUNCATED_MULTIPART_MESSAGE, cause: error });
          throw error;
        });
        return reply.status(202).send(view);
      },
    );
  });

  app.get<{ Querystring: { format?: 'csv' | 'xlsx' } }>(
    '/v1/contacts/imports/template',
    {
      ...read,
      schema: {
        tags,
        summary:
          'A template to fill in: 手机号 (required), 姓名, 标签; any further column becomes a custom field',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { type: 'string', enum: ['csv', 'xlsx'], default: 'csv' } },
        },
        response: { 200: { type: 'string' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      if (request.query.format === 'xlsx') {
        const workbook = new ExcelJS.Workbook();
        const sheet = workbook.addWorksheet('contacts');
        sheet.addRow(TEMPLATE_HEADER);
        // The phone column as text, so that Excel keeps 13800138000 whole and leading zeros.
        sheet.getColumn(1).numFmt = '@';
        sheet.getColumn(1).width = 16;
        return reply
          .header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
          .header('content-disposition', 'attachment; filename="contacts-template.xlsx"')
          .send(Buffer.from(await workbook.xlsx.writeBuffer()));
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="contacts-template.csv"')
        .send(`\uFEFF${TEMPLATE_HEADER.join(',')}\r\n`);
    },
  );

  app.get(
    '/v1/contacts/imports',
    {
      ...read,
      schema: {
        tags,
        summary: 'The latest 100 imports, newest first',
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: importView } } },
          ...errorResponses,
        },
      },
    },
    async (request) => ({ data: (await listImports(pool, request.tenantId, 100)).map(toImportView) }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/contacts/imports/:id',
    {
      ...read,
      schema: {
        tags,
        summary:
          'An import: state (running, completed, failed), rows_read, accepted, invalid, duplicates, percent',
        params: idParam,
        response: { 200: importView, ...errorResponses },
      },
    },
    async (request) => readImport(pool, request.tenantId, Number(request.params.id)),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/contacts/imports/:id/errors',
    {
      ...read,
      schema: {
        tags,
        summary:
          'The rows an import refused, as CSV: row (the spreadsheet row, header = 1), phone, reason, detail',
        params: idParam,
        response: { 200: { type: 'string', description: 'text/csv' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const job = await getImport(pool, request.tenantId, Number(request.params.id));
      if (!job) throw importNotFound();
      // A role that reads masked numbers elsewhere (a viewer) reads them masked here too.
      const phoneOf = (raw: string) => (request.seesFullNumbers === false && raw ? maskPhone(raw) : raw);
      async function* lines() {
        yield '\uFEFFrow,phone,reason,detail\r\n';
        let afterRow = 0;
        for (;;) {
          const rows = await listErrors(pool, job!.id, { afterRow, limit: 5_000 });
          if (rows.length === 0) return;
          yield rows
            .map(
              (r) =>
                `${[String(r.row_number), phoneOf(r.raw_phone), r.reason, r.detail].map(csvCell).join(',')}\r\n`,
            )
            .join('');
          afterRow = rows[rows.length - 1]!.row_number;
        }
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${job.id}-errors.csv"`)
        .send(Readable.from(lines()));
    },
  );
}
