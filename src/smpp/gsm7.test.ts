import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeGsm7, encodeGsm7, isGsm7, packSeptets, unpackSeptets } from './gsm7.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const BASIC_CHARS =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const EXTENSION_CHARS = '\f^{}\\[~]|€';
const gsmText = fc.string({ unit: fc.constantFrom(...(BASIC_CHARS + EXTENSION_CHARS)), maxLength: 400 });

describe('isGsm7', () => {
  it('accepts the whole default alphabet and the extension table', () => {
    expect(BASIC_CHARS).toHaveLength(127); // 128 septets less the escape
    expect(isGsm7(BASIC_CHARS + EXTENSION_CHARS)).toBe(true);
    expect(isGsm7('')).toBe(true);
  });

  it('refuses characters outside both tables', () => {
    for (const char of ['【', '中', 'ç', '`', '\t', '\0', 'ê', '😀', '\u00a0', 'á']) {
      expect(isGsm7(`abc${char}`), char).toBe(false);
    }
  });
});

describe('encodeGsm7 / decodeGsm7', () => {
  it('encodes fixed vectors unpacked, one septet per octet', () => {
    expect(hex(encodeGsm7('hello'))).toBe('68656c6c6f');
    expect(hex(encodeGsm7('€'))).toBe('1b65');
    expect(hex(encodeGsm7('@£$'))).toBe('000102');
    expect(hex(encodeGsm7('{}[]~|^\\\f'))).toBe('1b281b291b3c1b3e1b3d1b401b141b2f1b0a');
    expect(hex(encodeGsm7('ΔàÉ¡§¿'))).toBe('107f1f405f60');
  });

  it('refuses what GSM 7-bit cannot carry', () => {
    expect(() => encodeGsm7('a中')).toThrow(RangeError);
  });

  it('round-trips every GSM string', () => {
    fc.assert(fc.property(gsmText, (text) => decodeGsm7(encodeGsm7(text)) === text));
  });

  it('decodes garbage without throwing', () => {
    // Unknown extension code → the basic character; trailing escape dropped; high octets as Latin-1.
    expect(decodeGsm7(Buffer.from([0x1b, 0x41, 0x1b]))).toBe('A');
    expect(decodeGsm7(Buffer.from([0x1b, 0x1b, 0x41]))).toBe(' A');
    expect(decodeGsm7(Buffer.from([0xe9, 0x41]))).toBe('éA');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => typeof decodeGsm7(bytes) === 'string'),
    );
  });
});

describe('packSeptets / unpackSeptets', () => {
  it('packs the classic vector 8-in-7', () => {
    // 'hellohello' from TS 23.038 examples: E8 32 9B FD 46 97 D9 EC 37.
    expect(hex(packSeptets(encodeGsm7('hellohello')))).toBe('e8329bfd4697d9ec37');
    expect(packSeptets(encodeGsm7('x'.repeat(160)))).toHaveLength(140);
    expect(packSeptets(encodeGsm7('x'.repeat(153)), 1)).toHaveLength(134);
  });

  it('round-trips any septets with and without fill bits', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ max: 0x7f, maxLength: 200 }),
        fc.integer({ min: 0, max: 6 }),
        (septets, fill) => {
          const packed = packSeptets(septets, fill);
          expect(hex(unpackSeptets(packed, septets.length, fill))).toBe(hex(septets));
        },
      ),
    );
  });

  it('reads spare bits as septets only when the count is unknown', () => {
    const packed = packSeptets(encodeGsm7('1234567'));
    expect(packed).toHaveLength(7);
    expect(decodeGsm7(unpackSeptets(packed))).toBe('1234567@');
    expect(decodeGsm7(unpackSeptets(packed, 7))).toBe('1234567');
    expect(unpackSeptets(packed, 100)).toHaveLength(8);
  });
});
