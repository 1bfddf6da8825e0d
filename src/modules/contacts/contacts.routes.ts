// /v1/contacts: a tenant's contacts (CRUD, search, bulk upsert by phone, export). Opted-out and
// blacklisted contacts are listed like the others, marked (opted_out, blacklisted).
import type { FastifyInstance } from 'fastify';
import type { CountryCode } from 'libphonenumber-js/max';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import { maskPhone } from '../../shared/phone-mask.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import { exportContactsCsv, exportContactsXlsx } from './contacts.export.ts';
import { MAX_FIELD_KEY, MAX_TAG, segmentFilterSql } from './contacts.models.ts';
import { assertGroupsOwned, loadSegmentFilters } from './contacts.repository.ts';
import { type ContactQuery, listContacts } from './contacts.sql.ts';
import {
  BULK_MAX,
  type ContactBody,
  type ContactDeps,
  bulkUpsertContacts,
  changeContact,
  createContact,
  readContact,
  removeContact,
  toContactView,
} from './contacts.usecases.ts';

const idString = { type: 'string', pattern: '^[1-9][0-9]{0,15}$' } as const;
const fieldsSchema = {
  type: 'object',
  additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
} as const;
const tagsSchema = { type: 'array', items: { type: 'string' } } as const;
export const contactView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    phone: { type: 'string' },
    name: { type: 'string' },
    fields: { type: 'object', additionalProperties: { type: 'string' } },
    tags: { type: 'array', items: { type: 'string' } },
    opted_out: {
      type: 'boolean',
      description: 'The number opted out of this tenant (TD/退订): never sent marketing.',
    },
    blacklisted: { type: 'boolean', description: "On the tenant's or the platform's blacklist." },
    last_engaged_at: { type: ['string', 'null'], description: 'Last delivery, click or reply.' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

export interface ListQuery {
  phone?: string;
  tag?: string;
  field?: string;
  value?: string;
  group_id?: string;
  segment_id?: string;
  after?: string;
  limit?: number;
}

export const listFilterProperties = {
  phone: {
    type: 'string',
    minLength: 1,
    maxLength: 32,
    description: 'A full number (any format) or digits within it.',
  },
  tag: { type: 'string', minLength: 1, maxLength: MAX_TAG },
  field: {
    type: 'string',
    minLength: 1,
    maxLength: MAX_FIELD_KEY,
    description: 'Has this field (with `value`: equal to it).',
  },
  value: { type: 'string', maxLength: 1000 },
  group_id: idString,
  segment_id: idString,
} as const;

/** The list and export filters of a request as a query on contacts, its group or segment checked. */
export async function contactQueryOf(
  ctx: AppContext,
  tenantId: number,
  q: Omit<ListQuery, 'after' | 'limit'>,
): Promise<Omit<ContactQuery, 'limit' | 'afterId'>> {
  const query: Omit<ContactQuery, 'limit' | 'afterId'> = {};
  if (q.phone !== undefined) {
    const n = normalizePhone(q.phone, ctx.config.defaultRegion as CountryCode);
    if (n.ok) query.phoneExact = n.e164;
    else query.phoneDigits = q.phone.replace(/\D/g, '') || q.phone;
  }
  if (q.tag !== undefined) query.tag = q.tag;
  if (q.field !== undefined) {
    query.fieldKey = q.field;
    if (q.value !== undefined) query.fieldValue = q.value;
  }
  if (q.group_id !== undefined) {
    await assertGroupsOwned(ctx.db.pool, tenantId, [Number(q.group_id)]);
    query.groupId = Number(q.group_id);
  }
  if (q.segment_id !== undefined) {
    const [filter] = await loadSegmentFilters(ctx.db.pool, tenantId, [Number(q.segment_id)]);
    const params: unknown[] = [tenantId];
    const predicate = segmentFilterSql(filter!, params, ctx.clock.now());
    query.segmentSql = { predicate, params: params.slice(1) };
  }
  return query;
}

export async function registerContactRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = requireTenant(ctx);
  const deps: ContactDeps = {
    pool: ctx.db.pool,
    now: () => ctx.clock.now(),
    defaultRegion: ctx.config.defaultRegion as CountryCode,
  };
  const read = { preHandler: auth, config: { permission: 'contacts.read' as const } };
  const manage = { preHandler: auth, config: { permission: 'contacts.manage' as const } };
  const tags = ['contacts'];

  app.get<{ Querystring: ListQuery }>(
    '/v1/contacts',
    {
      ...read,
      schema: {
        tags,
        summary:
          'Contacts in id order, a page at a time (`after` = the last id seen), filtered by phone, tag, field, group or segment',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...listFilterProperties,
            after: idString,
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              data: { type: 'array', items: contactView },
              next_after: { type: ['string', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { after, limit = 50, ...filters } = request.query;
      const query = await contactQueryOf(ctx, request.tenantId, filters);
      const rows = await listContacts(ctx.db.pool, request.tenantId, {
        ...query,
        ...(after === undefined ? {} : { afterId: Number(after) }),
        limit,
      });
      const views = rows.map(toContactView);
      return {
        data: request.seesFullNumbers === false ? views.map(maskContact) : views,
        next_after: rows.length === limit ? String(rows[rows.length - 1]!.id) : null,
      };
    },
  );

  app.post<{ Body: ContactBody & { group_ids?: string[] } }>(
    '/v1/contacts',
    {
      ...manage,
      bodyLimit: 256 * 1024,
      schema: {
        tags,
        summary: 'Create a contact (phone in any format; stored as E.164); 409 when the phone is taken',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['phone'],
          properties: {
            phone: { type: 'string', maxLength: 64 },
            name: { type: 'string' },
            fields: fieldsSchema,
            tags: tagsSchema,
            group_ids: { type: 'array', items: idString, maxItems: 100 },
          },
        },
        response: { 201: contactView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { group_ids: groupIds = [], ...body } = request.body;
      const view = await createContact({
        tenantId: request.tenantId,
        body,
        groupIds: groupIds.map(Number),
        deps,
      });
      return reply.status(201).send(view);
    },
  );

  app.post<{
    Body: { contacts: Partial<ContactBody>[]; group_id?: string; fields_mode?: 'merge' | 'replace' };
  }>(
    '/v1/contacts/bulk',
    {
      ...manage,
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        tags,
        summary: `Upsert up to ${BULK_MAX} contacts by phone; each row answered: created, updated, invalid or duplicate`,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['contacts'],
          properties: {
            contacts: { type: 'array', minItems: 1, items: { type: 'object' } },
            group_id: {
              ...idString,
              description: 'Also add every created or updated contact to this group.',
            },
            fields_mode: { type: 'string', enum: ['merge', 'replace'], default: 'merge' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              created: { type: 'integer' },
              updated: { type: 'integer' },
              invalid: { type: 'integer' },
              duplicates: { type: 'integer' },
              results: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    index: { type: 'integer' },
                    status: { type: 'string', enum: ['created', 'updated', 'invalid', 'duplicate'] },
                    id: { type: 'string' },
                    phone: { type: ['string', 'null'] },
                    error: {
                      type: 'object',
                      properties: { code: { type: 'string' }, message: { type: 'string' } },
                    },
                  },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) =>
      bulkUpsertContacts({
        tenantId: request.tenantId,
        rows: request.body.contacts,
        ...(request.body.group_id === undefined ? {} : { groupId: Number(request.body.group_id) }),
        replaceFields: request.body.fields_mode === 'replace',
        deps,
      }),
  );

  app.get<{ Querystring: Omit<ListQuery, 'after' | 'limit'> & { format?: 'csv' | 'xlsx' } }>(
    '/v1/contacts/export',
    {
      preHandler: auth,
      config: { permission: 'contacts.export' },
      schema: {
        tags,
        summary: 'Export contacts (the filters of GET /v1/contacts) as CSV or XLSX, streamed',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...listFilterProperties,
            format: { type: 'string', enum: ['csv', 'xlsx'], default: 'csv' },
          },
        },
        response: { 200: { type: 'string', description: 'text/csv or XLSX' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { format = 'csv', ...filters } = request.query;
      const query = await contactQueryOf(ctx, request.tenantId, filters);
      if (format === 'xlsx') {
        const stream = await exportContactsXlsx(ctx.db.pool, request.tenantId, query, (error) =>
          request.log.error({ err: error }, 'contacts export failed'),
        );
        return reply
          .header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
          .header('content-disposition', 'attachment; filename="contacts.xlsx"')
          .send(stream);
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="contacts.csv"')
        .send(await exportContactsCsv(ctx.db.pool, request.tenantId, query));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/contacts/:id',
    {
      ...read,
      schema: {
        tags,
        summary: 'One contact',
        params: idParam,
        response: { 200: contactView, ...errorResponses },
      },
    },
    async (request) => {
      const view = await readContact({ tenantId: request.tenantId, id: Number(request.params.id), deps });
      return request.seesFullNumbers === false ? maskContact(view) : view;
    },
  );

  app.patch<{
    Params: { id: string };
    Body: Omit<Partial<ContactBody>, 'phone'> & { fields_mode?: 'merge' | 'replace' };
  }>(
    '/v1/contacts/:id',
    {
      ...manage,
      bodyLimit: 256 * 1024,
      schema: {
        tags,
        summary:
          'Change a contact: name, tags (replaced), fields (merged, or replaced with fields_mode=replace)',
        params: idParam,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            fields: fieldsSchema,
            tags: tagsSchema,
            fields_mode: { type: 'string', enum: ['merge', 'replace'], default: 'merge' },
          },
        },
        response: { 200: contactView, ...errorResponses },
      },
    },
    async (request) => {
      const { fields_mode: mode, ...body } = request.body;
      return changeContact({
        tenantId: request.tenantId,
        id: Number(request.params.id),
        body,
        replaceFields: mode === 'replace',
        deps,
      });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/contacts/:id',
    {
      ...manage,
      schema: {
        tags,
        summary: 'Delete a contact (and its group memberships); its opt-out or blacklist entry stays',
        params: idParam,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await removeContact({ tenantId: request.tenantId, id: Number(request.params.id), deps });
      return reply.status(204).send();
    },
  );
}

/**
 * A contact as a role without `messages.read_full_numbers` (a viewer) sees it: the number reads
 * 138****8000, as in messages and replies.
 */
function maskContact<T extends { phone: string }>(view: T): T {
  return { ...view, phone: maskPhone(view.phone) };
}
