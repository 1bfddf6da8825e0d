import { createError } from '../../shared/errors.ts';

export const verificationNotFound = createError({
  code: 'verifications.not_found',
  statusCode: 404,
  message: 'No verification of this tenant for this number and purpose (or this id) that a check could use.',
});
export const verificationCooldown = createError({
  code: 'verifications.cooldown',
  statusCode: 429,
  message: 'A code was sent to this number less than 60 seconds ago; retry after the Retry-After header.',
});
export const verificationVelocity = createError({
  code: 'verifications.velocity',
  statusCode: 429,
  message:
    'Too many verifications without a successful check recently, for this tenant or for this number prefix (pumping protection); retry after the Retry-After header.',
});
export const templateUnsuitable = createError({
  code: 'verifications.template_unsuitable',
  statusCode: 422,
  message: 'A verification needs an approved template of type verification with a {code} variable.',
});
