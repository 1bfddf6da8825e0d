// Login with a password (then a TOTP code when two-factor is on), sessions, logout and password
// change. Every success and failure is written to the audit log.
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import {
  challengeExpired,
  invalidCode,
  invalidCredentials,
  tenantSuspended,
  weakPassword,
} from './accounts.errors.ts';
import { actorOf, audit, type Queryable } from './audit.ts';
import { checkBackoff, recordFailure } from './login-failures.ts';
import { openTotpSeed } from './totp-seeds.ts';
import type { KeyRingSource } from '../../shared/secrets.ts';
import { type FailurePolicy, hashToken, newToken, sessionAlive, shouldTouch } from './sessions.models.ts';
import {
  claimTotpStep,
  clearFailures,
  deleteSession,
  deleteSubjectSessions,
  findSession,
  findSubject,
  findSubjectByLogin,
  insertSession,
  pruneSessions,
  setPasswordHash,
  type SessionRow,
  type SessionStage,
  type Subject,
  touchSession,
  useRecoveryCode,
} from './sessions.repository.ts';
import { base32Decode, hashRecoveryCode, matchTotp } from './totp.models.ts';

export interface LoginSettings {
  idleMs: number;
  absoluteMs: number;
  account: FailurePolicy;
  address: FailurePolicy;
}

/** A challenge (password accepted, code awaited) lasts five minutes. */
const CHALLENGE_MS = 5 * 60_000;

// Unknown logins still pay for one argon2 verification, so timing does not tell who exists.
let dummyHash: Promise<string> | null = null;
const dummy = () => (dummyHash ??= argon2Hash('not a password of anyone'));

export function passwordProblem(password: string): boolean {
  return [...password].length < 10 || password.length > 256;
}

export async function hashPassword(password: string): Promise<string> {
  if (passwordProblem(password)) throw weakPassword();
  return argon2Hash(password);
}

export interface IssuedSession {
  stage: SessionStage;
  token: string;
  csrf: string;
  subject: Subject;
}

async function issueSession({
  db,
  subject,
  stage,
  ip,
  now,
  lifetimeMs,
}: {
  db: Queryable;
  subject: Subject;
  stage: SessionStage;
  ip: string | null;
  now: Date;
  lifetimeMs: number;
}): Promise<IssuedSession> {
  const id = newToken();
  const csrf = newToken();
  await insertSession(db, {
    idHash: id.hash,
    subject,
    stage,
    csrfHash: csrf.hash,
    ip,
    now,
    expiresAt: new Date(now.getTime() + lifetimeMs),
  });
  return { stage, token: id.token, csrf: csrf.token, subject };
}

export type LoginResult =
  { stage: 'two_factor'; challenge: string } | ({ stage: 'active' | 'enrol' } & IssuedSession);

/**
 * Password step. With two-factor on, the answer is a challenge to complete with a code; without,
 * a new session (a new id every time: the caller drops any session the client came with).
 */
export async function login({
  db,
  login: loginName,
  password,
  ip,
  now,
  settings,
}: {
  db: Queryable;
  login: string;
  password: string;
  ip: string;
  now: Date;
  settings: LoginSettings;
}): Promise<LoginResult> {
  const accountKey = loginName.trim().toLowerCase();
  await checkBackoff(db, accountKey, ip, settings, now);
  const subject = await findSubjectByLogin(db, loginName.trim());
  const ok = subject?.passwordHash
    ? await argon2Verify(subject.passwordHash, password).catch(() => false)
    : (await argon2Verify(await dummy(), password), false);
  if (!subject || !ok) {
    await recordFailure({
      db,
      accountKey,
      ip,
      settings,
      now,
      subject,
      login: loginName,
      action: 'auth.login_failed',
    });
    throw invalidCredentials();
  }
  // Members of a tenant awaiting review or rejected log in to follow and fix their application
  // (src/http/auth.ts keeps them to those routes); a suspended tenant's members cannot.
  if (subject.kind === 'member' && subject.tenantStatus === 'suspended') throw tenantSuspended();
  await clearFailures(db, 'account', accountKey);
  await pruneSessions(db, now);
  if (subject.totpSecret) {
    const challenge = await issueSession({
      db,
      subject,
      stage: 'challenge',
      ip,
      now,
      lifetimeMs: CHALLENGE_MS,
    });
    await audit(
      db,
      { actor: actorOf(subject), tenantId: subject.tenantId, action: 'auth.password_accepted', ip },
      now,
    );
    return { stage: 'two_factor', challenge: challenge.token };
  }
  const stage = subject.twoFactorRequired ? 'enrol' : 'active';
  const session = await issueSession({ db, subject, stage, ip, now, lifetimeMs: settings.absoluteMs });
  await audit(
    db,
    { actor: actorOf(subject), tenantId: subject.tenantId, action: 'auth.login', after: { stage }, ip },
    now,
  );
  return { ...session, stage };
}

