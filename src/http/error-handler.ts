// One error handler for every route: known errors keep their stable code; Fastify's own request
// errors are mapped to ours; a lost database becomes 503 with Retry-After; anything else is a 500
// whose details stay in the log.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../shared/errors.ts';
import {
  bodyTooLarge,
  internalError,
  invalidRequest,
  malformedJson,
  malformedRequest,
  serviceUnavailable,
  unsupportedMediaType,
} from './http.errors.ts';

const DB_UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

export function isDatabaseUnavailable(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth++) {
    const err = e as { code?: string; message?: string; cause?: unknown };
    if (err.code && (DB_UNAVAILABLE_CODES.has(err.code) || err.code.startsWith('08'))) return true;
    if (
      err.message &&
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED/.test(
        err.message,
      )
    ) {
      return true;
    }
    e = err.cause;
  }
  return false;
}

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fe = error as FastifyError;
  if (fe.validation) {
    return invalidRequest({
      message:
        `${fe.validationContext ?? 'body'}${fe.validation[0]?.instancePath ?? ''} ${fe.validation[0]?.message ?? 'is invalid'}`.trim(),
      details: fe.validation.map((v) => ({ path: v.instancePath, message: v.message, params: v.params })),
    });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return malformedJson({ message: fe.message });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return bodyTooLarge();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedMediaType();
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return invalidRequest({ message: fe.message });
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_MAX_PARAM_LENGTH':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return malformedRequest({ message: fe.message });
  }
  if (error instanceof SyntaxError && fe.statusCode === 400) return malformedJson({ message: error.message });
  if (isDatabaseUnavailable(error)) return serviceUnavailable({ cause: error });
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return invalidRequest({ message: fe.message });
  }
  return internalError({ cause: error });
}

/**
 * The client went away before its request was read (a disconnect mid-body, or a request timeout
 * that closed the socket): nobody will read an answer, and it is neither our error nor a lost
 * database, whose ECONNRESET it shares.
 */
export function isClientGone(request: FastifyRequest): boolean {
  // `complete` is false until the whole body has arrived, so an error that comes later (the
  // database lost while the handler ran) is never mistaken for the client's disconnect.
  return !request.raw.complete && (request.raw.aborted || request.raw.socket?.destroyed === true);
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  if (!(error instanceof AppError) && isClientGone(request)) {
    request.log.debug(
      { code: (error as { code?: string }).code },
      'client disconnected before its request was read',
    );
    const e = malformedRequest({ message: 'The client disconnected before the request was read.' });
    return reply.status(e.statusCode).send({ error: { code: e.code, message: e.message } });
  }
  const appError = toAppError(error);
  if (appError.statusCode >= 500) {
    request.log.error({ err: error }, `request failed: ${appError.code}`);
  }
  if (appError.code === serviceUnavailable.code) reply.header('retry-after', '5');
  const body: { error: { code: string; message: string; details?: unknown } } = {
    error: { code: appError.code, message: appError.message },
  };
  if (appError.details !== undefined) body.error.details = appError.details;
  return reply.status(appError.statusCode).send(body);
}
