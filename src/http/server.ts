import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { AppContext } from '../app/context.ts';
import { pendingMigrations } from '../db/migrate.ts';
import { registerCredentialRoutes } from '../modules/credentials/credentials.routes.ts';
import { registerSmppAccountRoutes } from '../modules/smpp-server/smpp-accounts.routes.ts';
import { registerListRoutes } from '../modules/compliance/protection/lists.routes.ts';
import { registerProtectionOperatorRoutes } from '../modules/compliance/protection/operator.routes.ts';
import { registerComplianceSettingsRoutes } from '../modules/compliance/settings/settings.routes.ts';
import { registerBillingRoutes } from '../modules/billing/billing.routes.ts';
import { registerBillingCommerceRoutes } from '../modules/billing/commerce/commerce.routes.ts';
import { registerBillingOperatorRoutes } from '../modules/billing/commerce/commerce.operator.routes.ts';
import { registerAuditRoutes } from '../modules/accounts/audit.routes.ts';
import { registerAuthRoutes } from '../modules/accounts/auth.routes.ts';
import { registerMemberRoutes } from '../modules/accounts/members.routes.ts';
import { registerOperatorRoutes } from '../modules/accounts/operator.routes.ts';
import { registerPhoneRoutes } from '../modules/accounts/phone.routes.ts';
import { registerOwnSessionRoutes } from '../modules/accounts/own-sessions.routes.ts';
import { registerStaffRoutes } from '../modules/accounts/staff.routes.ts';
import { registerMessageExportRoutes } from '../modules/messages/export.routes.ts';
import { registerMessageRoutes } from '../modules/messages/messages.routes.ts';
import { registerSignatureRoutes } from '../modules/compliance/signatures/signatures.routes.ts';
import { registerTemplateRoutes } from '../modules/compliance/templates/templates.routes.ts';
import { registerReplyRoutes } from '../modules/replies/replies.routes.ts';
import { registerReviewRoutes } from '../modules/tenants/review.routes.ts';
import { registerChannelRoutes } from '../modules/channels/channels.routes.ts';
import { registerRoutingRoutes } from '../modules/routing/routing.routes.ts';
import { registerWebhookRoutes } from '../modules/webhooks/webhooks.routes.ts';
import { registerCampaignRoutes } from '../modules/campaigns/campaigns.routes.ts';
import { registerShortLinkRoutes } from '../modules/shortlinks/shortlinks.routes.ts';
import { registerCompatRoutes } from '../modules/compat/compat.routes.ts';
import { registerVerificationRoutes } from '../modules/verifications/verifications.routes.ts';
import { registerMetrics } from '../modules/metrics/metrics.routes.ts';
import { registerRulesRoutes } from '../modules/compliance/rules/rules.routes.ts';
import { registerTenantRoutes } from '../modules/tenants/tenants.routes.ts';
import { registerContactRoutes } from '../modules/contacts/contacts.routes.ts';
import { registerContactGroupRoutes } from '../modules/contacts/groups.routes.ts';
import { registerContactImportRoutes } from '../modules/contacts/imports.routes.ts';
import { registerConsoleRoutes } from '../modules/console/console.routes.ts';
import { enforcePermissions } from './auth.ts';
import { capConnectionsPerAddress, createClientErrorHandler } from './connections.ts';
import { errorHandler } from './error-handler.ts';
import { methodNotAllowed, routeNotFound, serviceUnavailable } from './http.errors.ts';
import { buildValidatorByHttpPart, checkUrlText, registerJsonBodyParser } from './validation.ts';

export const API_VERSION = '0.1.0';

