import { createError } from '../shared/errors.ts';

export const malformedJson = createError({
  code: 'request.malformed_json',
  statusCode: 400,
  message: 'The body is not valid JSON.',
});
export const invalidRequest = createError({
  code: 'request.invalid',
  statusCode: 400,
  message: 'The request does not match the schema.',
});
export const bodyTooLarge = createError({
  code: 'request.too_large',
  statusCode: 413,
  message: 'The request body is too large.',
});
export const unsupportedMediaType = createError({
  code: 'request.unsupported_media_type',
  statusCode: 415,
  message: 'Send JSON with "Content-Type: application/json".',
});
export const routeNotFound = createError({
  code: 'request.not_found',
  statusCode: 404,
  message: 'No such route.',
});
export const serviceUnavailable = createError({
  code: 'service.unavailable',
  statusCode: 503,
  message: 'The database is unavailable; nothing was accepted. Retry later.',
});
export const internalError = createError({
  code: 'internal.error',
  statusCode: 500,
  message: 'Internal error.',
});
export const invalidText = createError({
  code: 'request.invalid_text',
  statusCode: 400,
  message: 'A string holds a character that cannot be stored: NUL (U+0000) or an unpaired surrogate.',
});
export const invalidUtf8 = createError({
  code: 'request.invalid_encoding',
  statusCode: 400,
  message: 'The body is not valid UTF-8.',
});
export const malformedRequest = createError({
  code: 'request.malformed',
  statusCode: 400,
  message: 'The HTTP request could not be read (bad method, URL or header).',
});
export const requestTimeout = createError({
  code: 'request.timeout',
  statusCode: 408,
  message: 'The request was not received in time.',
});
export const headersTooLarge = createError({
  code: 'request.headers_too_large',
  statusCode: 431,
  message: 'The request headers are too large.',
});
export const methodNotAllowed = createError({
  code: 'request.method_not_allowed',
  statusCode: 405,
  message: 'This route does not accept this method.',
});
export const tooManyConnections = createError({
  code: 'request.too_many_connections',
  statusCode: 429,
  message: 'Too many open connections from this address.',
});
