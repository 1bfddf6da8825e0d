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
export const forbidden = createError({
  code: 'auth.forbidden',
  statusCode: 403,
  message: 'Your role does not allow this.',
});
export const invalidCredentials = createError({
  code: 'auth.invalid_credentials',
  statusCode: 401,
  message: 'Wrong login or password.',
});
export const loginDelayed = createError({
  code: 'auth.login_delayed',
  statusCode: 429,
  message: 'Too many failed logins; wait before the next attempt (see Retry-After).',
});
export const loginLocked = createError({
  code: 'auth.locked',
  statusCode: 429,
  message: 'Too many failed logins: locked for a while (see Retry-After).',
});
export const csrfFailed = createError({
  code: 'auth.csrf_failed',
  statusCode: 403,
  message: 'A change made with a session cookie needs the X-CSRF-Token header given at login.',
});
export const invalidCode = createError({
  code: 'auth.invalid_code',
  statusCode: 401,
  message: 'The two-factor code or recovery code is wrong, expired or already used.',
});
export const challengeExpired = createError({
  code: 'auth.challenge_expired',
  statusCode: 401,
  message: 'The login challenge is unknown or expired; log in again.',
});
export const twoFactorSetupRequired = createError({
  code: 'auth.two_factor_setup_required',
  statusCode: 403,
  message: 'Two-factor authentication is required: set it up (POST /v1/auth/two-factor) first.',
});
export const twoFactorState = createError({
  code: 'auth.two_factor_state',
  statusCode: 409,
  message: 'Two-factor authentication is not in a state that allows this.',
});
export const weakPassword = createError({
  code: 'auth.weak_password',
  statusCode: 400,
  message: 'A password needs 10 to 256 characters.',
});
export const memberNotFound = createError({
  code: 'members.not_found',
  statusCode: 404,
  message: 'No member with this id in this tenant.',
});
export const memberEmailTaken = createError({
  code: 'members.email_taken',
  statusCode: 409,
  message: 'A member with this email exists.',
});
export const memberRoleForbidden = createError({
  code: 'members.role_forbidden',
  statusCode: 403,
  message: 'Only an owner can make, change or remove an owner.',
});
export const lastOwner = createError({
  code: 'members.last_owner',
  statusCode: 409,
  message: 'A tenant keeps at least one owner.',
});
export const invalidEmail = createError({
  code: 'members.invalid_email',
  statusCode: 400,
  message: 'A member logs in with an email address: it needs one "@" and no spaces.',
});
export const sessionNotFound = createError({
  code: 'auth.session_not_found',
  statusCode: 404,
  message: 'No such session of yours.',
});
export const staffNotFound = createError({
  code: 'staff.not_found',
  statusCode: 404,
  message: 'No such member of staff.',
});
export const staffUsernameTaken = createError({
  code: 'staff.username_taken',
  statusCode: 409,
  message: 'A member of staff already has this username.',
});
export const staffUsernameInvalid = createError({
  code: 'staff.invalid_username',
  statusCode: 400,
  message:
    'A staff username is 1 to 64 letters, digits, ".", "_" or "-" (no "@": that makes a member login).',
});
export const lastAdmin = createError({
  code: 'staff.last_admin',
  statusCode: 409,
  message: 'The platform needs at least one staff admin: add another before removing or demoting this one.',
});
export const resetRateLimited = createError({
  code: 'auth.reset_rate_limited',
  statusCode: 429,
  message: 'Too many reset requests from this address; wait before the next one (see Retry-After).',
});
export const invalidPhone = createError({
  code: 'auth.invalid_phone',
  statusCode: 400,
  message: 'The phone number is not a mobile number that can receive SMS.',
});