export async function buildHttpServer(
  ctx: AppContext,
  { consoleDir }: { consoleDir?: string } = {},
): Promise<FastifyInstance> {
  const log = ctx.logger.child({ component: 'http' }) as unknown as FastifyBaseLogger;
  const { config } = ctx;
  // Node refuses a headers timeout longer than the request timeout; it checks both only every
  // connectionsCheckingInterval (30 s by default), which would add up to 30 s to each.
  const headersTimeout = Math.min(config.httpHeadersTimeoutMs, config.httpRequestTimeoutMs);
  const app = Fastify({
    loggerInstance: log,
    // A log line per request costs more than the request at thousands per second; errors are logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Batches of 10,000 recipients with variables fit in a few MB; single sends set their own limit.
    bodyLimit: 8 * 1024 * 1024,
    // Bodies are never coerced ("content":123 is refused, not stored as "123"); query strings are.
    schemaController: { compilersFactory: { buildValidator: buildValidatorByHttpPart() } },
    requestTimeout: config.httpRequestTimeoutMs,
    connectionTimeout: config.httpIdleTimeoutMs,
    keepAliveTimeout: config.httpKeepAliveTimeoutMs,
    http: {
      headersTimeout,
      requestTimeout: config.httpRequestTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(headersTimeout / 4))),
    },
    clientErrorHandler: createClientErrorHandler(log),
    frameworkErrors: (error, request, reply) => errorHandler(error, request, reply),
    // Fastify's own 503 while closing is not in the documented shape; the hook below answers.
    return503OnClosing: false,
  });
  capConnectionsPerAddress(app.server, config.httpMaxConnectionsPerAddress, log);
  // JSON only: a text/plain body is answered 415 rather than failing schema validation.
  app.removeContentTypeParser('text/plain');
  registerJsonBodyParser(app);
  app.addHook('preValidation', checkUrlText);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Callback style: this runs on every request, and an async hook costs a promise each time.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    const e = serviceUnavailable({ message: 'This node is shutting down; nothing was accepted. Retry.' });
    void reply
      .header('connection', 'close')
      .header('retry-after', '1')
      .status(e.statusCode)
      .send({ error: { code: e.code, message: e.message } });
  });
  app.setErrorHandler(errorHandler);
  await registerMetrics(app, ctx); // the HTTP latency hook, before every route
  const routes = routeMethods(app);
  app.setNotFoundHandler((request, reply) => {
    const allowed = routes.allowedMethods(request.url);
    const e = allowed.length > 0 ? methodNotAllowed() : routeNotFound();
    if (allowed.length > 0) reply.header('allow', allowed.join(', '));
    return reply.status(e.statusCode).send({ error: { code: e.code, message: e.message } });
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
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'hy_session',
            description:
              'Console session from POST /v1/auth/login; changes also need the X-CSRF-Token header given at login.',
          },
          signed: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Hy-Key',
            description:
              'Signed request: the AppKey in X-Hy-Key with X-Hy-Timestamp, X-Hy-Nonce and X-Hy-Signature (HMAC-SHA256 of a canonical string; docs/api-signing.md).',
          },
        },
      },
      security: [{ bearer: [] }, { session: [] }, { signed: [] }],
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

  // Before any /v1 route: each gets the one permission check (src/http/auth.ts).
  enforcePermissions(app, ctx);
  await registerMessageRoutes(app, ctx);
  await registerSignatureRoutes(app, ctx);
  await registerTemplateRoutes(app, ctx);
  await registerMessageExportRoutes(app, ctx);
  await registerReplyRoutes(app, ctx);
  await registerAuthRoutes(app, ctx);
  await registerOwnSessionRoutes(app, ctx);
  await registerPhoneRoutes(app, ctx);
  await registerMemberRoutes(app, ctx);
  await registerAuditRoutes(app, ctx);
  await registerOperatorRoutes(app, ctx);
  await registerStaffRoutes(app, ctx);
  await registerCredentialRoutes(app, ctx);
  await registerSmppAccountRoutes(app, ctx);
  await registerTenantRoutes(app, ctx);
  await registerReviewRoutes(app, ctx);
  await registerListRoutes(app, ctx);
  await registerProtectionOperatorRoutes(app, ctx);
  await registerComplianceSettingsRoutes(app, ctx);
  await registerBillingRoutes(app, ctx);
  await registerChannelRoutes(app, ctx);
  await registerRoutingRoutes(app, ctx);
  await registerWebhookRoutes(app, ctx);
  await registerCampaignRoutes(app, ctx);
  // Public short-link redirects (GET /s/:code), outside /v1.
  await registerShortLinkRoutes(app, ctx);
  await registerVerificationRoutes(app, ctx);
  await registerRulesRoutes(app, ctx);
  await registerBillingCommerceRoutes(app, ctx);
  await registerBillingOperatorRoutes(app, ctx);
  await registerContactRoutes(app, ctx);
  await registerContactGroupRoutes(app, ctx);
  await registerContactImportRoutes(app, ctx);
  // Aliyun, Tencent Cloud and Twilio SDK-compatible APIs, outside /v1 (docs/compatible-apis.md).
  await registerCompatRoutes(app, ctx);
  // Last: the console's page answers only GETs no route above claims.
  if (consoleDir) await registerConsoleRoutes(app, { dir: consoleDir });
  return app;
}

/** Which methods each registered path answers, so a wrong method is a 405 and not a 404. */
function routeMethods(app: FastifyInstance) {
  const byPath: { pattern: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (route) => {
    if (route.url.includes('*')) return;
    const source = route.url.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+');
    let entry = byPath.find((e) => e.pattern.source === `^${source}/?$`);
    if (!entry) {
      entry = { pattern: new RegExp(`^${source}/?$`), methods: new Set() };
      byPath.push(entry);
    }
    for (const m of [route.method].flat()) entry.methods.add(m);
  });
  return {
    allowedMethods(url: string): string[] {
      const path = url.split('?', 1)[0]!;
      return [...new Set(byPath.filter((e) => e.pattern.test(path)).flatMap((e) => [...e.methods]))];
    },
  };
}
