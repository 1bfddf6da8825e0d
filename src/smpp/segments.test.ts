import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeShortMessage, encodeMessage, planSegments } from './segments.ts';
import { isHighSurrogate } from './ucs2.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const GSM_CHARS =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const EXTENSION_CHARS = '\f^{}\\[~]|€';

// Weighted towards the boundaries that matter: extension pairs and surrogate pairs landing on the
// last slot of a part, and texts around 160/153 septets and 70/67 units.
const gsmUnit = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...GSM_CHARS) },
  { weight: 1, arbitrary: fc.constantFrom(...EXTENSION_CHARS) },
);
const mixedUnit = fc.oneof(
  { weight: 4, arbitrary: gsmUnit },
  { weight: 2, arbitrary: fc.constantFrom('鸿', '雁', '【', '】', '，', 'ç') },
  { weight: 2, arbitrary: fc.constantFrom('😀', '👍🏽', '𠀀', '🇨🇳') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
// size 'max' spreads lengths over the whole range: the default size keeps strings short and
// would never produce a multi-part message.
const texts = fc.oneof(
  fc.string({ unit: gsmUnit, maxLength: 480, size: 'max' }),
  fc.string({ unit: mixedUnit, maxLength: 220, size: 'max' }),
  fc.string({ unit: 'binary', maxLength: 220, size: 'max' }),
  fc.string({ maxLength: 400, size: 'max' }),
  // A pair placed on or near the last slot of the first part.
  fc
    .tuple(
      fc.integer({ min: 148, max: 160 }),
      fc.constantFrom(...EXTENSION_CHARS),
      fc.string({ unit: gsmUnit, size: 'max', maxLength: 320 }),
    )
    .map(([n, pair, rest]) => 'a'.repeat(n) + pair + rest),
  fc
    .tuple(
      fc.integer({ min: 62, max: 70 }),
      fc.constantFrom('😀', '𠀀'),
      fc.string({ unit: mixedUnit, size: 'max', maxLength: 150 }),
    )
    .map(([n, pair, rest]) => '中'.repeat(n) + pair + rest),
);

function decodeAll(text: string, reference = 7) {
  const encoded = encodeMessage(text, reference);
  const decoded = encoded.parts.map((part) =>
    decodeShortMessage(part, encoded.dataCoding, (encoded.esmClass & 0x40) !== 0),
  );
  return { encoded, decoded, text: decoded.map((d) => d.text).join('') };
}

describe('planSegments', () => {
  it('counts fixed examples', () => {
    expect(planSegments('hello')).toEqual({
      encoding: 'gsm7',
      dataCoding: 0,
      units: 5,
      parts: 1,
      perPart: 160,
    });
    expect(planSegments('')).toEqual({ encoding: 'gsm7', dataCoding: 0, units: 0, parts: 1, perPart: 160 });
    expect(planSegments('a'.repeat(160)).parts).toBe(1);
    expect(planSegments('a'.repeat(161))).toEqual({
      encoding: 'gsm7',
      dataCoding: 0,
      units: 161,
      parts: 2,
      perPart: 153,
    });
    expect(planSegments('a'.repeat(306)).parts).toBe(2);
    expect(planSegments('a'.repeat(307)).parts).toBe(3);
    expect(planSegments('€'.repeat(80))).toMatchObject({ units: 160, parts: 1 });
    expect(planSegments('€'.repeat(81))).toMatchObject({ units: 162, parts: 2 });
    expect(planSegments('中'.repeat(70))).toEqual({
      encoding: 'ucs2',
      dataCoding: 8,
      units: 70,
      parts: 1,
      perPart: 70,
    });
    expect(planSegments('中'.repeat(71))).toEqual({
      encoding: 'ucs2',
      dataCoding: 8,
      units: 71,
      parts: 2,
      perPart: 67,
    });
    expect(planSegments('中'.repeat(134)).parts).toBe(2);
    expect(planSegments('中'.repeat(135)).parts).toBe(3);
  });

  it('counts the signature, which forces UCS-2', () => {
    expect(planSegments('【鸿雁】您的验证码是 123456，5分钟内有效')).toEqual({
      encoding: 'ucs2',
      dataCoding: 8,
      units: 24,
      parts: 1,
      perPart: 70,
    });
    expect(planSegments('【Hongyan】code 123456')).toMatchObject({ encoding: 'ucs2', parts: 1 });
  });

  it('moves a pair that would straddle a boundary to the next part', () => {
    // 152 septets then '€' (2 septets): the escape pair cannot start at slot 153.
    expect(planSegments('a'.repeat(152) + '€' + 'a'.repeat(152)).parts).toBe(3);
    expect(planSegments('a'.repeat(151) + '€' + 'a'.repeat(153)).parts).toBe(2);
    // 66 units then an emoji (2 units): the pair cannot start at unit 67.
    expect(planSegments('中'.repeat(66) + '😀' + '中'.repeat(66)).parts).toBe(3);
    expect(planSegments('中'.repeat(65) + '😀' + '中'.repeat(67)).parts).toBe(2);
    expect(planSegments('😀'.repeat(35))).toMatchObject({ units: 70, parts: 1 });
    expect(planSegments('😀'.repeat(36))).toMatchObject({ units: 72, parts: 2 });
  });
});

describe('encodeMessage', () => {
  it('sends a short GSM text as one unpacked part without UDH', () => {
    const encoded = encodeMessage('hello', 9);
    expect(encoded).toMatchObject({ dataCoding: 0, esmClass: 0 });
    expect(encoded.parts.map(hex)).toEqual(['68656c6c6f']);
  });

  it('splits a 161-character GSM text into two parts with the 8-bit UDH', () => {
    const encoded = encodeMessage('a'.repeat(161), 0x1a2);
    expect(encoded).toMatchObject({ dataCoding: 0, esmClass: 0x40 });
    expect(encoded.parts).toHaveLength(2);
    expect(hex(encoded.parts[0]!.subarray(0, 6))).toBe('050003a20201');
    expect(hex(encoded.parts[1]!.subarray(0, 6))).toBe('050003a20202');
    expect(encoded.parts[0]!).toHaveLength(6 + 153);
    expect(encoded.parts[1]!).toHaveLength(6 + 8);
  });

  it('sends Chinese as UCS-2: 70 characters in one part, 71 in two', () => {
    const one = encodeMessage('鸿'.repeat(70), 1);
    expect(one).toMatchObject({ dataCoding: 8, esmClass: 0 });
    expect(one.parts.map((p) => p.length)).toEqual([140]);
    const two = encodeMessage('鸿'.repeat(71), 1);
    expect(two).toMatchObject({ dataCoding: 8, esmClass: 0x40 });
    expect(two.parts.map((p) => p.length)).toEqual([6 + 134, 6 + 8]);
    const otp = encodeMessage('【鸿雁】您的验证码是 123456，5分钟内有效', 0);
    expect(otp.parts.map(hex)).toEqual([
      '30109e3f96c1301160a876849a8c8bc17801662f0020003100320033003400350036ff0c00355206949f518567096548',
    ]);
  });

  it('refuses a text past 255 parts', () => {
    expect(() => encodeMessage('a'.repeat(153 * 255), 0)).not.toThrow();
    expect(() => encodeMessage('a'.repeat(153 * 255 + 1), 0)).toThrow(RangeError);
  });
});

describe('encode/decode properties', () => {
  it('round-trips any text through its parts', () => {
    fc.assert(
      fc.property(texts, fc.integer({ min: 0, max: 255 }), (text, reference) => {
        const { encoded, decoded, text: back } = decodeAll(text, reference);
        expect(back).toBe(text);
        if (encoded.parts.length > 1) {
          decoded.forEach((d, i) => {
            expect(d.concat).toEqual({ reference, total: encoded.parts.length, seq: i + 1 });
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('plans exactly the parts it encodes, each within the 140-octet budget', () => {
    fc.assert(
      fc.property(texts, (text) => {
        const plan = planSegments(text);
        const encoded = encodeMessage(text, 0);
        expect(encoded.parts).toHaveLength(plan.parts);
        expect(encoded.dataCoding).toBe(plan.dataCoding);
        const limit = plan.encoding === 'ucs2' ? 140 : encoded.parts.length > 1 ? 159 : 160;
        for (const part of encoded.parts) expect(part.length).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 300 },
    );
  });

  it('never ends a part in a lone escape or a high surrogate', () => {
    fc.assert(
      fc.property(texts, (text) => {
        const encoded = encodeMessage(text, 0);
        const header = encoded.esmClass ? 6 : 0;
        for (const part of encoded.parts) {
          if (part.length === header) continue;
          // The encoder never emits ESC as the code of a pair, so a final ESC is always a lone one.
          if (encoded.dataCoding === 0) expect(part[part.length - 1]).not.toBe(0x1b);
          else expect(isHighSurrogate(part.readUInt16BE(part.length - 2))).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('decodeShortMessage', () => {
  it('decodes each data_coding a carrier sends', () => {
    expect(decodeShortMessage(Buffer.from('68656c6c6f', 'hex'), 0, false)).toEqual({ text: 'hello' });
    expect(decodeShortMessage(Buffer.from('1b65', 'hex'), 1, false)).toEqual({ text: '€' });
    expect(decodeShortMessage(Buffer.from('e9', 'hex'), 3, false)).toEqual({ text: 'é' });
    expect(decodeShortMessage(Buffer.from('90008ba2', 'hex'), 8, false)).toEqual({ text: '退订' });
    expect(decodeShortMessage(Buffer.from('90008ba2', 'hex'), 0x18, false)).toEqual({ text: '退订' });
    expect(decodeShortMessage(Buffer.from('5354', 'hex'), 0xf0, false)).toEqual({ text: 'ST' });
    expect(decodeShortMessage(Buffer.from('d0', 'hex'), 6, false)).toEqual({ text: 'а' });
  });

  it('strips 8-bit and 16-bit reference concatenation UDHs', () => {
    expect(decodeShortMessage(Buffer.from('0500032a0302544f', 'hex'), 0, true)).toEqual({
      text: 'TO',
      concat: { reference: 0x2a, total: 3, seq: 2 },
    });
    expect(decodeShortMessage(Buffer.from('060804beef02018ba2', 'hex'), 8, true)).toEqual({
      text: '订',
      concat: { reference: 0xbeef, total: 2, seq: 1 },
    });
    // Another element first (a port address), then the concatenation element.
    expect(
      decodeShortMessage(Buffer.from('0b' + '050400000000' + '0003010201' + '41', 'hex'), 0, true),
    ).toEqual({
      text: 'A',
      concat: { reference: 1, total: 2, seq: 1 },
    });
  });

  it('keeps text when the UDH is inconsistent', () => {
    // seq 0 is not a valid part number: text without concat info.
    expect(decodeShortMessage(Buffer.from('05000301020041', 'hex'), 0, true)).toEqual({ text: 'A' });
    // UDHL longer than the payload: the UDHI flag was wrong, decode everything.
    expect(decodeShortMessage(Buffer.from('4142', 'hex'), 0, true).text).toBe('AB');
    expect(decodeShortMessage(Buffer.alloc(0), 8, true)).toEqual({ text: '' });
  });

  it('is total on garbage', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: -1, max: 300 }),
        fc.boolean(),
        (b, dc, udh) => {
          const decoded = decodeShortMessage(Buffer.from(b), dc, udh);
          expect(typeof decoded.text).toBe('string');
        },
      ),
      { numRuns: 500 },
    );
  });
});
