// /v1/campaigns/audience-files: upload a CSV or XLSX as a campaign's audience (the step before
// POST /v1/campaigns with `audience.file_id`), read it back, download its refused rows.
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { isTruncatedMultipart, TRUNCATED_MULTIPART_MESSAGE } from '../../http/multipart.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import type { UploadPart } from '../contacts/imports.usecases.ts';
import {
  audienceFileErrorsCsv,
  MAX_FILE_BYTES,
  readAudienceFile,
  receiveAudienceFile,
} from './audience-files.ts';
import { invalidAudienceFile } from './campaigns.errors.ts';

const fileView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    file_name: { type: 'string' },
    format: { type: 'string', enum: ['csv', 'xlsx'] },
    variables: {
      type: 'array',
      items: { type: 'string' },
      description: "The columns read as template variables (each recipient's value of them).",
    },
    rows_read: { type: 'integer', description: 'Data rows read (the header row is not counted).' },
    recipients: { type: 'integer', description: 'Rows kept: a valid mobile number, first time seen.' },
    invalid: { type: 'integer', description: 'Rows without a valid mobile number.' },
    duplicates: { type: 'integer', description: 'Rows whose number appeared on an earlier row.' },
    errors: {
      type: 'array',
      description: 'The first 100 refused rows; all of them (up to 10,000) at …/errors as CSV.',
      items: {
        type: 'object',
        properties: {
          row: { type: 'integer' },
          value: { type: 'string' },
          reason: { type: 'string' },
          first_row: { type: 'integer' },
        },
      },
    },
    created_at: { type: 'string' },
  },
} as const;

export async function registerAudienceFileRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = requireTenant(ctx);
  const pool = ctx.db.pool;
  const tags = ['campaigns'];

  await app.register(async (scope) => {
    await scope.register(multipart, {
      limits: { fileSize: MAX_FILE_BYTES, files: 1, fields: 5, fieldSize: 64 * 1024, parts: 7 },
    });
    scope.post(
      '/v1/campaigns/audience-files',
      {
        preHandler: auth,
        config: { permission: 'messages.send' },
        bodyLimit: MAX_FILE_BYTES + 1024 * 1024,
        schema: {
          tags,
          summary:
            "Upload a campaign's audience: a CSV (UTF-8 or GBK) or XLSX file (multipart: file, mapping JSON { phone, name, fields, has_header }, encoding); other columns become template variables. Answers the recipients kept and the refused rows; name it in POST /v1/campaigns as audience.file_id",
          consumes: ['multipart/form-data'],
          response: { 201: fileView, ...errorResponses },
        },
      },
      async (request, reply) => {
        if (!request.isMultipart())
          throw invalidAudienceFile({ message: 'send a multipart/form-data body with the file' });
        const file = await receiveAudienceFile({
          pool,
          tenantId: request.tenantId,
          parts: request.parts() as AsyncIterable<UploadPart>,
          region: ctx.config.defaultRegion,
          now: ctx.clock.now(),
        }).catch((error: unknown) => {
          if (isTruncatedMultipart(error))
            throw invalidAudienceFile({ message: TRUNCATED_MULTIPART_MESSAGE, cause: error });
          throw error;
        });
        return reply.status(201).send(file);
      },
    );
  });

  app.get<{ Params: { id: string } }>(
    '/v1/campaigns/audience-files/:id',
    {
      preHandler: auth,
      config: { permission: 'messages.read' },
      schema: {
        tags,
        summary: 'An uploaded audience file: its variables, counts and first refused rows',
        params: idParam,
        response: { 200: fileView, ...errorResponses },
      },
    },
    async (request) => readAudienceFile(pool, request.tenantId, Number(request.params.id)),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/campaigns/audience-files/:id/errors',
    {
      preHandler: auth,
      config: { permission: 'messages.read' },
      schema: {
        tags,
        summary:
          "An audience file's refused rows as CSV: row, value, reason (invalid number or duplicate), first_row",
        params: idParam,
      },
    },
    async (request, reply) =>
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="audience-${request.params.id}-errors.csv"`)
        .send(await audienceFileErrorsCsv(pool, request.tenantId, Number(request.params.id))),
  );
}
