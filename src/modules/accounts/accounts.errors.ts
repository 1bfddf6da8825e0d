import { createError } from '../../shared/errors.ts';

export const unauthenticated = createError({
  code: 'auth.unauthenticated',
  statusCode: 401,
  message: 'Missing or invalid API key. Send "Authorization: Bearer <key>".',
});
export const tenantSuspended = createError({
  code: 'auth.tenant_suspended',
  statusCode: 403,
  message: 'This tenant is suspended.',
});
export const tenantNotFound = createError({
  code: 'tenants.not_found',
  statusCode: 404,
  message: 'No such tenant.',
});
