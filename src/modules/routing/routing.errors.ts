import { createError } from '../../shared/errors.ts';

export const routeNotFound = createError({
  code: 'routing.route_not_found',
  statusCode: 404,
  message: 'No such route.',
});
export const invalidRoute = createError({
  code: 'routing.invalid_route',
  statusCode: 400,
  message: 'Invalid route.',
});
export const overrideNotFound = createError({
  code: 'routing.override_not_found',
  statusCode: 404,
  message: 'No carrier override for this number.',
});
export const invalidOverride = createError({
  code: 'routing.invalid_override',
  statusCode: 400,
  message: 'Invalid carrier override.',
});
export const invalidBreaker = createError({
  code: 'routing.invalid_breaker',
  statusCode: 400,
  message: 'Invalid circuit-breaker settings.',
});

/** Outcome codes a message carries (not HTTP errors): see docs/errors.md, message error codes. */
export const NO_ROUTE = 'routing.no_route';
export const NO_CHANNEL_BOUND = 'routing.no_channel_bound';
