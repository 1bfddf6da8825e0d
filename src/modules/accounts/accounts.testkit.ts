// Test helpers for the accounts routes: a fake clock, a cookie jar over inject(), members and staff.
import { hash as argon2Hash } from '@node-rs/argon2';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Clock } from '../../app/context.ts';
import type { Db } from '../../db/pool.ts';
import { addMember } from './members.usecases.ts';
import type { TenantRole } from './permissions.models.ts';
import { parseCookies } from './sessions.models.ts';

export function fakeClock(start = '2026-03-01T00:00:00Z') {
  let t = new Date(start).getTime();
  const clock: Clock & { advance(ms: number): void } = {
    now: () => new Date(t),
    advance: (ms) => {
      t += ms;
    },
  };
  return clock;
}

/** The cookies a response set, as a Cookie header value would carry them. */
export function cookiesOf(res: LightMyRequestResponse): Map<string, string> {
  const set = res.headers['set-cookie'];
  const list = set === undefined ? [] : [set].flat();
  return parseCookies(list.map((c) => c.split(';', 1)[0]).join('; '));
}

export interface Browser {
  cookie: string;
  csrf: string;
  sessionId: string;
}

export async function loginAs(
  app: FastifyInstance,
  login: string,
  password: string,
  headers: Record<string, string> = {},
) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    headers,
    payload: { login, password },
  });
  return { res, browser: browserOf(res) };
}

export function browserOf(res: LightMyRequestResponse): Browser | null {
  const cookies = cookiesOf(res);
  const sessionId = cookies.get('hy_session');
  if (!sessionId) return null;
  return { sessionId, cookie: `hy_session=${sessionId}`, csrf: cookies.get('hy_csrf') ?? '' };
}

export function withSession(b: Browser, csrf = true): Record<string, string> {
  return csrf ? { cookie: b.cookie, 'x-csrf-token': b.csrf } : { cookie: b.cookie };
}

export async function newMember(
  db: Db,
  tenantId: number,
  email: string,
  role: TenantRole,
  password = 'correct horse battery',
) {
  const { member } = await addMember({
    db: db.pool,
    tenantId,
    email,
    role,
    password,
    by: { actor: 'test', role: null, ip: null },
    now: new Date(),
  });
  return { ...member, password };
}

export async function newStaff(
  db: Db,
  username: string,
  role: 'admin' | 'reviewer' | 'support',
  password = 'staff password 1',
) {
  await db.pool.query('insert into operators (username, password_hash, role) values ($1, $2, $3)', [
    username,
    await argon2Hash(password),
    role,
  ]);
  return { username, password };
}
