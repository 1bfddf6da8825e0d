import { createError } from '../../shared/errors.ts';

export const channelNotFound = createError({
  code: 'channels.not_found',
  statusCode: 404,
  message: 'No such channel.',
});
export const channelNameTaken = createError({
  code: 'channels.name_taken',
  statusCode: 409,
  message: 'A channel with this name already exists.',
});
export const invalidChannel = createError({
  code: 'channels.invalid',
  statusCode: 400,
  message: 'Invalid channel settings.',
});
