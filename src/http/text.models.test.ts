import { describe, expect, it } from 'vitest';
import {
  charsetOf,
  findUnstorableText,
  isUtf8Charset,
  mayHoldEscapedUnstorable,
  unstorableTextReason,
} from './text.models.ts';

describe('unstorableTextReason', () => {
  it('names a NUL and an unpaired surrogate, and passes ordinary text and surrogate pairs', () => {
    expect(unstorableTextReason('a\u0000b')).toBe('nul');
    expect(unstorableTextReason('hi \ud83d')).toBe('lone_surrogate');
    expect(unstorableTextReason('\ude00 low first')).toBe('lone_surrogate');
    expect(unstorableTextReason('【鸿雁】验证码 123456 😀')).toBeNull();
    expect(unstorableTextReason('')).toBeNull();
  });
});

describe('findUnstorableText', () => {
  it('returns the JSON pointer of the first bad value or key, at any depth', () => {
    expect(findUnstorableText({ a: 'ok', b: [1, 'x', { c: 'y\u0000' }] })).toEqual({
      path: '/b/2/c',
      reason: 'nul',
    });
    expect(findUnstorableText({ 'a/b': { '\ud800': 1 } })).toEqual({
      path: '/a~1b/\ud800',
      reason: 'lone_surrogate',
    });
    expect(findUnstorableText({ a: 1, b: null, c: true, d: ['ok'] })).toBeNull();
    expect(findUnstorableText('\u0000')).toEqual({ path: '', reason: 'nul' });
  });
});

describe('mayHoldEscapedUnstorable', () => {
  it('is true only when the JSON text holds a \\u escape', () => {
    expect(mayHoldEscapedUnstorable('{"a":"\\u0000"}')).toBe(true);
    expect(mayHoldEscapedUnstorable('{"a":"鸿雁 plain"}')).toBe(false);
  });
});

describe('charsetOf / isUtf8Charset', () => {
  it('reads the charset parameter in any case, quoted or not, and accepts only UTF-8 or none', () => {
    expect(charsetOf('application/json')).toBeNull();
    expect(charsetOf('application/json; charset=UTF-8')).toBe('utf-8');
    expect(charsetOf('application/json;charset="utf8"')).toBe('utf8');
    expect(charsetOf('application/json; Charset=ISO-8859-1')).toBe('iso-8859-1');
    expect(charsetOf(undefined)).toBeNull();
    expect(isUtf8Charset(null)).toBe(true);
    expect(isUtf8Charset('utf-8')).toBe(true);
    expect(isUtf8Charset('latin1')).toBe(false);
    expect(isUtf8Charset('')).toBe(false);
  });
});
