// Who is calling, and may they: the one place both are decided for every /v1 route. A route
// declares its permission in its config (`config: { permission: 'messages.send' }`); the
// pre-handler added to every /v1 route by `enforcePermissions` finds the principal (signed
// credential, bearer key or session cookie), checks CSRF for cookie-authenticated changes, and
// checks the permission table. A /v1 route that declares nothing is refused to everyone.
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { AppContext } from '../app/context.ts';
import {
  csrfFailed,
  forbidden,
  twoFactorSetupRequired,
  unauthenticated,
} from '../modules/accounts/accounts.errors.ts';
import { bearerToken } from '../modules/accounts/accounts.models.ts';
import {
  type Actor,
  allows,
  isPermission,
  PUBLIC,
  type RoutePermission,
  scopeFor,
  type StaffRole,
  type TenantRole,
} from '../modules/accounts/permissions.models.ts';
import {
  CSRF_HEADER,
  hashToken,
  parseCookies,
  SESSION_COOKIE,
  tokenMatches,
} from '../modules/accounts/sessions.models.ts';
import type { SessionRow, Subject } from '../modules/accounts/sessions.repository.ts';
import { resolveSession } from '../modules/accounts/sessions.usecases.ts';
import { mayUseBeforeApproval } from '../modules/tenants/tenants.models.ts';
import { tenantNotApproved } from '../modules/tenants/tenants.errors.ts';
import { authenticateSignedRequest, isSignedRequest } from '../modules/credentials/credentials.auth.ts';
import { scopeDenied } from '../modules/credentials/credentials.errors.ts';

export type Principal =
  | {
      kind: 'key';
      tenantId: number;
      actor: string;
      /** A signed credential's scopes (docs/api-signing.md); absent for bearer keys (every scope). */
      scopes?: readonly string[];
    }
  | {
      kind: 'member';
      tenantId: number;
      role: TenantRole;
      actor: string;
      subject: Subject;
      session: SessionRow;
    }
  | { kind: 'staff'; role: StaffRole; actor: string; subject: Subject; session: SessionRow };

