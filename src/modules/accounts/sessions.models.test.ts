import { describe, expect, it } from 'vitest';
import {
  afterFailure,
  type FailurePolicy,
  type FailureState,
  hashToken,
  isLocked,
  newToken,
  nextAttemptAt,
  parseCookies,
  serializeCookie,
  sessionAlive,
  tokenMatches,
} from './sessions.models.ts';

const policy: FailurePolicy = {
  freeFailures: 3,
  baseDelayMs: 1000,
  maxDelayMs: 8000,
  lockoutAfter: 8,
  lockoutMs: 15 * 60_000,
};
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

function fail(times: number, start: FailureState | null = null): FailureState {
  let s = start;
  for (let i = 0; i < times; i++) s = afterFailure(s, policy, t0);
  return s!;
}

describe('login backoff and lockout', () => {
  it('lets the free failures retry at once', () => {
    expect(nextAttemptAt(fail(3), policy, t0)).toBeNull();
  });

  it('doubles the delay after each failure past the free ones, up to the cap', () => {
    expect(nextAttemptAt(fail(4), policy, t0)).toEqual(at(1000));
    expect(nextAttemptAt(fail(5), policy, t0)).toEqual(at(2000));
    expect(nextAttemptAt(fail(6), policy, t0)).toEqual(at(4000));
    expect(nextAttemptAt(fail(7), policy, t0)).toEqual(at(8000));
    expect(nextAttemptAt(fail(7), policy, at(8000))).toBeNull();
  });

  it('locks at the threshold for the lockout period, then the counter decays', () => {
    const locked = fail(8);
    expect(isLocked(locked, t0)).toBe(true);
    expect(nextAttemptAt(locked, policy, at(60_000))).toEqual(at(15 * 60_000));
    expect(isLocked(locked, at(15 * 60_000))).toBe(false);
    const later = at(15 * 60_000 + 1);
    expect(nextAttemptAt(locked, policy, later)).toBeNull();
    expect(afterFailure(locked, policy, later).failures).toBe(1);
  });
});

describe('sessions', () => {
  it('stores only a hash of the token and matches it', () => {
    const { token, hash } = newToken();
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(hash).toEqual(hashToken(token));
    expect(tokenMatches(token, hash)).toBe(true);
    expect(tokenMatches(`${token}x`, hash)).toBe(false);
  });

  it('dies at its absolute expiry or after the idle limit', () => {
    const s = { lastSeenAt: t0, expiresAt: at(3600_000) };
    expect(sessionAlive(s, at(1000), 60_000)).toBe(true);
    expect(sessionAlive(s, at(60_000), 60_000)).toBe(false);
    expect(sessionAlive({ lastSeenAt: at(3599_000), expiresAt: at(3600_000) }, at(3600_000), 60_000)).toBe(
      false,
    );
  });

  it('parses the Cookie header and writes HttpOnly SameSite=Lax cookies', () => {
    const c = parseCookies('a=1; hy_session=abc; a=2; b="q"');
    expect(c.get('a')).toBe('1');
    expect(c.get('hy_session')).toBe('abc');
    expect(c.get('b')).toBe('q');
    expect(serializeCookie({ name: 'x', value: 'y', maxAgeSeconds: 5, httpOnly: true, secure: true })).toBe(
      'x=y; Path=/; Max-Age=5; SameSite=Lax; HttpOnly; Secure',
    );
  });
});
