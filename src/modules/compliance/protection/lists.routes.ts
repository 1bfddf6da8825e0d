// Recipient lists over HTTP: each tenant's opt-outs, blacklist and allowlist under
// /v1/compliance/…, the platform blacklist under /v1/operator/compliance/blacklist. Each list
// answers GET (pages by number), POST (one number), DELETE ?phone=, POST …/import (a CSV body,
// all lines or none) and GET …/export (CSV). Numbers are named in the query, not the path, so
// no route takes another tenant's resource id.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CountryCode } from 'libphonenumber-js';
import type { AppContext } from '../../../app/context.ts';
import { withTransaction } from '../../../db/pool.ts';
import { errorResponses } from '../../../http/schemas.ts';
import { maskPhone } from '../../../shared/phone-mask.ts';
import { csvField } from '../../messages/export.models.ts';
import { normalizePhone } from '../../messages/phone.models.ts';
import { audit } from '../../accounts/audit.ts';
import type { RoutePermission } from '../../accounts/permissions.models.ts';
import { importInvalid, importTooLarge, invalidListPhone, listEntryNotFound } from './protection.errors.ts';
import {
  LIST_REASONS,
  type ListKind,
  type ListReason,
  PLATFORM_BLACKLIST,
  readImportCsv,
  TENANT_LISTS,
} from './lists.models.ts';
import {
  addEntry,
  bulkAddEntries,
  type ListEntryRow,
  listEntries,
  recordOptIn,
  removeEntry,
} from './lists.sql.ts';

const IMPORT_BODY_LIMIT = 48 * 1024 * 1024;
const EXPORT_PAGE = 10_000;

