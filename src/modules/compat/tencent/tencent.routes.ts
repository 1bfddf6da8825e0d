// Tencent Cloud SMS at /compat/tencent/: JSON POSTs signed with TC3-HMAC-SHA256, the action in
// X-TC-Action. Every answer is HTTP 200 with a `Response` object, as Tencent's (the SDK reads
// Response.Error). Point the SDK's httpProfile.endpoint here (docs/compatible-apis.md).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../../app/context.ts';
import type { VendorAuth } from '../compat.auth.ts';
import { rawQueryOf } from '../compat.http.ts';
import { TENCENT_ACTIONS } from './tencent.actions.ts';
import { authenticateTencent } from './tencent.auth.ts';

export const TENCENT_PREFIX = '/compat/tencent';

function answer(reply: FastifyReply, response: Record<string, unknown>) {
  return reply.status(200).send({ Response: { ...response, RequestId: randomUUID() } });
}

export function registerTencentRoutes(app: FastifyInstance, ctx: AppContext, auth: VendorAuth) {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.raw.url ?? request.url;
    const outcome = await authenticateTencent(
      auth,
      {
        method: request.method,
        path: raw.split('?', 1)[0]!,
        rawQuery: rawQueryOf(raw),
        headers: request.headers,
        body: request.rawBody,
        address: request.ip,
      },
      (action) => TENCENT_ACTIONS[action]?.scope ?? null,
    );
    if (!outcome.ok)
      return answer(reply, { Error: { Code: outcome.error.code, Message: outcome.error.message } });
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body) || body instanceof URLSearchParams)
      return answer(reply, {
        Error: { Code: 'InvalidParameter', Message: 'The body must be a JSON object.' },
      });
    const result = await TENCENT_ACTIONS[outcome.action]!.run(
      ctx,
      outcome.principal,
      body as Record<string, unknown>,
    );
    if (!result.ok) return answer(reply, { Error: { Code: result.code, Message: result.message } });
    return answer(reply, result.body);
  };
  for (const url of [TENCENT_PREFIX, `${TENCENT_PREFIX}/`])
    app.post(url, { schema: { hide: true } }, handler);
}
