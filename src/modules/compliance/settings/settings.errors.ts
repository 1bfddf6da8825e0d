import { createError } from '../../../shared/errors.ts';

export const invalidComplianceSettings = createError({
  code: 'compliance.invalid_settings',
  statusCode: 400,
  message: 'The compliance settings were refused (the message says why).',
});
