// Recipient protection: the refusals a message gets by itself (opt-out, blacklist, quiet hours,
// frequency caps) and the errors of the list, settings, review and reschedule routes.
import { createError } from '../../../shared/errors.ts';

export const optedOut = createError({
  code: 'compliance.opt_out',
  statusCode: 422,
  message: 'The recipient opted out of this tenant’s messages (replied TD, 退订, STOP…).',
});
export const blacklisted = createError({
  code: 'compliance.blacklisted',
  statusCode: 422,
  message: 'The recipient is on a blacklist.',
});
export const quietHours = createError({
  code: 'compliance.quiet_hours',
  statusCode: 422,
  message:
    'Marketing outside the recipient’s local daytime, and the tenant chose to refuse rather than hold.',
});
export const recipientFrequency = createError({
  code: 'limit.recipient_frequency',
  statusCode: 429,
  message: 'The recipient already got as many messages of this type as its frequency cap allows.',
});

export const invalidListPhone = createError({
  code: 'protection.invalid_phone',
  statusCode: 400,
  message: 'Not a valid mobile number.',
});
export const listEntryNotFound = createError({
  code: 'protection.not_found',
  statusCode: 404,
  message: 'The number is not on this list.',
});
export const importInvalid = createError({
  code: 'protection.import_invalid',
  statusCode: 400,
  message: 'The CSV has lines that cannot be imported; nothing was imported.',
});
export const importTooLarge = createError({
  code: 'protection.import_too_large',
  statusCode: 413,
  message: 'A list import holds at most 1,000,000 numbers.',
});
export const invalidSettings = createError({
  code: 'protection.invalid_settings',
  statusCode: 400,
  message: 'Invalid protection settings.',
});
export const reviewNotFound = createError({
  code: 'protection.review_not_found',
  statusCode: 404,
  message: 'No marketing review for this batch.',
});
export const reviewDecided = createError({
  code: 'protection.review_decided',
  statusCode: 409,
  message: 'This marketing review was already decided.',
});
export const rescheduleTooLate = createError({
  code: 'schedule.too_late',
  statusCode: 409,
  message: 'A scheduled send’s time can be changed only while it is at least one hour away.',
});
export const notReschedulable = createError({
  code: 'schedule.not_scheduled',
  statusCode: 409,
  message: 'Only a scheduled send that has not started can be given a new time.',
});
