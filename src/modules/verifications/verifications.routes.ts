import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { requireTenant } from '../../http/auth.ts';
import { errorResponse, errorResponses, idParam } from '../../http/schemas.ts';
import { maskPhone } from '../../shared/phone-mask.ts';
import { AppError } from '../../shared/errors.ts';
import { messageRules } from '../compliance/templates/rules-adapter.ts';
import { verificationCooldown, verificationVelocity } from './verifications.errors.ts';
import { LANGUAGES } from './verifications.models.ts';
import {
  checkVerification,
  getVerification,
  listVerifications,
  type ListQuery,
  startVerification,
  type StartInput,
  type VerificationSettings,
} from './verifications.usecases.ts';

const purpose = {
  type: 'string',
  pattern: '^[A-Za-z0-9_.:-]{1,32}$',
  description:
    'What the code is for (login, payment…); one live code per number and purpose. Default `default`.',
} as const;
const to = {
  type: 'string',
  minLength: 1,
  maxLength: 32,
  description: 'The mobile number (E.164, or national in the default region).',
} as const;

const STATUSES = ['pending', 'approved', 'expired', 'max_attempts'] as const;

const verificationView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    to: { type: 'string' },
    purpose: { type: 'string' },
    status: { type: 'string', enum: [...STATUSES] },
    code_length: { type: 'integer' },
    language: { type: 'string' },
    template_id: { type: ['string', 'null'] },
    attempts: { type: 'integer' },
    attempts_remaining: { type: 'integer' },
    sends: { type: 'integer' },
    message_id: { type: ['string', 'null'] },
    expires_at: { type: 'string' },
    approved_at: { type: ['string', 'null'] },
    created_at: { type: 'string' },
  },
} as const;

// The query of GET /v1/messages (phone, status, created_after/before, cursor, limit), with the
// purpose in place of batch and client reference.
const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    phone: {
      type: 'string',
      maxLength: 32,
      description: 'One number (E.164 or national in the default region), normalized as `to` is.',
    },
    purpose: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,32}$' },
    status: {
      type: 'string',
      enum: [...STATUSES],
      description:
        'The status a reader sees: `pending` leaves out codes past their TTL, `expired` takes them.',
    },
    created_after: { type: 'string', format: 'date-time' },
    created_before: { type: 'string', format: 'date-time' },
    cursor: { type: 'string', maxLength: 64 },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  },
} as const;

const limitedResponses = {
  ...errorResponses,
  422: errorResponse,
  429: errorResponse,
  402: errorResponse,
} as const;

