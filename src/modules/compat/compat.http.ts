// HTTP plumbing the three vendor APIs share: the form body parser (Aliyun RPC and Twilio post
// application/x-www-form-urlencoded), the raw query string, and errors in each vendor's shape
// for what fails before or outside an action (a body that does not parse, a fault).
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../shared/errors.ts';

const FORM_BODY_LIMIT = 1024 * 1024;

/** Form bodies parsed into URLSearchParams, their bytes kept for the signatures that hash them. */
export function registerFormParser(app: FastifyInstance): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'buffer', bodyLimit: FORM_BODY_LIMIT },
    (request, body, done) => {
      const bytes = body as Buffer;
      if (!isUtf8(bytes)) {
        done(
          new AppError({
            code: 'compat.invalid_body',
            statusCode: 400,
            message: 'The form body is not UTF-8.',
          }),
          undefined,
        );
        return;
      }
      request.rawBody = bytes;
      done(null, new URLSearchParams(bytes.toString('utf8')));
    },
  );
}

export function formOf(request: FastifyRequest): URLSearchParams {
  return request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
}

export function rawQueryOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

/** Each parameter once; a name given twice is refused by the caller (it would sign ambiguously). */
export function singleValues(
  params: URLSearchParams,
): { ok: true; values: Record<string, string> } | { ok: false; duplicate: string } {
  const values: Record<string, string> = {};
  for (const [k, v] of params) {
    if (Object.hasOwn(values, k)) return { ok: false, duplicate: k };
    values[k] = v;
  }
  return { ok: true, values };
}

type Vendor = 'aliyun' | 'tencent' | 'twilio';

export function vendorOfUrl(url: string): Vendor {
  if (url.startsWith('/compat/aliyun')) return 'aliyun';
  if (url.startsWith('/compat/tencent')) return 'tencent';
  return 'twilio';
}

/**
 * An error outside an action (the body did not parse, the request was too large, a fault) in the
 * vendor's own shape, so the SDK reports it as it would report the vendor's.
 */
export function sendVendorError(
  reply: FastifyReply,
  vendor: Vendor,
  { status, message }: { status: number; message: string },
) {
  const fault = status >= 500;
  switch (vendor) {
    case 'aliyun':
      return reply.status(status).send({
        RequestId: randomUUID().toUpperCase(),
        HostId: 'hongyan',
        Code: fault ? 'InternalError' : 'InvalidParameter',
        Message: message,
      });
    case 'tencent':
      // Tencent answers errors with HTTP 200 and Response.Error; the SDK reads only that.
      return reply.status(200).send({
        Response: {
          Error: { Code: fault ? 'InternalError' : 'InvalidParameter', Message: message },
          RequestId: randomUUID(),
        },
      });
    case 'twilio':
      return reply.status(status).send({
        code: fault ? 20500 : 21000,
        message,
        more_info: 'docs/compatible-apis.md',
        status,
      });
  }
}

export function compatErrorHandler(
  error: FastifyError | AppError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
  if (status >= 500) request.log.error({ err: error }, 'compatible API: request failed');
  const message = status >= 500 ? 'Internal error; nothing was sent.' : error.message;
  return sendVendorError(reply, vendorOfUrl(request.url), { status, message });
}
