// Twilio Programmable Messaging on Hongyan: create, fetch and list Messages under
// /2010-04-01/Accounts/{AccountSid}/, HTTP Basic with the credential's Twilio form (AccountSid
// "AC" + 32 hex, auth token the AppSecret). StatusCallback becomes the message's own callback_url
// (webhooks). Point the SDK at Hongyan with `client.api.baseUrl` (docs/compatible-apis.md).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CountryCode } from 'libphonenumber-js';
import type { AppContext } from '../../../app/context.ts';
import type { Scope } from '../../credentials/credentials.models.ts';
import { normalizePhone } from '../../messages/phone.models.ts';
import { maskSentCodes } from '../../messages/sent-codes.ts';
import type { VendorAuth, VendorPrincipal } from '../compat.auth.ts';
import { formOf } from '../compat.http.ts';
import { sendOne } from '../compat.messages.ts';
import { messageIdOfTwilioSid, twilioCodeOf, twilioMessageSid } from '../compat.models.ts';
import { findMessage, listTenantMessages } from '../compat.repository.ts';
import { authenticateTwilio } from './twilio.auth.ts';
import { rememberTwilioCallback } from './twilio.callbacks.ts';
import { twilioMessageView } from './twilio.views.ts';

const BASE = '/2010-04-01/Accounts/:AccountSid';

export function sendTwilioError(reply: FastifyReply, status: number, code: number, message: string) {
  return reply.status(status).send({
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  });
}

type Params = { AccountSid: string; Sid?: string };

export function registerTwilioRoutes(app: FastifyInstance, ctx: AppContext, auth: VendorAuth) {
  async function principalFor(
    request: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
    scope: Scope,
  ): Promise<VendorPrincipal | null> {
    const outcome = await authenticateTwilio(auth, {
      authorization: request.headers.authorization,
      accountSid: request.params.AccountSid,
      address: request.ip,
      scope,
    });
    if (outcome.ok) return outcome.principal;
    if (outcome.status === 401) void reply.header('www-authenticate', 'Basic realm="Twilio API"');
    await sendTwilioError(reply, outcome.status, outcome.code, outcome.message);
    return null;
  }

  app.post<{ Params: Params }>(
    `${BASE}/Messages.json`,
    { schema: { hide: true } },
    async (request, reply) => {
      const principal = await principalFor(request, reply, 'send');
      if (!principal) return reply;
      const form = formOf(request);
      const to = form.get('To');
      const body = form.get('Body');
      if (!to) return sendTwilioError(reply, 400, 21604, "A 'To' phone number is required.");
      if (!body) return sendTwilioError(reply, 400, 21602, 'Message body is required.');
      const callback = form.get('StatusCallback') ?? undefined;
      const sent = await sendOne(ctx, {
        tenantId: principal.tenantId,
        to,
        content: body,
        ...(callback ? { callbackUrl: callback } : {}),
      });
      if (!sent.ok) {
        const code = twilioCodeOf(sent.refusal.code, sent.refusal.statusCode);
        return sendTwilioError(
          reply,
          sent.refusal.statusCode >= 500 ? 500 : 400,
          code,
          `${sent.refusal.message} (${sent.refusal.code})`,
        );
      }
      if (callback)
        await rememberTwilioCallback(ctx.db.pool, {
          messageId: Number(sent.value.id),
          credentialId: principal.credentialId,
        });
      const row = await findMessage(ctx.db.pool, principal.tenantId, Number(sent.value.id));
      return reply.status(201).send(twilioMessageView(row!, principal.twilioAccountSid, form.get('From')));
    },
  );

  app.get<{ Params: Params }>(
    `${BASE}/Messages/:Sid.json`,
    { schema: { hide: true } },
    async (request, reply) => {
      const principal = await principalFor(request, reply, 'read');
      if (!principal) return reply;
      const id = messageIdOfTwilioSid(request.params.Sid ?? '');
      const found = id === null ? null : await findMessage(ctx.db.pool, principal.tenantId, id);
      // A Verify API code reads as asterisks, as in GET /v1/messages/{id}.
      const [row] = found === null ? [] : await maskSentCodes(ctx.messages, principal.tenantId, [found]);
      if (!row)
        return sendTwilioError(
          reply,
          404,
          20404,
          `The requested resource ${request.url.split('?', 1)[0]} was not found`,
        );
      return reply.send(twilioMessageView(row, principal.twilioAccountSid, null));
    },
  );

  app.get<{ Params: Params; Querystring: Record<string, string> }>(
    `${BASE}/Messages.json`,
    { schema: { hide: true } },
    async (request, reply) => {
      const principal = await principalFor(request, reply, 'read');
      if (!principal) return reply;
      const q = request.query;
      const pageSize = q.PageSize === undefined ? 50 : Number(q.PageSize);
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
        return sendTwilioError(reply, 400, 20001, 'PageSize must be an integer from 1 to 1000.');
      let recipient: string | null = null;
      if (q.To !== undefined) {
        const phone = normalizePhone(q.To, ctx.config.defaultRegion as CountryCode);
        if (!phone.ok) return sendTwilioError(reply, 400, 21211, `Invalid 'To' Phone Number: ${q.To}`);
        recipient = phone.e164;
      }
      let beforeId: number | null = null;
      if (q.PageToken !== undefined) {
        beforeId = q.PageToken.startsWith('PA') ? messageIdOfTwilioSid(q.PageToken.slice(2)) : null;
        if (beforeId === null)
          return sendTwilioError(reply, 400, 20001, 'PageToken is not one this API gave.');
      }
      const rows = await listTenantMessages(ctx.db.pool, {
        tenantId: principal.tenantId,
        recipient,
        beforeId,
        limit: pageSize + 1,
      });
      const page = await maskSentCodes(ctx.messages, principal.tenantId, rows.slice(0, pageSize));
      const path = `/2010-04-01/Accounts/${principal.twilioAccountSid}/Messages.json`;
      const keep = (extra: Record<string, string>) => {
        const s = new URLSearchParams({
          ...(q.To ? { To: q.To } : {}),
          PageSize: String(pageSize),
          ...extra,
        });
        return `${path}?${s.toString()}`;
      };
      const pageNumber = q.Page === undefined ? 0 : Math.max(0, Number(q.Page) || 0);
      const last = page.at(-1);
      return reply.send({
        messages: page.map((m) => twilioMessageView(m, principal.twilioAccountSid, null)),
        uri: request.url,
        first_page_uri: keep({ Page: '0' }),
        next_page_uri:
          rows.length > pageSize && last
            ? keep({ Page: String(pageNumber + 1), PageToken: `PA${twilioMessageSid(last.id)}` })
            : null,
        previous_page_uri: null,
        page: pageNumber,
        page_size: pageSize,
        start: pageNumber * pageSize,
        end: pageNumber * pageSize + Math.max(0, page.length - 1),
      });
    },
  );
}
