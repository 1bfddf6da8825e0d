import { describe, expect, it } from 'vitest';
import {
  codeMatches,
  decideCheck,
  decideSend,
  defaultText,
  generateCode,
  hashCode,
  maskCode,
  newSalt,
  numberPrefix,
} from './verifications.models.ts';

const now = new Date('2026-11-30T10:00:00Z');
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
const live = (over: object = {}) => ({
  status: 'pending' as const,
  expiresAt: at(300),
  lastSentAt: at(-10),
  attempts: 0,
  ...over,
});

describe('codes', () => {
  it('have the asked length in digits, leading zeros kept', () => {
    for (const length of [4, 6, 8]) {
      const codes = Array.from({ length: 200 }, () => generateCode(length));
      expect(codes.every((c) => new RegExp(`^\\d{${length}}$`).test(c))).toBe(true);
    }
  });
  it('hash differently under two salts, and match only the right code', () => {
    const [a, b] = [newSalt(), newSalt()];
    expect(hashCode('123456', a).equals(hashCode('123456', b))).toBe(false);
    expect(codeMatches('123456', a, hashCode('123456', a))).toBe(true);
    expect(codeMatches('123457', a, hashCode('123456', a))).toBe(false);
  });
  it('default texts follow seed 004', () => {
    expect(defaultText('zh-CN', '042137', 300)).toBe('验证码为:042137,有效期5分钟');
    expect(defaultText('en', '0421', 90)).toBe('Your verification code is 0421. It expires in 2 minutes.');
  });
  it('prefixes count digits of the E.164 number', () => {
    expect(numberPrefix('+8613812345678', 7)).toBe('8613812');
  });
});

describe('decideSend', () => {
  it('makes a new code when none is live, refuses within 60 s, resends after', () => {
    expect(decideSend(null, now)).toEqual({ kind: 'new' });
    expect(decideSend(live(), now)).toEqual({ kind: 'cooldown', retryAfterSeconds: 50 });
    expect(decideSend(live({ lastSentAt: at(-60) }), now)).toEqual({ kind: 'resend' });
    expect(decideSend(live({ expiresAt: now }), now)).toEqual({ kind: 'new' });
    expect(decideSend(live({ status: 'max_attempts' }), now)).toEqual({ kind: 'new' });
  });
});

describe('decideCheck', () => {
  it('approves a match once, denies a miss, kills the code at the fifth check', () => {
    expect(decideCheck(live(), true, now)).toMatchObject({
      answer: 'approved',
      newStatus: 'approved',
      attempts: 1,
    });
    expect(decideCheck(live(), false, now)).toMatchObject({ answer: 'denied', newStatus: null, attempts: 1 });
    expect(decideCheck(live({ attempts: 4 }), false, now)).toMatchObject({
      answer: 'max_attempts',
      newStatus: 'max_attempts',
      attempts: 5,
    });
    expect(decideCheck(live({ status: 'max_attempts', attempts: 5 }), true, now)).toMatchObject({
      answer: 'max_attempts',
    });
    expect(decideCheck(live({ status: 'approved' }), true, now)).toEqual({ kind: 'not_found' });
    expect(decideCheck(null, false, now)).toEqual({ kind: 'not_found' });
  });
  it('answers expired past the TTL, whatever the code', () => {
    expect(decideCheck(live({ expiresAt: now }), true, now)).toMatchObject({
      answer: 'expired',
      newStatus: 'expired',
    });
  });
});

describe('maskCode', () => {
  const sent = (code: string) => {
    const salt = newSalt();
    return { salt, hash: hashCode(code, salt), length: code.length };
  };

  it('replaces the code by asterisks of its length and keeps the other digits', () => {
    const code = sent('048213');
    expect(maskCode('【鸿雁】验证码为:048213,有效期5分钟', code)).toBe('【鸿雁】验证码为:******,有效期5分钟');
    expect(maskCode('Your verification code is 048213. It expires in 10 minutes.', code)).toBe(
      'Your verification code is ******. It expires in 10 minutes.',
    );
  });

  it('finds the code inside a longer run of digits and every time it appears', () => {
    const code = sent('4821');
    expect(maskCode('订单1234 码 9948217 再次:4821', code)).toBe('订单1234 码 99****7 再次:****');
  });

  it('leaves a text without the code as it is', () => {
    expect(maskCode('您的验证码是123456', sent('654321'))).toBe('您的验证码是123456');
  });
});
