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
