// Console login for tenant members and operator staff: password, then a TOTP code when two-factor
// is on; the session lives server-side and the browser holds its id in an HttpOnly cookie.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import type { Principal } from '../../http/auth.ts';
import { errorResponses } from '../../http/schemas.ts';
import { forbidden } from './accounts.errors.ts';
import { countUnusedRecoveryCodes, deleteSession } from './sessions.repository.ts';
import { CSRF_COOKIE, hashToken, parseCookies, serializeCookie, SESSION_COOKIE } from './sessions.models.ts';
import {
  changePassword,
  completeTwoFactor,
  type IssuedSession,
  type LoginSettings,
  login,
} from './sessions.usecases.ts';
import { resetPasswordWithCode } from './reset-codes.ts';
import { confirmTwoFactor, disableTwoFactor, enrolTwoFactor } from './totp.usecases.ts';

export function loginSettings(config: AppContext['config']): LoginSettings {
  const lockoutMs = config.loginLockoutMinutes * 60_000;
  const common = {
    freeFailures: config.loginFreeFailures,
    baseDelayMs: config.loginBackoffBaseMs,
    maxDelayMs: config.loginBackoffMaxMs,
    lockoutMs,
  };
  return {
    idleMs: config.sessionIdleMinutes * 60_000,
    absoluteMs: config.sessionAbsoluteHours * 3_600_000,
    account: { ...common, lockoutAfter: config.loginLockoutAfter },
    // One address carries many people behind a NAT or proxy: its delays start only halfway to
    // its (higher) lockout threshold, so one person's typos do not slow the office down.
    address: {
      ...common,
      freeFailures: Math.max(config.loginFreeFailures, Math.floor(config.loginAddressLockoutAfter / 2)),
      lockoutAfter: config.loginAddressLockoutAfter,
    },
  };
}

const noContent = { 204: { type: 'null', description: 'Done.' }, ...errorResponses } as const;
const str = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;
const body = (properties: Record<string, unknown>, required: string[]) =>
  ({ type: 'object', additionalProperties: false, properties, required }) as const;

/** The session's own account; API keys have none. */
function sessionPrincipal(request: FastifyRequest): Exclude<Principal, { kind: 'key' }> {
  const p = request.principal;
  if (!p || p.kind === 'key')
    throw forbidden({ message: 'This route needs a console session, not an API key.' });
  return p;
}

