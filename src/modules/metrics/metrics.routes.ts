// GET /metrics (Prometheus text format) and the HTTP latency histogram. Who may scrape: with
// HONGYAN_METRICS_TOKEN set, a request bearing that token (compared in constant time); without
// it, only requests from loopback, so a default install never shows its figures to the network.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { collectDatabaseGauges } from './metrics.collect.ts';
import { metricsForbidden, metricsUnauthenticated } from './metrics.errors.ts';
import { httpDuration, registry } from './metrics.registry.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

const digest = (s: string) => createHash('sha256').update(s).digest();

export function mayScrape(request: Pick<FastifyRequest, 'ip' | 'headers'>, token: string): void {
  if (token === '') {
    if (!LOOPBACK.test(request.ip)) throw metricsForbidden();
    return;
  }
  const header = request.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7) : '';
  if (given === '' || !timingSafeEqual(digest(given), digest(token))) throw metricsUnauthenticated();
}

/** The route pattern (e.g. /v1/messages/:id), never the URL, so labels stay few. */
function observeRequest(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  httpDuration.observe(
    {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_code: String(reply.statusCode),
    },
    reply.elapsedTime / 1000,
  );
  done();
}

/** Call before the routes are registered: the hook then times every route. */
export async function registerMetrics(app: FastifyInstance, ctx: AppContext) {
  app.addHook('onResponse', observeRequest);
  const settings = { scanMessages: ctx.config.metricsScanMessages, countCap: ctx.config.metricsCountCap };
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['health'],
        security: [],
        summary:
          'Prometheus metrics (text format). Bearer HONGYAN_METRICS_TOKEN, or from loopback when no token is set (docs/metrics.md).',
      },
    },
    async (request, reply) => {
      mayScrape(request, ctx.config.metricsToken);
      await collectDatabaseGauges(ctx.db.pool, settings);
      return reply.header('content-type', registry.contentType).send(await registry.metrics());
    },
  );
}
