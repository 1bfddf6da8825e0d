import { createError } from '../../shared/errors.ts';

export const signatureInvalid = createError({
  code: 'auth.signature_invalid',
  statusCode: 401,
  message:
    'The request signature does not match, a signing header is missing or malformed, or the AppKey is unknown (docs/api-signing.md).',
});
export const timestampSkewed = createError({
  code: 'auth.timestamp_skewed',
  statusCode: 401,
  message: 'X-Hy-Timestamp is more than the allowed window away from the server clock.',
});
export const nonceReplayed = createError({
  code: 'auth.nonce_replayed',
  statusCode: 401,
  message: 'This X-Hy-Nonce was already used by this credential within the clock window.',
});
export const ipNotAllowed = createError({
  code: 'auth.ip_not_allowed',
  statusCode: 403,
  message: "The request's source address is not in this credential's allowlist.",
});
export const credentialRevoked = createError({
  code: 'auth.credential_revoked',
  statusCode: 401,
  message: 'This credential was revoked.',
});
export const scopeDenied = createError({
  code: 'auth.scope_denied',
  statusCode: 403,
  message: "This credential's scopes do not include this route.",
});
export const rateLimited = createError({
  code: 'auth.rate_limited',
  statusCode: 429,
  message: "Too many requests for this credential; retry after the Retry-After header's seconds.",
});
export const credentialNotFound = createError({
  code: 'credentials.not_found',
  statusCode: 404,
  message: 'No such credential for this tenant.',
});
export const invalidCredential = createError({
  code: 'credentials.invalid',
  statusCode: 400,
  message: 'Invalid credential settings; details lists each problem.',
});
