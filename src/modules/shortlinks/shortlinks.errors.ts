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
