// Errors of packages, prices, orders, alerts and statements (billing, commerce side).
import { createError } from '../../../shared/errors.ts';

export const packageNotFound = createError({
  code: 'billing.package_not_found',
  statusCode: 404,
  message: 'No such package.',
});
export const packageUnavailable = createError({
  code: 'billing.package_unavailable',
  statusCode: 409,
  message: 'This package is not on sale.',
});
export const orderNotFound = createError({
  code: 'billing.order_not_found',
  statusCode: 404,
  message: 'No such order.',
});
export const orderNotConfirmable = createError({
  code: 'billing.order_not_confirmable',
  statusCode: 409,
  message: 'Only a created or paid order can be confirmed; a canceled order cannot.',
});
export const orderNotCancelable = createError({
  code: 'billing.order_not_cancelable',
  statusCode: 409,
  message: 'Only an order not yet paid can be canceled; purchased packages are not refundable.',
});
export const invalidPrice = createError({
  code: 'billing.invalid_price',
  statusCode: 400,
  message: 'Invalid package or price settings; details lists each problem.',
});
export const invalidStatementRange = createError({
  code: 'billing.invalid_range',
  statusCode: 400,
  message:
    'from and to must be dates (YYYY-MM-DD), from not after to, at most 366 days apart; group_by a list of day, type, signature, channel.',
});
export const adjustUnavailable = createError({
  code: 'billing.adjust_unavailable',
  statusCode: 503,
  message: 'Balance adjustments need the billing ledger, which this build does not have.',
});
