// Alibaba Cloud SMS at /compat/aliyun/: one endpoint for both SDK styles, GET or POST, the action
// named by the x-acs-action header (ACS3) or the Action parameter (RPC). Point the SDK's endpoint
// here (docs/compatible-apis.md).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../../app/context.ts';
import type { VendorAuth } from '../compat.auth.ts';
import { formOf, rawQueryOf, singleValues } from '../compat.http.ts';
import { ALIYUN_ACTIONS } from './aliyun.actions.ts';
import { authenticateAliyun } from './aliyun.auth.ts';

export const ALIYUN_PREFIX = '/compat/aliyun';

function requestId(): string {
  return randomUUID().toUpperCase();
}

export function sendAliyunError(reply: FastifyReply, status: number, code: string, message: string) {
  return reply
    .status(status)
    .send({ RequestId: requestId(), HostId: 'hongyan', Code: code, Message: message });
}

export function registerAliyunRoutes(app: FastifyInstance, ctx: AppContext, auth: VendorAuth) {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.raw.url ?? request.url;
    const path = raw.split('?', 1)[0]!.slice(ALIYUN_PREFIX.length) || '/';
    const query = singleValues(new URLSearchParams(rawQueryOf(raw)));
    const form = singleValues(formOf(request));
    if (!query.ok || !form.ok)
      return sendAliyunError(
        reply,
        400,
        'InvalidParameter',
        `Parameter ${query.ok ? (form.ok ? '' : form.duplicate) : query.duplicate} is given twice.`,
      );
    const outcome = await authenticateAliyun(
      auth,
      {
        method: request.method,
        path,
        query: query.values,
        form: form.values,
        headers: request.headers,
        body: request.rawBody,
        address: request.ip,
      },
      (action) => ALIYUN_ACTIONS[action]?.scope ?? null,
    );
    if (!outcome.ok)
      return sendAliyunError(reply, outcome.error.status, outcome.error.code, outcome.error.message);
    const body = await ALIYUN_ACTIONS[outcome.action]!.run(ctx, outcome.principal, outcome.params);
    return reply.status(200).send({ RequestId: requestId(), ...body });
  };
  for (const url of [ALIYUN_PREFIX, `${ALIYUN_PREFIX}/`])
    app.route({ method: ['GET', 'POST'], url, schema: { hide: true }, handler });
}
