import { describe, expect, it } from 'vitest';
import {
  base32Decode,
  base32Encode,
  hashRecoveryCode,
  hotp,
  matchTotp,
  newRecoveryCodes,
  otpauthUri,
  totp,
} from './totp.models.ts';

// RFC 6238 appendix B, SHA-1 rows: the seed is the ASCII "12345678901234567890", 8 digits.
const RFC_KEY = Buffer.from('12345678901234567890', 'ascii');
const RFC_VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP', () => {
  it.each(RFC_VECTORS)('RFC 6238 vector at T=%i is %s', (t, expected) => {
    expect(totp(RFC_KEY, t, 8)).toBe(expected);
  });

  it('RFC 4226 HOTP vectors (counters 0..3)', () => {
    expect([0, 1, 2, 3].map((c) => hotp(RFC_KEY, c))).toEqual(['755224', '287082', '359152', '969429']);
  });

  it('accepts the code of the previous, current and next step, not two steps away', () => {
    const t = 1234567890;
    for (const drift of [-30, 0, 30]) {
      const code = totp(RFC_KEY, t + drift);
      expect(matchTotp({ key: RFC_KEY, code, unixSeconds: t, lastStep: null })).not.toBeNull();
    }
    for (const drift of [-60, 60]) {
      const code = totp(RFC_KEY, t + drift);
      expect(matchTotp({ key: RFC_KEY, code, unixSeconds: t, lastStep: null })).toBeNull();
    }
  });

  it('refuses a code of a step already used (no replay in the window)', () => {
    const t = 1234567890;
    const code = totp(RFC_KEY, t);
    const step = matchTotp({ key: RFC_KEY, code, unixSeconds: t, lastStep: null });
    expect(step).toBe(Math.floor(t / 30));
    expect(matchTotp({ key: RFC_KEY, code, unixSeconds: t, lastStep: step })).toBeNull();
  });

  it('refuses malformed codes', () => {
    for (const code of ['', '12345', '1234567', 'abcdef', '12 456']) {
      expect(matchTotp({ key: RFC_KEY, code, unixSeconds: 59, lastStep: null })).toBeNull();
    }
  });

  it('base32 round-trips and matches RFC 4648', () => {
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
    expect(base32Decode('MZXW6YTBOI').toString()).toBe('foobar');
    expect(base32Decode(base32Encode(RFC_KEY))).toEqual(RFC_KEY);
  });

  it('writes an otpauth URI authenticator apps read', () => {
    const uri = otpauthUri({ secret: 'ABC', account: 'a@b.cn', issuer: 'Hongyan' });
    expect(uri).toBe(
      'otpauth://totp/Hongyan%3Aa%40b.cn?secret=ABC&issuer=Hongyan&algorithm=SHA1&digits=6&period=30',
    );
  });

  it('makes ten distinct recovery codes, hashed independent of case and dashes', () => {
    const codes = newRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    expect(codes[0]).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
    expect(hashRecoveryCode(codes[0]!.toUpperCase().replace('-', ''))).toEqual(hashRecoveryCode(codes[0]!));
  });
});
