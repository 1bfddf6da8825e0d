import { createError } from '../../shared/errors.ts';

export const smppAccountNotFound = createError({
  code: 'smpp.account_not_found',
  statusCode: 404,
  message: 'No such SMPP account for this tenant.',
});
export const invalidSmppAccount = createError({
  code: 'smpp.account_invalid',
  statusCode: 400,
  message: 'Invalid SMPP account settings; details lists each problem.',
});
export const smppSystemIdTaken = createError({
  code: 'smpp.system_id_taken',
  statusCode: 409,
  message: 'That system_id is already used by another SMPP account.',
});