export async function registerVerificationRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = requireTenant(ctx);
  const settings: VerificationSettings = {
    maxParts: ctx.config.maxParts,
    defaultRegion: ctx.config.defaultRegion,
    windowSeconds: ctx.config.verificationWindowSeconds,
    tenantMax: ctx.config.verificationTenantMax,
    prefixMax: ctx.config.verificationPrefixMax,
    prefixDigits: ctx.config.verificationPrefixDigits,
  };

  app.post<{ Body: StartInput }>(
    '/v1/verifications',
    {
      schema: {
        tags: ['verifications'],
        summary:
          'Send a verification code (OTP) Hongyan generates; within its TTL a resend (60 s apart at least) sends the same code',
        body: {
          type: 'object',
          properties: {
            to,
            purpose,
            code_length: { type: 'integer', minimum: 4, maximum: 8, default: 6 },
            ttl_seconds: { type: 'integer', minimum: 60, maximum: 86_400, default: 300 },
            language: { type: 'string', enum: [...LANGUAGES], default: 'zh-CN' },
            template_id: {
              anyOf: [{ type: 'string', maxLength: 20 }, { type: 'integer' }],
              description:
                'An approved template of type verification with a {code} variable; without it, the default text in `language`.',
            },
            sign_name: { type: 'string', minLength: 1, maxLength: 40 },
            params: {
              type: 'object',
              maxProperties: 32,
              additionalProperties: { anyOf: [{ type: 'string', maxLength: 200 }, { type: 'number' }] },
              description: "The template's other variables (the code variable is Hongyan's).",
            },
          },
          required: ['to'],
          additionalProperties: false,
        },
        response: {
          201: {
            type: 'object',
            properties: {
              ...verificationView.properties,
              resent: { type: 'boolean' },
              message_status: { type: 'string' },
            },
          },
          ...limitedResponses,
        },
      },
      preHandler: auth,
      config: { permission: 'messages.send' },
      bodyLimit: 16 * 1024,
    },
    async (request, reply) => {
      const rules = await messageRules(ctx.rules);
      const result = await withRetryAfter(reply, () =>
        startVerification({
          pool: ctx.db.pool,
          admission: ctx.admission,
          keyRing: ctx.keyRing,
          rules,
          tenantId: request.tenantId,
          input: request.body,
          settings,
          now: ctx.clock.now(),
        }),
      );
      ctx.notifyQueued();
      return reply.status(201).send(result);
    },
  );

  app.post<{ Body: { to: string; code: string; purpose?: string } }>(
    '/v1/verifications/check',
    {
      schema: {
        tags: ['verifications'],
        summary:
          'Check a code: approved (once), denied, expired or max_attempts (after 5 checks the code is dead)',
        body: {
          type: 'object',
          properties: { to, purpose, code: { type: 'string', pattern: '^[0-9]{4,8}$' } },
          required: ['to', 'code'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              to: { type: 'string' },
              purpose: { type: 'string' },
              status: { type: 'string', enum: ['approved', 'denied', 'expired', 'max_attempts'] },
              attempts_remaining: { type: 'integer' },
            },
          },
          ...limitedResponses,
        },
      },
      preHandler: auth,
      config: { permission: 'messages.send' },
      bodyLimit: 4 * 1024,
    },
    async (request) =>
      checkVerification({
        pool: ctx.db.pool,
        tenantId: request.tenantId,
        input: request.body,
        defaultRegion: ctx.config.defaultRegion,
        now: ctx.clock.now(),
      }),
  );

  app.get<{ Querystring: ListQuery }>(
    '/v1/verifications',
    {
      schema: {
        tags: ['verifications'],
        summary:
          'List verifications, newest first, cursor-paginated as GET /v1/messages (never a code: only its length)',
        querystring: listQuery,
        response: {
          200: {
            type: 'object',
            properties: {
              data: { type: 'array', items: verificationView },
              next_cursor: { type: ['string', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
      preHandler: auth,
      config: { permission: 'messages.read' },
    },
    async (request) =>
      listVerifications({
        pool: ctx.db.pool,
        tenantId: request.tenantId,
        query: request.query,
        defaultRegion: ctx.config.defaultRegion,
        now: ctx.clock.now(),
        ...(request.seesFullNumbers ? {} : { mask: maskPhone }),
      }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/verifications/:id',
    {
      schema: {
        tags: ['verifications'],
        summary: 'One verification: its status, checks used and sends (never its code)',
        params: idParam,
        response: { 200: verificationView, ...errorResponses },
      },
      preHandler: auth,
      config: { permission: 'messages.read' },
    },
    async (request) =>
      getVerification({
        pool: ctx.db.pool,
        tenantId: request.tenantId,
        id: Number(request.params.id),
        now: ctx.clock.now(),
        ...(request.seesFullNumbers ? {} : { mask: maskPhone }),
      }),
  );
}

/** The cool-down and velocity refusals say when to retry, in Retry-After as well as details. */
async function withRetryAfter<T>(reply: FastifyReply, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (
      error instanceof AppError &&
      (error.code === verificationCooldown.code || error.code === verificationVelocity.code)
    ) {
      const seconds = (error.details as { retry_after?: number } | undefined)?.retry_after;
      if (seconds !== undefined) reply.header('retry-after', String(seconds));
    }
    throw error;
  }
}
