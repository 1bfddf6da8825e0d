import { createError } from '../../shared/errors.ts';

export const endpointNotFound = createError({
  code: 'webhooks.endpoint_not_found',
  statusCode: 404,
  message: 'No such webhook endpoint for this tenant.',
});
export const deliveryNotFound = createError({
  code: 'webhooks.delivery_not_found',
  statusCode: 404,
  message: 'No such webhook delivery for this tenant.',
});
export const invalidUrl = createError({
  code: 'webhooks.invalid_url',
  statusCode: 400,
  message:
    'The webhook URL must be an absolute http:// or https:// URL without credentials, at most 2,000 characters.',
});
export const urlRefused = createError({
  code: 'webhooks.url_refused',
  statusCode: 422,
  message:
    'The webhook URL points inside (loopback, private, link-local, CGNAT, multicast or metadata addresses) and the operator does not allow that range (HONGYAN_WEBHOOK_ALLOW_RANGES).',
});
export const replayRefused = createError({
  code: 'webhooks.replay_refused',
  statusCode: 409,
  message: 'This delivery cannot be replayed: it is still pending, or its endpoint was deleted.',
});
export const formatEvents = createError({
  code: 'webhooks.format_events',
  statusCode: 400,
  message:
    'An endpoint in a vendor\'s format (aliyun, tencent) receives status reports only: its events must be ["message.status"].',
});
