// /v1/smpp-accounts: a tenant's SMPP accounts (list, create, disable). Managed like signed
// credentials (the same permission): a login or the tenant's bearer key.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import { createSmppAccountsRepository } from './smpp-accounts.repository.ts';
import { createSmppAccount, disableSmppAccount, listSmppAccounts } from './smpp-accounts.usecases.ts';

const accountView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    system_id: { type: 'string' },
    allow: { type: 'array', items: { type: 'string' } },
    window: { type: 'integer' },
    tps: { type: 'integer' },
    receive_replies: { type: 'boolean' },
    created_at: { type: 'string' },
    disabled_at: { type: ['string', 'null'] },
    last_bind_at: { type: ['string', 'null'] },
    last_bind_address: { type: ['string', 'null'] },
  },
} as const;

interface CreateBody {
  system_id?: string;
  allow?: string[];
  window?: number;
  tps?: number;
  receive_replies?: boolean;
}

export async function registerSmppAccountRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = requireTenant(ctx);
  const repository = createSmppAccountsRepository(ctx.db.pool);

  app.get(
    '/v1/smpp-accounts',
    {
      preHandler: auth,
      config: { permission: 'credentials.manage' },
      schema: {
        tags: ['smpp'],
        summary: "The tenant's SMPP accounts (passwords are never shown again)",
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: accountView } } },
          ...errorResponses,
        },
      },
    },
    async (request) => ({ data: await listSmppAccounts({ tenantId: request.tenantId, repository }) }),
  );

  app.post<{ Body: CreateBody }>(
    '/v1/smpp-accounts',
    {
      preHandler: auth,
      config: { permission: 'credentials.manage' },
      bodyLimit: 64 * 1024,
      schema: {
        tags: ['smpp'],
        summary: 'Create an SMPP account: system_id and password (shown once) to bind to Hongyan as an ESME',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            system_id: {
              type: 'string',
              maxLength: 64,
              description: 'At most 15 letters, digits, "_" or "-" (SMPP 3.4); absent: generated.',
            },
            allow: {
              type: 'array',
              maxItems: 100,
              items: { type: 'string', maxLength: 64 },
              description: 'IPv4/IPv6 CIDRs binds may come from; empty or absent: any address.',
            },
            window: {
              type: 'integer',
              minimum: 1,
              maximum: 10_000,
              description: 'Submits outstanding at once.',
            },
            tps: { type: 'integer', minimum: 1, maximum: 1_000_000, description: 'Submits per second.' },
            receive_replies: {
              type: 'boolean',
              description: "The tenant's replies (MO) go to this account.",
            },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              account: accountView,
              password: { type: 'string', description: 'Shown once; stored as an argon2id hash.' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const { account, password } = await createSmppAccount({
        tenantId: request.tenantId,
        systemId: body.system_id,
        allow: body.allow ?? [],
        ...(body.window === undefined ? {} : { windowSize: body.window }),
        ...(body.tps === undefined ? {} : { maxTps: body.tps }),
        ...(body.receive_replies === undefined ? {} : { receiveReplies: body.receive_replies }),
        repository,
      });
      return reply.status(201).send({ account, password });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/smpp-accounts/:id/disable',
    {
      preHandler: auth,
      config: { permission: 'credentials.manage' },
      schema: {
        tags: ['smpp'],
        summary: 'Disable an SMPP account: binds are refused, bound sessions are closed',
        params: idParam,
        response: { 200: accountView, ...errorResponses },
      },
    },
    async (request) =>
      disableSmppAccount({
        tenantId: request.tenantId,
        id: Number(request.params.id),
        repository,
        now: ctx.clock.now(),
      }),
  );
}
