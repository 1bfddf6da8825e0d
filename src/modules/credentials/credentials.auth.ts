// The signed-request path of the /v1 pre-handler (src/http/auth.ts calls it when X-Hy-Key is
// present; the bearer path is unchanged).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../shared/errors.ts';
import { rateLimited } from './credentials.errors.ts';
import type { SignedPrincipal, SignedRequestVerifier } from './credentials.verify.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed credential that authenticated this request (undefined for bearer keys). */
    credential?: SignedPrincipal;
  }
}

export function isSignedRequest(request: FastifyRequest): boolean {
  return request.headers['x-hy-key'] !== undefined;
}

export async function authenticateSignedRequest(
  verifier: SignedRequestVerifier,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<SignedPrincipal> {
  try {
    const principal = await verifier.verify(
      {
        method: request.method,
        url: request.raw.url ?? request.url,
        headers: request.headers,
        body: request.rawBody,
        address: request.ip,
      },
      // A route that admits one message spends the nonce in that message's transaction.
      { deferNonce: request.routeOptions.config.deferNonce === true },
    );
    request.credential = principal;
    return principal;
  } catch (error) {
    if (error instanceof AppError && error.code === rateLimited.code) {
      const seconds = (error.details as { retry_after?: number } | undefined)?.retry_after ?? 1;
      void reply.header('retry-after', String(seconds));
    }
    throw error;
  }
}