/** Second step: a TOTP code or one unused recovery code turns the challenge into a session. */
export async function completeTwoFactor({
  db,
  challenge,
  code,
  recoveryCode,
  ip,
  now,
  settings,
  keyRing,
}: {
  db: Queryable;
  keyRing: KeyRingSource;
  challenge: string;
  code?: string;
  recoveryCode?: string;
  ip: string;
  now: Date;
  settings: LoginSettings;
}): Promise<IssuedSession> {
  const row = await findSession(db, hashToken(challenge));
  if (!row || row.stage !== 'challenge' || row.expires_at <= now) throw challengeExpired();
  const subject = await findSubject(db, row.subject_kind, row.subject_id);
  if (!subject?.totpSecret) throw challengeExpired();
  const accountKey = subject.login.toLowerCase();
  await checkBackoff(db, accountKey, ip, settings, now);
  let ok = false;
  let via = 'totp';
  if (code !== undefined) {
    const step = matchTotp({
      key: base32Decode(openTotpSeed(keyRing, subject.totpSecret)),
      code,
      unixSeconds: Math.floor(now.getTime() / 1000),
      lastStep: subject.totpLastStep,
    });
    ok = step !== null && (await claimTotpStep(db, subject.kind, subject.id, step));
  } else if (recoveryCode !== undefined) {
    via = 'recovery_code';
    ok = await useRecoveryCode(db, subject.kind, subject.id, hashRecoveryCode(recoveryCode), now);
  }
  if (!ok) {
    await recordFailure({
      db,
      accountKey,
      ip,
      settings,
      now,
      subject,
      login: subject.login,
      action: 'auth.two_factor_failed',
    });
    throw invalidCode();
  }
  await clearFailures(db, 'account', accountKey);
  await deleteSession(db, row.id_hash);
  const session = await issueSession({
    db,
    subject,
    stage: 'active',
    ip,
    now,
    lifetimeMs: settings.absoluteMs,
  });
  await audit(
    db,
    {
      actor: actorOf(subject),
      tenantId: subject.tenantId,
      action: 'auth.login',
      after: { stage: 'active', via },
      ip,
    },
    now,
  );
  return session;
}

export interface ResolvedSession {
  row: SessionRow;
  subject: Subject;
}

/** The live session a cookie names, or null (unknown, expired, idle, a challenge, a suspended tenant). */
export async function resolveSession({
  db,
  idHash,
  now,
  idleMs,
}: {
  db: Queryable;
  idHash: Buffer;
  now: Date;
  idleMs: number;
}): Promise<ResolvedSession | null> {
  const row = await findSession(db, idHash);
  if (!row || row.stage === 'challenge') return null;
  if (!sessionAlive({ lastSeenAt: row.last_seen_at, expiresAt: row.expires_at }, now, idleMs)) {
    await deleteSession(db, idHash);
    return null;
  }
  const subject = await findSubject(db, row.subject_kind, row.subject_id);
  if (!subject || (subject.kind === 'member' && subject.tenantStatus === 'suspended')) return null;
  if (shouldTouch({ lastSeenAt: row.last_seen_at, expiresAt: row.expires_at }, now)) {
    await touchSession(db, idHash, now);
  }
  return { row, subject };
}

/** Changing one's password needs the current one and ends every other session of the account. */
export async function changePassword({
  db,
  subject,
  sessionIdHash,
  current,
  next,
  ip,
  now,
}: {
  db: Queryable;
  subject: Subject;
  sessionIdHash: Buffer;
  current: string;
  next: string;
  ip: string;
  now: Date;
}) {
  const ok = subject.passwordHash
    ? await argon2Verify(subject.passwordHash, current).catch(() => false)
    : false;
  if (!ok) {
    await audit(
      db,
      { actor: actorOf(subject), tenantId: subject.tenantId, action: 'auth.password_change_failed', ip },
      now,
    );
    throw invalidCredentials({ message: 'The current password is wrong.' });
  }
  await setPasswordHash(db, subject.kind, subject.id, await hashPassword(next), now);
  await deleteSubjectSessions(db, subject.kind, subject.id, sessionIdHash);
  await audit(
    db,
    { actor: actorOf(subject), tenantId: subject.tenantId, action: 'auth.password_changed', ip },
    now,
  );
}
