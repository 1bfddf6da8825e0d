import { describe, expect, it } from 'vitest';
import {
  checkSignatureName,
  composeSourceAddress,
  nextExtensionCode,
  signatureBook,
  signContent,
} from './signatures.models.ts';

const book = signatureBook([
  { id: 1, name: '鸿雁', isDefault: true },
  { id: 2, name: 'Acme', isDefault: false },
]);

describe('signature names', () => {
  it('takes 2–12 letters or digits of any script and refuses brackets, spaces and symbols', () => {
    for (const ok of ['鸿雁', 'Acme物流', 'ab', '京东618', '一二三四五六七八九十一二']) {
      expect(checkSignatureName(ok), ok).toEqual({ ok: true });
    }
    for (const bad of ['雁', '一二三四五六七八九十一二三', '【鸿雁】', 'Acme Inc', 'a-b', '鸿雁!', 'ok😀']) {
      expect(checkSignatureName(bad).ok, bad).toBe(false);
    }
  });

  it('applies the limits the operator sets (seed 002: at most 8)', () => {
    expect(checkSignatureName('一二三四五六七八九', { min: 2, max: 8 }).ok).toBe(false);
    expect(checkSignatureName('一二三四五六七八', { min: 2, max: 8 }).ok).toBe(true);
  });
});

describe('extension codes', () => {
  it('count up from 01 and never reuse a code', () => {
    expect(nextExtensionCode([])).toBe('01');
    expect(nextExtensionCode(['01', '02'])).toBe('03');
    expect(nextExtensionCode(['01', '03'])).toBe('04');
    expect(nextExtensionCode(['99'])).toBe('100');
  });

  it('follow channel number and tenant code in the source address, within 20 digits', () => {
    expect(composeSourceAddress('106900', '1001', '01')).toBe('106900100101');
    expect(composeSourceAddress('106900', '1001', null)).toBe('1069001001');
    // 14 + 4 + 3 > 20: the tenant is still found, the signature code is left out.
    expect(composeSourceAddress('10690000000000', '1001', '123')).toBe('106900000000001001');
    expect(composeSourceAddress('106900000000000000', '1001', '01')).toBe('10690000000000000010');
    expect(composeSourceAddress('106900', null, '01')).toBe('106900');
  });
});

describe('signing a text', () => {
  it('puts 【sign_name】 in front when the request names an approved signature', () => {
    expect(signContent('您的验证码是123456', 'Acme', book)).toEqual({
      ok: true,
      text: '【Acme】您的验证码是123456',
      signatureId: 2,
      signatureName: 'Acme',
    });
  });

  it('reads a leading 【…】 as the signature, which must be approved', () => {
    expect(signContent('【鸿雁】hello', undefined, book)).toMatchObject({
      ok: true,
      text: '【鸿雁】hello',
      signatureId: 1,
    });
    expect(signContent('【别人】hello', undefined, book)).toMatchObject({
      ok: false,
      code: 'compliance.signature_not_approved',
    });
  });

  it("gives a text without one the tenant's default, and refuses it when there is none", () => {
    expect(signContent('hello', undefined, book)).toMatchObject({
      ok: true,
      text: '【鸿雁】hello',
      signatureId: 1,
    });
    const none = signatureBook([{ id: 2, name: 'Acme', isDefault: false }]);
    expect(signContent('hello', undefined, none)).toMatchObject({
      ok: false,
      code: 'compliance.signature_required',
    });
  });

  it('refuses a second 【…】 anywhere, however the first came', () => {
    for (const [body, signName] of [
      ['【鸿雁】hello【Acme】', undefined],
      ['hello【鸿雁】', undefined],
      ['【鸿雁】hello', 'Acme'],
      ['hello【x】world', 'Acme'],
    ] as const) {
      expect(signContent(body, signName, book), body).toMatchObject({
        ok: false,
        code: 'compliance.double_signature',
      });
    }
  });
});
