// Pure rules of login: session ids and CSRF tokens, cookies, session expiry, and the backoff and
// lockout that follow repeated password failures.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'hy_session';
export const CSRF_COOKIE = 'hy_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** 256 random bits; only the SHA-256 is stored, so a read of the table gives no usable session. */
export function newToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function tokenMatches(token: string, hash: Buffer): boolean {
  const given = hashToken(token);
  return given.length === hash.length && timingSafeEqual(given, hash);
}

/** Cookie header → name/value pairs (RFC 6265 syntax, first occurrence wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (name && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export function serializeCookie({
  name,
  value,
  maxAgeSeconds,
  httpOnly,
  secure,
}: {
  name: string;
  value: string;
  maxAgeSeconds: number;
  httpOnly: boolean;
  secure: boolean;
}): string {
  const parts = [`${name}=${value}`, 'Path=/', `Max-Age=${maxAgeSeconds}`, 'SameSite=Lax'];
  if (httpOnly) parts.push('HttpOnly');
  if (secure) parts.push('Secure');
  return parts.join('; ');
}

export interface SessionTimes {
  lastSeenAt: Date;
  expiresAt: Date;
}

/** A session lives until its absolute expiry, and no longer than the idle limit past its last use. */
export function sessionAlive(session: SessionTimes, now: Date, idleMs: number): boolean {
  return now < session.expiresAt && now.getTime() - session.lastSeenAt.getTime() < idleMs;
}

/** Last use is written at most once a minute: a session's every request is not a database write. */
export function shouldTouch(session: SessionTimes, now: Date): boolean {
  return now.getTime() - session.lastSeenAt.getTime() >= 60_000;
}

export interface FailurePolicy {
  /** Failures allowed before any delay. */
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures that lock the account or address. */
  lockoutAfter: number;
  lockoutMs: number;
}

export interface FailureState {
  failures: number;
  lastFailureAt: Date;
  lockedUntil: Date | null;
}

/**
 * When the next attempt may be made: after a lockout ends, or after the backoff delay
 * (base × 2^(failures − free − 1), capped) since the last failure. A counter whose last failure is
 * older than the lockout period has decayed and no longer counts.
 */
export function nextAttemptAt(state: FailureState | null, policy: FailurePolicy, now: Date): Date | null {
  if (!state || decayed(state, policy, now)) return null;
  if (state.lockedUntil && state.lockedUntil > now) return state.lockedUntil;
  const over = state.failures - policy.freeFailures;
  if (over <= 0) return null;
  const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(over - 1, 30));
  const at = new Date(state.lastFailureAt.getTime() + delay);
  return at > now ? at : null;
}

export function isLocked(state: FailureState | null, now: Date): boolean {
  return !!state?.lockedUntil && state.lockedUntil > now;
}

/** The counter after one more failure; reaching the lockout threshold locks for `lockoutMs`. */
export function afterFailure(state: FailureState | null, policy: FailurePolicy, now: Date): FailureState {
  const failures = state && !decayed(state, policy, now) ? state.failures + 1 : 1;
  const lockedUntil =
    failures >= policy.lockoutAfter
      ? new Date(now.getTime() + policy.lockoutMs)
      : (state?.lockedUntil ?? null);
  return { failures, lastFailureAt: now, lockedUntil };
}

function decayed(state: FailureState, policy: FailurePolicy, now: Date): boolean {
  if (state.lockedUntil && state.lockedUntil > now) return false;
  return now.getTime() - state.lastFailureAt.getTime() > policy.lockoutMs;
}
