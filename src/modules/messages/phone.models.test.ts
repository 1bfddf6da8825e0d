import fc from 'fast-check';
import type { CountryCode } from 'libphonenumber-js/max';
import { getCountryCallingCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import { describe, expect, it } from 'vitest';
import { fastMobileE164, maskPhone, normalizePhone } from './phone.models.ts';

describe('normalizePhone', () => {
  it.each([
    ['13800138000', 'CN'],
    ['+8613800138000', 'CN'],
    ['8613800138000', 'CN'],
    ['+86 138 0013 8000', 'CN'],
    ['+86-138-0013-8000', 'CN'],
    ['0086 13800138000', 'CN'],
    ['  138 0013 8000  ', 'CN'],
    ['１３８００１３８０００', 'CN'],
    ['+8613800138000', 'US'],
    ['0086 13800138000', 'US'],
  ] as const)('reads %j in %s as a Chinese mobile', (input, region) => {
    expect(normalizePhone(input, region)).toEqual({ ok: true, e164: '+8613800138000', country: 'CN' });
  });

  it('defaults to China', () => {
    expect(normalizePhone('13912345678')).toEqual({ ok: true, e164: '+8613912345678', country: 'CN' });
  });

  it('reads other regions', () => {
    expect(normalizePhone('(415) 555-2671', 'US')).toEqual({ ok: true, e164: '+14155552671', country: 'US' });
    expect(normalizePhone('+852 5123 4567')).toEqual({ ok: true, e164: '+85251234567', country: 'HK' });
    expect(normalizePhone('07400 123456', 'GB')).toEqual({ ok: true, e164: '+447400123456', country: 'GB' });
    expect(normalizePhone('+7 912 345 67 89')).toEqual({ ok: true, e164: '+79123456789', country: 'RU' });
  });

  it('refuses definite landlines only', () => {
    expect(normalizePhone('010 12345678')).toMatchObject({ ok: false, code: 'phone.not_mobile' });
    expect(normalizePhone('+86 10 1234 5678')).toMatchObject({ ok: false, code: 'phone.not_mobile' });
    // FIXED_LINE_OR_MOBILE and other types pass.
    expect(normalizePhone('+1 650 253 0000')).toMatchObject({ ok: true, e164: '+16502530000' });
    expect(normalizePhone('+86 400 123 4567')).toMatchObject({ ok: true, e164: '+864001234567' });
  });

  it('explains what is wrong', () => {
    expect(normalizePhone('')).toMatchObject({ ok: false, code: 'phone.empty' });
    expect(normalizePhone('  ')).toMatchObject({ ok: false, code: 'phone.empty' });
    expect(normalizePhone('1-800-FLOWERS', 'US')).toMatchObject({ ok: false, code: 'phone.invalid' });
    expect(normalizePhone('+1 415 555 2671 ext 12')).toMatchObject({ ok: false, code: 'phone.invalid' });
    expect(normalizePhone('13800138000#12')).toMatchObject({ ok: false, code: 'phone.invalid' });
    expect(normalizePhone('138abc38000')).toMatchObject({ ok: false, code: 'phone.invalid' });
    expect(normalizePhone('14000000000')).toMatchObject({ ok: false, code: 'phone.invalid' });
    expect(normalizePhone('+')).toMatchObject({ ok: false, code: 'phone.invalid' });
    expect(normalizePhone('12345')).toMatchObject({ ok: false, code: 'phone.too_short' });
    expect(normalizePhone('1380013800000')).toMatchObject({ ok: false, code: 'phone.too_long' });
    expect(normalizePhone('1'.repeat(100))).toMatchObject({ ok: false, code: 'phone.too_long' });
    expect(normalizePhone('+999 1234567')).toMatchObject({ ok: false, code: 'phone.invalid_country' });
    expect(normalizePhone('13800138000', 'XX' as CountryCode)).toMatchObject({
      ok: false,
      code: 'phone.invalid_country',
    });
  });

  it('never throws', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.constantFrom<CountryCode>('CN', 'US', 'GB', 'AR'),
        (input, region) => {
          const result = normalizePhone(input, region);
          if (result.ok) expect(result.e164).toMatch(/^\+[1-9]\d{6,16}$/);
        },
      ),
    );
  });
});

// The fast path must agree with the library on everything it answers: numbers built from the
// metadata's own mobile examples, mutated, in every common written form.
const REGIONS: CountryCode[] = [
  'CN',
  'HK',
  'TW',
  'SG',
  'IN',
  'ID',
  'JP',
  'KR',
  'DE',
  'FR',
  'BR',
  'AR',
  'MX',
  'US',
  'GB',
];

const writtenNumbers = fc
  .record({
    region: fc.constantFrom(...REGIONS),
    // Mostly a number of the default region itself: that is what the fast path answers.
    other: fc.option(fc.constantFrom(...REGIONS), { freq: 3 }),
    tail: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 4 }),
    trim: fc.integer({ min: 0, max: 2 }),
    form: fc.constantFrom('national', 'trunk', 'plus', 'cc', 'idd'),
    spaces: fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 3 }),
    separator: fc.constantFrom(' ', '-'),
  })
  .map(({ region, other, tail, trim, form, spaces, separator }) => {
    const of = other ?? region;
    const example = examples[of] ?? '1';
    const nsn = example.slice(0, example.length - trim - tail.length) + tail.join('');
    const cc = getCountryCallingCode(of);
    let text = { national: nsn, trunk: '0' + nsn, plus: '+' + cc + nsn, cc: cc + nsn, idd: '00' + cc + nsn }[
      form
    ];
    for (const at of spaces) text = text.slice(0, at) + separator + text.slice(at);
    return { region, text };
  });

describe('fast path', () => {
  it('is active for Chinese mobiles', () => {
    expect(fastMobileE164('13800138000', 'CN')).toBe('+8613800138000');
    expect(fastMobileE164('+86 138-0013-8000', 'CN')).toBe('+8613800138000');
    expect(fastMobileE164('010 12345678', 'CN')).toBeUndefined();
  });

  it('answers only what the library would answer the same way', () => {
    let answered = 0;
    fc.assert(
      fc.property(writtenNumbers, ({ region, text }) => {
        const fast = fastMobileE164(text, region);
        if (fast === undefined) return;
        answered++;
        const parsed = parsePhoneNumberFromString(text, region);
        expect(parsed?.number).toBe(fast);
        expect(parsed?.country).toBe(region);
        expect(parsed?.getType()).toMatch(/^(MOBILE|FIXED_LINE_OR_MOBILE)$/);
        expect(normalizePhone(text, region)).toEqual({ ok: true, e164: fast, country: region });
      }),
      { numRuns: 2000 },
    );
    expect(answered).toBeGreaterThan(100);
  });
});

describe('maskPhone', () => {
  it('keeps the country code, a few leading and the last four digits', () => {
    expect(maskPhone('+8613800138000')).toBe('+86138****8000');
    expect(maskPhone('+14155552671')).toBe('+141****2671');
    expect(maskPhone('+85251234567')).toBe('+852****4567');
  });

  it('never shows a short value whole', () => {
    expect(maskPhone('12345')).toBe('***45');
    expect(maskPhone('12')).toBe('**');
    expect(maskPhone('')).toBe('');
  });
});
