import { createError } from '../../shared/errors.ts';

export const tenantNotApproved = createError({
  code: 'accounts.tenant_not_approved',
  statusCode: 403,
  message: 'This tenant is awaiting approval (or was rejected): only its profile and documents are open.',
});
export const invalidCreditCode = createError({
  code: 'tenants.invalid_credit_code',
  statusCode: 400,
  message: 'The unified social credit code needs 18 characters with a valid GB 32100-2015 check character.',
});
export const documentTypeRefused = createError({
  code: 'tenants.document_type',
  statusCode: 415,
  message: 'A qualification document must be a PDF, JPEG or PNG file (checked by its content).',
});
export const documentNotFound = createError({
  code: 'tenants.document_not_found',
  statusCode: 404,
  message: 'No such document for this tenant.',
});
export const invalidTransition = createError({
  code: 'tenants.invalid_transition',
  statusCode: 409,
  message: "The tenant's status does not allow this.",
});
export const profileLocked = createError({
  code: 'tenants.profile_locked',
  statusCode: 409,
  message: 'An approved profile is changed through the operator; only a pending or rejected one is editable.',
});
export const registrationLimited = createError({
  code: 'tenants.registration_limited',
  statusCode: 429,
  message: 'Too many registrations from this address; try again later (see Retry-After).',
});
