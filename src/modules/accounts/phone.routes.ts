// A member's phone (verified by SMS code) and the public request for a reset code by SMS.
import type { CountryCode } from 'libphonenumber-js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { errorResponses } from '../../http/schemas.ts';
import { sendMessage } from '../messages/messages.usecases.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import { forbidden, invalidPhone, resetRateLimited } from './accounts.errors.ts';
import {
  confirmPhone,
  countResetRequests,
  requestResetBySms,
  sendPhoneCode,
  type SendSms,
} from './phone.usecases.ts';

/** Reset requests one address may make per window, whatever logins they name. */
const RESET_REQUESTS_PER_ADDRESS = 5;
const RESET_WINDOW_MS = 15 * 60_000;

const body = (properties: Record<string, unknown>, required: string[]) =>
  ({ type: 'object', additionalProperties: false, properties, required }) as const;

function memberOf(request: FastifyRequest) {
  const p = request.principal;
  if (!p || p.kind !== 'member')
    throw forbidden({ message: 'Only a tenant member signed in to the console has a phone here.' });
  return p;
}

export async function registerPhoneRoutes(app: FastifyInstance, ctx: AppContext) {
  const db = ctx.db.pool;
  const settings = { maxParts: ctx.config.maxParts, defaultRegion: ctx.config.defaultRegion };
  // The platform's own codes go in through the same intake as any send: one message row each.
  const send: SendSms = async ({ tenantId, to, content }) => {
    const sent = await sendMessage({
      tenantId,
      input: { to, content, type: 'verification' },
      settings,
      insert: async (rows) => [await ctx.intake.insert(rows[0]!)],
      now: ctx.clock.now(),
    });
    return { id: sent.id };
  };

  app.post<{ Body: { phone: string } }>(
    '/v1/auth/phone',
    {
      config: { permission: 'account.self' },
      schema: {
        tags: ['auth'],
        summary:
          'Set your phone: a 6-digit code goes to it by SMS; confirm it with POST /v1/auth/phone/confirm',
        body: body({ phone: { type: 'string', minLength: 1, maxLength: 32 } }, ['phone']),
        response: {
          202: { type: 'object', properties: { expires_at: { type: 'string', format: 'date-time' } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const p = memberOf(request);
      const phone = normalizePhone(request.body.phone, ctx.config.defaultRegion as CountryCode);
      if (!phone.ok) throw invalidPhone({ message: phone.reason });
      const result = await sendPhoneCode({
        db,
        memberId: p.subject.id,
        tenantId: p.tenantId,
        phone: phone.e164,
        ip: request.ip,
        now: ctx.clock.now(),
        send,
      });
      return reply.status(202).send({ expires_at: result.expires_at.toISOString() });
    },
  );

  app.post<{ Body: { code: string } }>(
    '/v1/auth/phone/confirm',
    {
      config: { permission: 'account.self' },
      schema: {
        tags: ['auth'],
        summary: 'Confirm your phone with the code it received',
        body: body({ code: { type: 'string', minLength: 1, maxLength: 16 } }, ['code']),
        response: {
          200: {
            type: 'object',
            properties: { phone: { type: 'string' }, verified_at: { type: 'string', format: 'date-time' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const p = memberOf(request);
      const result = await confirmPhone({
        db,
        memberId: p.subject.id,
        tenantId: p.tenantId,
        code: request.body.code.trim(),
        ip: request.ip,
        now: ctx.clock.now(),
      });
      return { phone: result.phone, verified_at: result.verified_at.toISOString() };
    },
  );

  app.post<{ Body: { login: string } }>(
    '/v1/auth/reset-request',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        security: [],
        summary:
          'Ask for a password reset code by SMS to the account’s verified phone (same answer whether or not it exists)',
        body: body({ login: { type: 'string', minLength: 1, maxLength: 320 } }, ['login']),
        response: { 202: { type: 'object', properties: { status: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const now = ctx.clock.now();
      const recent = await countResetRequests(db, request.ip, new Date(now.getTime() - RESET_WINDOW_MS));
      if (recent >= RESET_REQUESTS_PER_ADDRESS) {
        void reply.header('retry-after', String(Math.ceil(RESET_WINDOW_MS / 1000)));
        throw resetRateLimited();
      }
      await requestResetBySms({ db, login: request.body.login, ip: request.ip, now, send });
      return reply
        .status(202)
        .send({ status: 'If the account has a verified phone, a reset code is on its way.' });
    },
  );
}
