// /v1/credentials: a tenant's signed API credentials (list, create, change the allowlist, rotate,
// revoke). A signed
// credential cannot manage credentials (no scope opens these routes): a login or the tenant's
// bearer key does.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponses, idParam } from '../../http/schemas.ts';
import { SCOPES } from './credentials.models.ts';
import {
  createCredential,
  listCredentials,
  revokeCredential,
  rotateCredential,
  updateCredentialAllow,
} from './credentials.usecases.ts';

const credentialView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    app_key: { type: 'string' },
    twilio_account_sid: {
      type: 'string',
      description:
        'The Twilio SDK form of the AppKey (docs/compatible-apis.md); the AppSecret is its auth token.',
    },
    scopes: { type: 'array', items: { type: 'string' } },
    allow: { type: 'array', items: { type: 'string' } },
    rate_limit: { type: ['integer', 'null'] },
    rotated_from: { type: ['integer', 'null'] },
    created_at: { type: 'string' },
    last_used_at: { type: ['string', 'null'] },
    last_used_address: { type: ['string', 'null'] },
    revoked_at: { type: ['string', 'null'] },
  },
} as const;

const withSecret = {
  type: 'object',
  properties: {
    credential: credentialView,
    app_secret: { type: 'string', description: 'Shown once; stored sealed with the master key.' },
  },
} as const;

const allowSchema = {
  type: 'array',
  maxItems: 100,
  items: { type: 'string', maxLength: 64 },
  description: 'IPv4/IPv6 CIDRs the requests may come from; empty or absent: any address.',
} as const;

interface CreateBody {
  name: string;
  scopes: string[];
  allow?: string[];
  rate_limit?: number;
}

export async function registerCredentialRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = requireTenant(ctx);
  const deps = { repository: ctx.credentials, keyRing: ctx.keyRing };

  app.get(
    '/v1/credentials',
    {
      preHandler: auth,
      config: { permission: 'credentials.manage' },
      schema: {
        tags: ['credentials'],
        summary: "The tenant's signed API credentials (secrets are never shown again)",
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: credentialView } } },
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      data: await listCredentials({ tenantId: request.tenantId, repository: ctx.credentials }),
    }),
  );

  app.post<{ Body: CreateBody }>(
    '/v1/credentials',
    {
      preHandler: auth,
      config: { permission: 'credentials.manage' },
      bodyLimit: 64 * 1024,
      schema: {
        tags: ['credentials'],
        summary: 'Create a credential: AppKey and AppSecret (shown once) for signed requests',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'scopes'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            scopes: {
              type: 'array',
              minItems: 1,
              maxItems: SCOPES.length,
              items: { type: 'string', enum: [...SCOPES] },
            },
            allow: allowSchema,
            rate_limit: {
              type: 'integer',
              minimum: 1,
              maximum: 1_000_000,
              description: 'Requests per second.',
            },
          },
        },
        response: { 201: withSecret, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { credential, appSecret } = await createCredential({
        tenantId: request.tenantId,
        name: request.body.name,
        scopes: request.body.scopes,
        allow: request.body.allow ?? [],
        rateLimit: request.body.rate_limit ?? null,
        ...deps,
      });
      return reply.status(201).send({ credential, app_secret: appSecret });
    },
  );

  app.patch<{ Params: { id: string }; Body: { allow: string[] } }>(
    '/v1/credentials/:id',
    {
      preHandler: auth,
      config: { permission: 'credentials.manage' },
      bodyLimit: 64 * 1024,
      schema: {
        tags: ['credentials'],
        summary: "Replace a live credential's IP allowlist (empty: any address)",
        params: idParam,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['allow'],
          properties: { allow: allowSchema },
        },
        response: { 200: credentialView, ...errorResponses },
      },
    },
    async (request) => {
      const view = await updateCredentialAllow({
        tenantId: request.tenantId,
        id: Number(request.params.id),
        allow: request.body.allow,
        repository: ctx.credentials,
      });
      // This node checks the new list at once; other nodes within their cache's 10 s.
      ctx.signedRequests.forget(view.app_key);
      return view;
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/credentials/:id/rotate',
    {
      preHandler: auth,
      config: { permission: 'credentials.manage' },
      schema: {
        tags: ['credentials'],
        summary: 'Issue a new credential replacing this one; both work until this one is revoked',
        params: idParam,
        response: { 201: withSecret, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { credential, appSecret } = await rotateCredential({
        tenantId: request.tenantId,
        id: Number(request.params.id),
        ...deps,
      });
      return reply.status(201).send({ credential, app_secret: appSecret });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/credentials/:id/revoke',
    {
      preHandler: auth,
      config: { permission: 'credentials.manage' },
      schema: {
        tags: ['credentials'],
        summary: 'Revoke a credential: its signed requests are refused from now on',
        params: idParam,
        response: { 200: credentialView, ...errorResponses },
      },
    },
    async (request) => {
      const view = await revokeCredential({
        tenantId: request.tenantId,
        id: Number(request.params.id),
        repository: ctx.credentials,
        now: ctx.clock.now(),
      });
      // This node stops accepting it at once; other nodes within their cache's 10 s.
      ctx.signedRequests.forget(view.app_key);
      return view;
    },
  );
}
