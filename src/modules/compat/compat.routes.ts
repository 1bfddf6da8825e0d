// The vendor-compatible APIs (issue 11), in a Fastify scope of their own: the form body parser and
// the vendor-shaped error handler apply to them only, never to /v1.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { registerAliyunRoutes } from './aliyun/aliyun.routes.ts';
import { createVendorAuth } from './compat.auth.ts';
import { compatErrorHandler, registerFormParser } from './compat.http.ts';
import { registerTencentRoutes } from './tencent/tencent.routes.ts';
import { registerTwilioRoutes } from './twilio/twilio.routes.ts';

export async function registerCompatRoutes(app: FastifyInstance, ctx: AppContext) {
  const auth = createVendorAuth({
    repository: ctx.credentials,
    keyRing: ctx.keyRing,
    windowSeconds: ctx.config.signatureWindowSeconds,
    now: () => ctx.clock.now().getTime(),
  });
  await app.register(async (scope) => {
    registerFormParser(scope);
    scope.setErrorHandler(compatErrorHandler);
    registerAliyunRoutes(scope, ctx, auth);
    registerTencentRoutes(scope, ctx, auth);
    registerTwilioRoutes(scope, ctx, auth);
  });
}
