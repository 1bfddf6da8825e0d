import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUcs2, encodeUcs2 } from './ucs2.ts';

describe('encodeUcs2 / decodeUcs2', () => {
  it('encodes UTF-16BE, surrogate pairs included', () => {
    expect(encodeUcs2('鸿雁').toString('hex')).toBe('9e3f96c1');
    expect(encodeUcs2('A😀').toString('hex')).toBe('0041d83dde00');
    expect(decodeUcs2(Buffer.from('9e3f96c1', 'hex'))).toBe('鸿雁');
  });

  it('round-trips any string, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (t) => decodeUcs2(encodeUcs2(t)) === t),
    );
    expect(decodeUcs2(encodeUcs2('a\ud800b\udc00'))).toBe('a\ud800b\udc00');
  });

  it('marks a dangling odd byte and leaves the input buffer alone', () => {
    const bytes = Buffer.from('004100', 'hex');
    expect(decodeUcs2(bytes)).toBe('A\uFFFD');
    expect(bytes.toString('hex')).toBe('004100');
  });
});