export async function registerAuthRoutes(app: FastifyInstance, ctx: AppContext) {
  const settings = loginSettings(ctx.config);
  const db = ctx.db.pool;
  const secure = ctx.config.sessionCookieSecure;

  function setSessionCookies(reply: FastifyReply, session: IssuedSession | null) {
    const maxAge = session ? Math.floor(settings.absoluteMs / 1000) : 0;
    void reply.header('set-cookie', [
      serializeCookie({
        name: SESSION_COOKIE,
        value: session?.token ?? '',
        maxAgeSeconds: maxAge,
        httpOnly: true,
        secure,
      }),
      // Readable by the console's script, which echoes it in X-CSRF-Token; another site cannot read it.
      serializeCookie({
        name: CSRF_COOKIE,
        value: session?.csrf ?? '',
        maxAgeSeconds: maxAge,
        httpOnly: false,
        secure,
      }),
    ]);
  }

  /** A session id the client came with is never kept across a login (no fixation). */
  async function dropPresentedSession(request: FastifyRequest) {
    const presented = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
    if (presented) await deleteSession(db, hashToken(presented));
  }

  const sessionAnswer = (session: IssuedSession) => ({
    stage: session.stage,
    csrf_token: session.csrf,
    account: {
      kind: session.subject.kind,
      id: session.subject.id,
      login: session.subject.login,
      role: session.subject.role,
      tenant_id: session.subject.tenantId,
    },
  });

  app.post<{ Body: { login: string; password: string } }>(
    '/v1/auth/login',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        security: [],
        summary: 'Log in with email (member) or username (operator staff) and password',
        body: body({ login: str(320), password: str(256) }, ['login', 'password']),
        response: errorResponses,
      },
    },
    async (request, reply) => {
      await dropPresentedSession(request);
      const result = await withRetryAfter(reply, () =>
        login({
          db,
          login: request.body.login,
          password: request.body.password,
          ip: request.ip,
          now: ctx.clock.now(),
          settings,
        }),
      );
      if (result.stage === 'two_factor') {
        setSessionCookies(reply, null);
        return { stage: 'two_factor', challenge: result.challenge };
      }
      setSessionCookies(reply, result);
      return sessionAnswer(result);
    },
  );

  app.post<{ Body: { challenge: string; code?: string; recovery_code?: string } }>(
    '/v1/auth/login/two-factor',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        security: [],
        summary: 'Second login step: the TOTP code (or one recovery code) for the challenge',
        body: {
          ...body({ challenge: str(64), code: str(6), recovery_code: str(32) }, ['challenge']),
          oneOf: [{ required: ['code'] }, { required: ['recovery_code'] }],
        },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      await dropPresentedSession(request);
      const session = await withRetryAfter(reply, () =>
        completeTwoFactor({
          db,
          challenge: request.body.challenge,
          code: request.body.code,
          recoveryCode: request.body.recovery_code,
          ip: request.ip,
          now: ctx.clock.now(),
          settings,
          keyRing: ctx.keyRing,
        }),
      );
      setSessionCookies(reply, session);
      return sessionAnswer(session);
    },
  );

  app.post<{ Body: { email: string; reset_code: string; new_password: string } }>(
    '/v1/auth/reset',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        security: [],
        summary: "Set a member's new password with a one-time reset code (ends the member's sessions)",
        body: body({ email: str(320), reset_code: str(64), new_password: str(256) }, [
          'email',
          'reset_code',
          'new_password',
        ]),
        response: noContent,
      },
    },
    async (request, reply) => {
      await withRetryAfter(reply, () =>
        resetPasswordWithCode({
          db,
          email: request.body.email,
          code: request.body.reset_code,
          newPassword: request.body.new_password,
          ip: request.ip,
          now: ctx.clock.now(),
          settings,
        }),
      );
      return reply.status(204).send();
    },
  );

  app.get(
    '/v1/auth/me',
    {
      config: { permission: 'account.self' },
      schema: { tags: ['auth'], summary: 'The logged-in account', response: errorResponses },
    },
    async (request) => {
      const p = sessionPrincipal(request);
      const s = p.subject;
      return {
        kind: s.kind,
        id: s.id,
        login: s.login,
        role: s.role,
        tenant_id: s.tenantId,
        stage: p.session.stage,
        two_factor: {
          enabled: s.totpSecret !== null,
          required: s.twoFactorRequired,
          recovery_codes_left: s.totpSecret ? await countUnusedRecoveryCodes(db, s.kind, s.id) : 0,
        },
      };
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      config: { permission: 'account.self' },
      schema: { tags: ['auth'], summary: 'End this session', response: noContent },
    },
    async (request, reply) => {
      const p = sessionPrincipal(request);
      await deleteSession(db, p.session.id_hash);
      setSessionCookies(reply, null);
      return reply.status(204).send();
    },
  );

  app.post<{ Body: { current_password: string; new_password: string } }>(
    '/v1/auth/password',
    {
      config: { permission: 'account.self' },
      schema: {
        tags: ['auth'],
        summary: "Change one's own password (ends every other session of the account)",
        body: body({ current_password: str(256), new_password: str(256) }, [
          'current_password',
          'new_password',
        ]),
        response: noContent,
      },
    },
    async (request, reply) => {
      const p = sessionPrincipal(request);
      await changePassword({
        db,
        subject: p.subject,
        sessionIdHash: p.session.id_hash,
        current: request.body.current_password,
        next: request.body.new_password,
        ip: request.ip,
        now: ctx.clock.now(),
      });
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/auth/two-factor',
    {
      config: { permission: 'account.self' },
      schema: {
        tags: ['auth'],
        summary: 'Start two-factor set-up: the secret, shown once, as an otpauth:// URI',
        response: errorResponses,
      },
    },
    async (request) =>
      enrolTwoFactor({ db, subject: sessionPrincipal(request).subject, keyRing: ctx.keyRing }),
  );

  app.post<{ Body: { code: string } }>(
    '/v1/auth/two-factor/confirm',
    {
      config: { permission: 'account.self' },
      schema: {
        tags: ['auth'],
        summary: 'Turn two-factor on with a first code; answers ten one-time recovery codes, shown once',
        body: body({ code: str(6) }, ['code']),
        response: errorResponses,
      },
    },
    async (request) => {
      const p = sessionPrincipal(request);
      return confirmTwoFactor({
        db,
        subject: p.subject,
        code: request.body.code,
        sessionIdHash: p.session.id_hash,
        ip: request.ip,
        now: ctx.clock.now(),
        keyRing: ctx.keyRing,
      });
    },
  );

  app.post<{ Body: { password: string } }>(
    '/v1/auth/two-factor/disable',
    {
      config: { permission: 'account.self' },
      schema: {
        tags: ['auth'],
        summary: 'Turn two-factor off (needs the password; refused when the operator requires it)',
        body: body({ password: str(256) }, ['password']),
        response: noContent,
      },
    },
    async (request, reply) => {
      const p = sessionPrincipal(request);
      await disableTwoFactor({
        db,
        subject: p.subject,
        password: request.body.password,
        ip: request.ip,
        now: ctx.clock.now(),
      });
      return reply.status(204).send();
    },
  );
}

/** Backoff and lockout answers carry Retry-After, as a 429 should. */
async function withRetryAfter<T>(reply: FastifyReply, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const retryAfter = (error as { details?: { retry_after?: number } }).details?.retry_after;
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    throw error;
  }
}
