// Pure rules of OTP verification: generating a code, hashing and comparing it, the default text,
// the number prefix the pumping protection counts by, and what a check or a resend decides.
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export const MAX_CHECKS = 5;
export const RESEND_COOLDOWN_SECONDS = 60;
export const DEFAULT_TTL_SECONDS = 300;
export const DEFAULT_CODE_LENGTH = 6;
export const DEFAULT_PURPOSE = 'default';
export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

export type VerificationStatus = 'pending' | 'approved' | 'expired' | 'max_attempts';
/** What a check answers: the verification's status after it, or `denied` for a wrong code. */
export type CheckAnswer = VerificationStatus | 'denied';

/** A code of `length` decimal digits, each uniformly drawn (leading zeros kept). */
export function generateCode(length: number): string {
  let code = '';
  for (let i = 0; i < length; i++) code += String(randomInt(0, 10));
  return code;
}

export function newSalt(): Buffer {
  return randomBytes(16);
}

/** HMAC-SHA256 of the code keyed by the row's own random salt: no table of 10^n hashes fits all rows. */
export function hashCode(code: string, salt: Buffer): Buffer {
  return createHmac('sha256', salt).update(code, 'utf8').digest();
}

/** Constant time in the code: both sides are 32-byte digests, compared with timingSafeEqual. */
export function codeMatches(candidate: string, salt: Buffer, expected: Buffer): boolean {
  const actual = hashCode(candidate, salt);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

const DEFAULT_TEXTS: Record<Language, string> = {
  // Seed 004's wording.
  'zh-CN': '验证码为:{code},有效期{minutes}分钟',
  en: 'Your verification code is {code}. It expires in {minutes} minutes.',
};

/** The default text with the code and the TTL in whole minutes (rounded up) filled in. */
export function defaultText(language: Language, code: string, ttlSeconds: number): string {
  const minutes = String(Math.ceil(ttlSeconds / 60));
  return DEFAULT_TEXTS[language].replace('{code}', code).replace('{minutes}', minutes);
}

/** The first `digits` digits of an E.164 number (country code included), e.g. +8613812345678 → 8613812. */
export function numberPrefix(e164: string, digits: number): string {
  return e164.replace(/^\+/, '').slice(0, digits);
}

export interface LiveVerification {
  status: VerificationStatus;
  expiresAt: Date;
  lastSentAt: Date;
  attempts: number;
}

/** The status a row really has at `now`: a pending code past its TTL is expired. */
export function effectiveStatus(
  row: Pick<LiveVerification, 'status' | 'expiresAt'>,
  now: Date,
): VerificationStatus {
  return row.status === 'pending' && row.expiresAt.getTime() <= now.getTime() ? 'expired' : row.status;
}

export type SendDecision =
  { kind: 'new' } | { kind: 'resend' } | { kind: 'cooldown'; retryAfterSeconds: number };

/**
 * A send request against the number's live verification (if any): none live (or it died) makes
 * a new code; a live one sent less than 60 s ago is refused; else the same code goes again.
 */
export function decideSend(live: LiveVerification | null, now: Date): SendDecision {
  if (live === null || effectiveStatus(live, now) !== 'pending') return { kind: 'new' };
  const waitMs = live.lastSentAt.getTime() + RESEND_COOLDOWN_SECONDS * 1000 - now.getTime();
  if (waitMs > 0) return { kind: 'cooldown', retryAfterSeconds: Math.ceil(waitMs / 1000) };
  return { kind: 'resend' };
}

export type CheckDecision =
  | { kind: 'answer'; answer: CheckAnswer; newStatus: VerificationStatus | null; attempts: number }
  | { kind: 'not_found' };

/**
 * One check of `matched` (the code compared already) against the number's newest verification.
 * An approved code is used up (not found again); a dead one answers why; a live one counts the
 * attempt, and the fifth wrong code kills it.
 */
export function decideCheck(row: LiveVerification | null, matched: boolean, now: Date): CheckDecision {
  if (row === null || row.status === 'approved') return { kind: 'not_found' };
  const status = effectiveStatus(row, now);
  if (status === 'expired') {
    return {
      kind: 'answer',
      answer: 'expired',
      newStatus: row.status === 'pending' ? 'expired' : null,
      attempts: row.attempts,
    };
  }
  if (status === 'max_attempts')
    return { kind: 'answer', answer: 'max_attempts', newStatus: null, attempts: row.attempts };
  const attempts = row.attempts + 1;
  if (matched) return { kind: 'answer', answer: 'approved', newStatus: 'approved', attempts };
  if (attempts >= MAX_CHECKS)
    return { kind: 'answer', answer: 'max_attempts', newStatus: 'max_attempts', attempts };
  return { kind: 'answer', answer: 'denied', newStatus: null, attempts };
}

/** What identifies a sent code without revealing it: its row's salt and hash, and its length. */
export interface SentCode {
  salt: Buffer;
  hash: Buffer;
  length: number;
}

/**
 * The content with the code replaced by asterisks of the same length ("验证码为:******,…"). The
 * code is found, not remembered: each window of `length` digits is hashed with the row's salt and
 * compared, so a code is masked after its sealed copy is gone, and digits that are not the code
 * (the minutes, an order number of a template) are left as they are.
 */
export function maskCode(content: string, code: SentCode): string {
  return content.replace(/\d+/g, (run) => {
    if (run.length < code.length) return run;
    let out = '';
    let i = 0;
    while (i < run.length) {
      const window = run.slice(i, i + code.length);
      if (window.length === code.length && codeMatches(window, code.salt, code.hash)) {
        out += '*'.repeat(code.length);
        i += code.length;
      } else {
        out += run[i];
        i += 1;
      }
    }
    return out;
  });
}
