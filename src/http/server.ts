import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { AppContext } from '../app/context.ts';
import { pendingMigrations } from '../db/migrate.ts';
import { registerMessageRoutes } from '../modules/messages/messages.routes.ts';
import { registerReplyRoutes } from '../modules/replies/replies.routes.ts';
import { errorHandler } from './error-handler.ts';
import { routeNotFound } from './http.errors.ts';

export const API_VERSION = '0.1.0';

export async function buildHttpServer(ctx: AppContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    // A log line per request costs more than the request at thousands per second; errors are logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Batches of 10,000 recipients with variables fit in a few MB; single sends set their own limit.
    bodyLimit: 8 * 1024 * 1024,
    ajv: {
      // Fastify's default silently drops unknown fields; an API should say what it did not understand.
      customOptions: {
        removeAdditional: false,
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: false,
        allowUnionTypes: true,
      },
    },
    return503OnClosing: true,
  });
  // JSON only: a text/plain body is answered 415 rather than failing schema validation.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((_request, reply) => {
    const e = routeNotFound();
    return reply.status(404).send({ error: { code: e.code, message: e.message } });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hongyan (鸿雁) SMS API',
        version: API_VERSION,
        description:
          'Send SMS, follow each message to its delivery report. Errors are `{"error":{"code":"area.reason","message":"…"}}`; codes are listed in docs/errors.md.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API key: hy_<key id>_<secret>' },
        },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get(
    '/healthz',
    { schema: { tags: ['health'], security: [], summary: 'Liveness: the process answers.' } },
    async () => ({
      status: 'ok',
    }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        security: [],
        summary: 'Readiness: database reachable and migrations applied.',
      },
    },
    async (_request, reply) => {
      try {
        const pending = await pendingMigrations(ctx.db.pool);
        if (pending > 0) return reply.status(503).send({ status: 'migrations_pending', pending });
        return { status: 'ready' };
      } catch {
        reply.header('retry-after', '5');
        return reply.status(503).send({ status: 'database_unreachable' });
      }
    },
  );

  await registerMessageRoutes(app, ctx);
  await registerReplyRoutes(app, ctx);
  return app;
}