const entryView = {
  type: 'object',
  properties: {
    phone: { type: 'string' },
    reason: { type: ['string', 'null'] },
    note: { type: ['string', 'null'] },
    source: { type: ['string', 'null'] },
    signature_id: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

// `phone` is checked by the handler, not required by the schema: validation runs before the
// permission check, and a caller without the permission must get 403 whatever it sent.
const phoneQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { phone: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

interface Permissions {
  read: RoutePermission;
  manage: RoutePermission;
  export: RoutePermission;
}

export async function registerListRoutes(app: FastifyInstance, ctx: AppContext) {
  for (const kind of TENANT_LISTS) {
    await registerList(app, ctx, kind, `/v1/compliance/${kind.name}`, {
      read: 'compliance.lists.read',
      manage: 'compliance.lists.manage',
      export: 'compliance.lists.export',
    });
  }
  await registerList(app, ctx, PLATFORM_BLACKLIST, '/v1/operator/compliance/blacklist', {
    read: 'operator.compliance.read',
    manage: 'operator.compliance.manage',
    export: 'operator.compliance.read',
  });
}

async function registerList(
  app: FastifyInstance,
  ctx: AppContext,
  kind: ListKind,
  base: string,
  permissions: Permissions,
) {
  const db = ctx.db.pool;
  const region = ctx.config.defaultRegion as CountryCode;
  const tenantOf = (request: FastifyRequest) => (kind.tenant ? request.tenantId : null);
  const toE164 = (phone: string) => {
    const p = normalizePhone(phone, region);
    if (!p.ok) throw invalidListPhone({ message: p.reason, details: { reason: p.code } });
    return p.e164;
  };
  const view = (request: FastifyRequest, row: ListEntryRow) => ({
    ...row,
    phone: kind.tenant && request.seesFullNumbers === false ? maskPhone(row.phone) : row.phone,
    signature_id: row.signature_id === null ? null : String(row.signature_id),
  });
  const tags = [kind.tenant ? 'compliance' : 'operator'];
  // Who put a number on a list or took it off, and when: a blacklist decides who gets messages.
  const record = (
    client: Parameters<typeof audit>[0],
    request: FastifyRequest,
    action: 'added' | 'removed' | 'imported',
    after: unknown,
  ) =>
    audit(
      client,
      {
        actor: request.principal!.actor,
        tenantId: tenantOf(request),
        action: `compliance.${kind.table}_${action}`,
        after,
        ip: request.ip,
      },
      ctx.clock.now(),
    );

  app.get<{ Querystring: { after?: string; phone?: string; limit?: number } }>(
    base,
    {
      config: { permission: permissions.read },
      schema: {
        tags,
        summary: `The ${kind.tenant ? "tenant's" : 'platform'} ${kind.name}, by number (after: the last number of the previous page)`,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'string', maxLength: 64 },
            phone: { type: 'string', maxLength: 64 },
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              data: { type: 'array', items: entryView },
              next_after: { type: ['string', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const phone = request.query.phone === undefined ? undefined : toE164(request.query.phone);
      const rows = await listEntries(db, kind, {
        tenantId: tenantOf(request),
        after: request.query.after,
        phone,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return {
        data: page.map((r) => view(request, r)),
        next_after: rows.length > limit ? page.at(-1)!.phone : null,
      };
    },
  );

  app.post<{ Body: { phone: string; reason?: ListReason; note?: string } }>(
    base,
    {
      config: { permission: permissions.manage },
      schema: {
        tags,
        summary: `Add a number to the ${kind.name}`,
        body: {
          type: 'object',
          required: ['phone'],
          additionalProperties: false,
          properties: {
            phone: { type: 'string', minLength: 1, maxLength: 64 },
            ...(kind.reason ? { reason: { type: 'string', enum: [...LIST_REASONS] } } : {}),
            ...(kind.table === 'opt_outs' ? {} : { note: { type: 'string', maxLength: 500 } }),
          },
        },
        response: { 201: entryView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const entry = {
        phone: toE164(request.body.phone),
        reason: request.body.reason ?? 'other',
        note: request.body.note ?? null,
      };
      const row = await withTransaction(db, async (client) => {
        const added = await addEntry(client, kind, {
          tenantId: tenantOf(request),
          entry,
          source: 'api',
          now: ctx.clock.now(),
        });
        await record(client, request, 'added', { phone: entry.phone, reason: added.reason });
        return added;
      });
      return reply.status(201).send(view(request, row));
    },
  );

  app.delete<{ Querystring: { phone?: string } }>(
    base,
    {
      config: { permission: permissions.manage },
      schema: {
        tags,
        summary: `Take a number off the ${kind.name}`,
        querystring: phoneQuery,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const phone = toE164(request.query.phone ?? '');
      const tenantId = tenantOf(request);
      await withTransaction(db, async (client) => {
        if (!(await removeEntry(client, kind, { tenantId, phone }))) throw listEntryNotFound();
        if (kind.table === 'opt_outs')
          await recordOptIn(client, { tenantId: tenantId!, phone, now: ctx.clock.now() });
        await record(client, request, 'removed', { phone });
      });
      return reply.status(204).send();
    },
  );

  // Its own scope: the CSV body parser and its size limit apply to the import route only.
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      ['text/csv', 'text/plain'],
      { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );
    scope.post<{ Body: string }>(
      `${base}/import`,
      {
        config: { permission: permissions.manage },
        bodyLimit: IMPORT_BODY_LIMIT,
        schema: {
          tags,
          summary: `Import numbers to the ${kind.name} from a CSV body (phone[,reason[,note]]): every line or none`,
          response: {
            200: {
              type: 'object',
              properties: {
                imported: { type: 'integer' },
                already_listed: { type: 'integer' },
                duplicates: { type: 'integer' },
              },
            },
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const text = typeof request.body === 'string' ? request.body : '';
        const read = readImportCsv(text, { defaultRegion: region, defaultReason: 'other' });
        if (!read.ok && read.tooLarge) throw importTooLarge();
        if (!read.ok) throw importInvalid({ details: { invalid: read.invalid, lines: read.lines } });
        const imported = await withTransaction(db, async (client) => {
          const n = await bulkAddEntries(client, kind, {
            tenantId: tenantOf(request),
            entries: read.entries,
            source: 'import',
            now: ctx.clock.now(),
          });
          await record(client, request, 'imported', { numbers: read.entries.length, new: n });
          return n;
        });
        return { imported, already_listed: read.entries.length - imported, duplicates: read.duplicates };
      },
    );
  });

  app.get(
    `${base}/export`,
    {
      config: { permission: permissions.export },
      schema: { tags, summary: `The whole ${kind.name} as CSV`, response: errorResponses },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request);
      const masked = kind.tenant && request.seesFullNumbers === false;
      async function* lines() {
        yield 'phone,reason,note,source,created_at\r\n';
        let after: string | undefined;
        for (;;) {
          const rows = await listEntries(db, kind, { tenantId, after, limit: EXPORT_PAGE });
          if (rows.length === 0) return;
          yield rows
            .map(
              (r) =>
                `${[
                  masked ? maskPhone(r.phone) : r.phone,
                  r.reason,
                  r.note,
                  r.source,
                  r.created_at.toISOString(),
                ]
                  .map((v, i) => csvField(v, { defuse: i !== 0 }))
                  .join(',')}\r\n`,
            )
            .join('');
          after = rows.at(-1)!.phone;
        }
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${kind.name}.csv"`)
        .send(Readable.from(lines()));
    },
  );
}
