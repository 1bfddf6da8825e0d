// Errors of balances, the ledger and charging (billing, ledger side). Commerce's are in
// commerce/commerce.errors.ts.
import { createError } from '../../shared/errors.ts';

export const insufficientQuota = createError({
  code: 'billing.insufficient_quota',
  statusCode: 402,
  message: 'The balance does not cover this message; buy a package to go on sending.',
});
export const invalidCredit = createError({
  code: 'billing.invalid_credit',
  statusCode: 400,
  message: 'A credit needs a positive whole number of parts and an expiry in the future.',
});
export const adjustmentBelowZero = createError({
  code: 'billing.adjustment_below_zero',
  statusCode: 409,
  message: 'The adjustment would take more parts than the tenant has available.',
});
export const invalidLedgerCursor = createError({
  code: 'billing.invalid_cursor',
  statusCode: 400,
  message: 'The cursor is not valid.',
});
