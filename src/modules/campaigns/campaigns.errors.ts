import { createError } from '../../shared/errors.ts';

export const campaignNotFound = createError({
  code: 'campaigns.not_found',
  statusCode: 404,
  message: 'No such campaign for this tenant.',
});
export const runNotFound = createError({
  code: 'campaigns.run_not_found',
  statusCode: 404,
  message: 'No such run of this campaign.',
});
export const audienceEmpty = createError({
  code: 'campaigns.audience_empty',
  statusCode: 422,
  message: 'The audience has no valid recipient (no valid pasted number, and no group or segment).',
});
export const audienceTooLarge = createError({
  code: 'campaigns.audience_too_large',
  statusCode: 413,
  message: 'At most 10,000 pasted numbers, one per line.',
});
export const invalidSchedule = createError({
  code: 'campaigns.invalid_schedule',
  statusCode: 400,
  message: 'The schedule cannot be run.',
});
export const invalidAb = createError({
  code: 'campaigns.invalid_ab',
  statusCode: 400,
  message: 'The A/B test settings are not valid.',
});
export const invalidLink = createError({
  code: 'campaigns.invalid_link',
  statusCode: 400,
  message: 'A URL of the content cannot be shortened (http or https with a host only).',
});
export const invalidTransition = createError({
  code: 'campaigns.invalid_transition',
  statusCode: 409,
  message:
    "The campaign's state does not allow this (start a draft, pause an active one, resume a paused one).",
});
export const noChoice = createError({
  code: 'campaigns.no_choice',
  statusCode: 409,
  message: 'This run does not wait for an A/B winner, or the variant is not one of its variants.',
});
export const invalidAudienceFile = createError({
  code: 'campaigns.invalid_audience_file',
  statusCode: 400,
  message: 'The audience file cannot be read.',
});
export const audienceFileTooLarge = createError({
  code: 'campaigns.audience_file_too_large',
  statusCode: 413,
  message: 'The audience file is larger than 32 MiB; import larger lists as contacts.',
});
export const audienceFileNotFound = createError({
  code: 'campaigns.audience_file_not_found',
  statusCode: 404,
  message: 'No such audience file for this tenant.',
});
