// A member's or staff member's own live sessions: list them, and end one (a lost laptop) without
// ending the others. A session is named by the hex of its id's SHA-256, which is what we store:
// the name cannot be turned back into a cookie, so listing it leaks nothing usable.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app/context.ts';
import { errorResponses } from '../../http/schemas.ts';
import { forbidden, sessionNotFound } from './accounts.errors.ts';
import { audit } from './audit.ts';
import type { SubjectKind } from './sessions.repository.ts';

interface OwnSessionRow {
  id_hash: Buffer;
  ip: string | null;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

function owner(request: FastifyRequest) {
  const p = request.principal;
  if (!p || p.kind === 'key')
    throw forbidden({ message: 'This route needs a console session, not an API key.' });
  return p;
}

export async function listOwnSessions(
  db: AppContext['db']['pool'],
  kind: SubjectKind,
  id: number,
  now: Date,
): Promise<OwnSessionRow[]> {
  const { rows } = await db.query<OwnSessionRow>(
    `select id_hash, ip, created_at, last_seen_at, expires_at from sessions
      where subject_kind = $1 and subject_id = $2 and stage = 'active' and expires_at > $3
      order by last_seen_at desc`,
    [kind, id, now],
  );
  return rows;
}

/** Deletes one session only if it belongs to the caller: another account's id reads as unknown. */
export async function deleteOwnSession(
  db: AppContext['db']['pool'],
  kind: SubjectKind,
  id: number,
  idHash: Buffer,
): Promise<boolean> {
  const { rowCount } = await db.query(
    'delete from sessions where id_hash = $1 and subject_kind = $2 and subject_id = $3',
    [idHash, kind, id],
  );
  return rowCount === 1;
}

const sessionView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    current: { type: 'boolean' },
    ip: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    last_seen_at: { type: 'string', format: 'date-time' },
    expires_at: { type: 'string', format: 'date-time' },
  },
} as const;

export async function registerOwnSessionRoutes(app: FastifyInstance, ctx: AppContext) {
  const db = ctx.db.pool;

  app.get(
    '/v1/auth/sessions',
    {
      config: { permission: 'account.self' },
      schema: {
        tags: ['auth'],
        summary: 'List your own live console sessions',
        response: {
          200: { type: 'object', properties: { sessions: { type: 'array', items: sessionView } } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const p = owner(request);
      const rows = await listOwnSessions(db, p.subject.kind, p.subject.id, ctx.clock.now());
      return {
        sessions: rows.map((r) => ({
          id: r.id_hash.toString('hex'),
          current: r.id_hash.equals(p.session.id_hash),
          ip: r.ip,
          created_at: r.created_at.toISOString(),
          last_seen_at: r.last_seen_at.toISOString(),
          expires_at: r.expires_at.toISOString(),
        })),
      };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/auth/sessions/:id',
    {
      config: { permission: 'account.self' },
      schema: {
        tags: ['auth'],
        summary: 'End one of your own sessions',
        params: {
          type: 'object',
          properties: { id: { type: 'string', maxLength: 64 } },
          required: ['id'],
        },
        response: { 204: { type: 'null', description: 'Ended.' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const p = owner(request);
      // A malformed id names no session: the same 404 as another account's, checked after auth.
      if (!/^[0-9a-f]{64}$/.test(request.params.id)) throw sessionNotFound();
      const deleted = await deleteOwnSession(
        db,
        p.subject.kind,
        p.subject.id,
        Buffer.from(request.params.id, 'hex'),
      );
      if (!deleted) throw sessionNotFound();
      await audit(
        db,
        {
          actor: p.actor,
          tenantId: p.kind === 'member' ? p.tenantId : null,
          action: 'auth.session_revoked',
          target: `session:${request.params.id.slice(0, 12)}`,
          ip: request.ip,
        },
        ctx.clock.now(),
      );
      return reply.code(204).send();
    },
  );
}
