import { createError } from '../../shared/errors.ts';

export const linkNotFound = createError({
  code: 'shortlinks.not_found',
  statusCode: 404,
  message: 'No such short link.',
});
export const linkDisabled = createError({
  code: 'shortlinks.disabled',
  statusCode: 410,
  message: 'This short link was disabled by the operator.',
});
export const invalidShortDomain = createError({
  code: 'shortlinks.invalid_domain',
  statusCode: 400,
  message: 'A short domain is an absolute http(s) URL without query, fragment or credentials.',
});
export const tenantNotFound = createError({
  code: 'shortlinks.tenant_not_found',
  statusCode: 404,
  message: 'No such tenant.',
});
