import { createError } from '../../shared/errors.ts';

export const messageNotFound = createError({
  code: 'messages.not_found',
  statusCode: 404,
  message: 'No such message.',
});
export const batchNotFound = createError({
  code: 'batches.not_found',
  statusCode: 404,
  message: 'No such batch.',
});
export const contentEmpty = createError({
  code: 'messages.content_empty',
  statusCode: 400,
  message: 'The message content is empty.',
});
export const contentTooLong = createError({
  code: 'messages.content_too_long',
  statusCode: 400,
  message: 'The message content is longer than the part limit allows.',
});
export const invalidRecipient = createError({
  code: 'messages.invalid_recipient',
  statusCode: 400,
  message: 'The recipient is not a valid mobile number.',
});
export const invalidSendAt = createError({
  code: 'messages.invalid_send_at',
  statusCode: 400,
  message: 'send_at must be an ISO 8601 time with a time zone, at most one year ahead.',
});
export const notCancelable = createError({
  code: 'messages.not_cancelable',
  statusCode: 409,
  message: 'Only a scheduled message that has not started can be canceled.',
});
export const batchNotCancelable = createError({
  code: 'batches.not_cancelable',
  statusCode: 409,
  message: 'Only a scheduled batch that has not started can be canceled.',
});
export const missingVariable = createError({
  code: 'messages.missing_variable',
  statusCode: 400,
  message: 'A {variable} in the content has no value for this recipient.',
});
export const batchTooLarge = createError({
  code: 'batches.too_large',
  statusCode: 400,
  message: 'A batch holds at most 10,000 recipients.',
});
export const batchEmpty = createError({
  code: 'batches.empty',
  statusCode: 400,
  message: 'A batch needs at least one recipient.',
});
export const idempotencyConflict = createError({
  code: 'idempotency.conflict',
  statusCode: 409,
  message: 'This Idempotency-Key was already used with a different request body.',
});
export const invalidIdempotencyKey = createError({
  code: 'idempotency.invalid_key',
  statusCode: 400,
  message: 'The Idempotency-Key header must be 1 to 255 visible ASCII characters.',
});
export const invalidCursor = createError({
  code: 'messages.invalid_cursor',
  statusCode: 400,
  message: 'The cursor is not valid.',
});
