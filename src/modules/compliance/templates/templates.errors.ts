import { createError } from '../../../shared/errors.ts';

export const templateNotFound = createError({
  code: 'templates.not_found',
  statusCode: 404,
  message: 'No such template for this tenant.',
});
export const invalidTemplate = createError({
  code: 'templates.invalid',
  statusCode: 400,
  message: 'The template is not valid (its variables, its content, or a signature inside it).',
});
export const templateNotEditable = createError({
  code: 'templates.not_editable',
  statusCode: 409,
  message: 'Only a rejected template can be edited and resubmitted.',
});
export const templateNotPending = createError({
  code: 'templates.not_pending',
  statusCode: 409,
  message: 'Only a pending template can be approved or rejected.',
});

// Refusals of a send.
export const templateNotUsable = createError({
  code: 'templates.not_approved',
  statusCode: 422,
  message: 'The template is pending review, rejected or deleted: only approved templates can be used.',
});
export const templateRequired = createError({
  code: 'templates.required',
  statusCode: 422,
  message: 'This tenant sends by template (template_id); the operator has not allowed it free text.',
});
export const missingParam = createError({
  code: 'templates.missing_param',
  statusCode: 422,
  message: 'A variable of the template has no value in params.',
});
export const invalidParam = createError({
  code: 'templates.invalid_param',
  statusCode: 422,
  message:
    "A param breaks its variable's kind or limit (a code is 4–8 digits; text at most 20 characters, no links or phone numbers unless the template allows them).",
});
export const contentWithTemplate = createError({
  code: 'templates.content_and_template',
  statusCode: 400,
  message: 'Send either content or template_id (with params), not both, and one of them.',
});