declare module 'fastify' {
  interface FastifyRequest {
    tenantId: number;
    principal?: Principal;
    /** The caller may see full phone numbers (`messages.read_full_numbers`); else views mask them. */
    seesFullNumbers?: boolean;
  }
  interface FastifyInstance {
    v1Routes: RoutePermissionEntry[];
  }
  interface FastifyContextConfig {
    permission?: RoutePermission;
    /**
     * A signed request's nonce is spent by the route, in the transaction of the message it admits
     * (credentials/nonce.admission.ts), not by the pre-handler. Only for routes that do.
     */
    deferNonce?: boolean;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

async function findPrincipal(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Principal> {
  if (isSignedRequest(request)) {
    const signed = await authenticateSignedRequest(ctx.signedRequests, request, reply);
    return {
      kind: 'key',
      tenantId: signed.tenantId,
      actor: `credential:${signed.appKey}`,
      scopes: signed.scopes,
    };
  }
  // An Authorization header always means a key (never falls back to a cookie), as in the core.
  const sessionToken = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
  if (request.headers.authorization !== undefined || sessionToken === undefined) {
    const token = bearerToken(request.headers.authorization);
    const key = await ctx.authenticate(token);
    return { kind: 'key', tenantId: key.tenantId, actor: `key:${token?.split('_')[1] ?? ''}` };
  }
  const resolved = await resolveSession({
    db: ctx.db.pool,
    idHash: hashToken(sessionToken),
    now: ctx.clock.now(),
    idleMs: ctx.config.sessionIdleMinutes * 60_000,
  });
  if (!resolved)
    throw unauthenticated({ message: 'The session is missing, expired or ended; log in again.' });
  const { row, subject } = resolved;
  // SameSite=Lax already keeps most cross-site posts from carrying the cookie; the token, which
  // another site cannot read, covers the rest (older browsers, same-site subdomains).
  if (!SAFE_METHODS.has(request.method)) {
    const header = request.headers[CSRF_HEADER];
    if (typeof header !== 'string' || !tokenMatches(header, row.csrf_hash)) throw csrfFailed();
  }
  const actor = `${subject.kind}:${subject.id}`;
  return subject.kind === 'member'
    ? {
        kind: 'member',
        tenantId: subject.tenantId!,
        role: subject.role as TenantRole,
        actor,
        subject,
        session: row,
      }
    : { kind: 'staff', role: subject.role as StaffRole, actor, subject, session: row };
}

function actorFor(principal: Principal): Actor {
  if (principal.kind === 'staff') return { kind: 'staff', role: principal.role };
  if (principal.kind === 'member')
    return { kind: 'member', tenantId: principal.tenantId, role: principal.role };
  // A signed credential holds what its scopes grant, through the same table (permission → scope).
  if (principal.scopes !== undefined)
    return { kind: 'credential', tenantId: principal.tenantId, scopes: principal.scopes };
  return { kind: 'key', tenantId: principal.tenantId };
}

export function authorize(ctx: AppContext): preHandlerHookHandler {
  return async function checkPermission(request, reply) {
    const permission = request.routeOptions.config.permission;
    if (!isPermission(permission)) throw forbidden({ message: 'This route declares no permission.' });
    if (permission === PUBLIC) return;
    const principal = await findPrincipal(ctx, request, reply);
    // A session whose account must set up two-factor reaches only the account's own routes.
    if (principal.kind !== 'key' && principal.session.stage === 'enrol' && permission !== 'account.self') {
      throw twoFactorSetupRequired();
    }
    const actor = actorFor(principal);
    if (!allows(actor, permission)) {
      if (actor.kind === 'credential')
        throw scopeDenied({ details: { required: scopeFor(permission), scopes: actor.scopes } });
      throw forbidden();
    }
    // A tenant not approved yet (or rejected) reaches only its account and its application.
    if (
      principal.kind === 'member' &&
      principal.subject.tenantStatus !== 'active' &&
      !mayUseBeforeApproval(permission)
    ) {
      throw tenantNotApproved();
    }
    request.principal = principal;
    request.seesFullNumbers = allows(actor, 'messages.read_full_numbers');
    if (principal.kind !== 'staff') request.tenantId = principal.tenantId;
  };
}

export interface RoutePermissionEntry {
  method: string;
  url: string;
  permission: unknown;
  /** The route's JSON schemas as declared (body, querystring, params), so a test sees its fields. */
  schema?: { body?: unknown; querystring?: unknown; params?: unknown };
}

/**
 * Adds the permission check in front of every /v1 route registered after this call, and keeps
 * the list of those routes with what they declare (`app.v1Routes`), so a test walks the real table.
 */
export function enforcePermissions(app: FastifyInstance, ctx: AppContext) {
  const check = authorize(ctx);
  const routes: RoutePermissionEntry[] = [];
  app.decorate('v1Routes', routes);
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/')) return;
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') {
        const { body, querystring, params } = route.schema ?? {};
        routes.push({
          method,
          url: route.url,
          permission: route.config?.permission,
          schema: { body, querystring, params },
        });
      }
    }
    const existing = route.preHandler === undefined ? [] : [route.preHandler].flat();
    route.preHandler = [check, ...existing];
  });
}

/**
 * The one place a tenant id enters a request: from the credential, never from the body or path.
 * Every tenant route uses this pre-handler; behind `enforcePermissions` the principal is already
 * known and this only refuses principals without a tenant (staff).
 */
export function requireTenant(ctx: AppContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = request.principal ?? (await findPrincipal(ctx, request, reply));
    if (principal.kind === 'staff') throw forbidden({ message: 'Operator staff have no tenant.' });
    request.principal = principal;
    request.tenantId = principal.tenantId;
  };
}
