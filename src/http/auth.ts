import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../app/context.ts';
import { bearerToken } from '../modules/accounts/accounts.models.ts';

declare module 'fastify' {
  interface FastifyRequest {
    tenantId: number;
  }
}

/**
 * The one place a tenant id enters a request: from the credential, never from the body or path.
 * Every tenant route uses this pre-handler.
 */
export function requireTenant(ctx: AppContext) {
  return async (request: FastifyRequest) => {
    const principal = await ctx.authenticate(bearerToken(request.headers.authorization));
    request.tenantId = principal.tenantId;
  };
}
