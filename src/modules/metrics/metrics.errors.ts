import { createError } from '../../shared/errors.ts';

export const metricsUnauthenticated = createError({
  code: 'metrics.unauthenticated',
  statusCode: 401,
  message: 'GET /metrics needs Authorization: Bearer <HONGYAN_METRICS_TOKEN>.',
});
export const metricsForbidden = createError({
  code: 'metrics.forbidden',
  statusCode: 403,
  message:
    'GET /metrics without HONGYAN_METRICS_TOKEN answers only requests from this machine (loopback); set a token to scrape from elsewhere.',
});
