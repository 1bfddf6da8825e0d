import { describe, expect, it } from 'vitest';
import type { AppError } from '../../../shared/errors.ts';
import { compileSendContent, type SendPolicy } from './send-content.models.ts';
import { checkTemplateDefinition, compileTemplate } from './templates.models.ts';

describe('template definitions', () => {
  it('completes undeclared variables: {code} a code, the rest text of at most 20', () => {
    const check = checkTemplateDefinition({ type: 'verification', content: '验证码{code}，{name}请查收' });
    expect(check).toEqual({
      ok: true,
      variables: [
        { name: 'code', kind: 'code' },
        { name: 'name', kind: 'text' },
      ],
    });
  });

  it('refuses a signature inside, an unused declaration, and a verification template without a code', () => {
    expect(checkTemplateDefinition({ type: 'notification', content: '【鸿雁】订单{order}' }).ok).toBe(false);
    expect(
      checkTemplateDefinition({
        type: 'notification',
        content: '订单{order}',
        variables: [{ name: 'other', kind: 'text' }],
      }).ok,
    ).toBe(false);
    expect(checkTemplateDefinition({ type: 'verification', content: '您好{name}' }).ok).toBe(false);
  });
});

describe('params', () => {
  const template = compileTemplate({
    id: 7,
    content: '验证码{code}，订单{order}，金额{amount}',
    variables: [
      { name: 'code', kind: 'code' },
      { name: 'order', kind: 'text' },
      { name: 'amount', kind: 'number', max_length: 8 },
    ],
    allow_urls: false,
    allow_phones: false,
  });

  it('renders valid values', () => {
    expect(template.render({ code: '123456', order: 'A1', amount: 12.5 })).toEqual({
      ok: true,
      text: '验证码123456，订单A1，金额12.5',
    });
  });

  it('names the variable that is missing or breaks its kind', () => {
    const cases: [Record<string, string | number>, string][] = [
      [{ order: 'A1', amount: 1 }, 'templates.missing_param'],
      [{ code: '123', order: 'A1', amount: 1 }, 'templates.invalid_param'],
      [{ code: '123456789', order: 'A1', amount: 1 }, 'templates.invalid_param'],
      [{ code: '12a456', order: 'A1', amount: 1 }, 'templates.invalid_param'],
      [{ code: '1234', order: 'x'.repeat(21), amount: 1 }, 'templates.invalid_param'],
      [{ code: '1234', order: 'www.evil.cn', amount: 1 }, 'templates.invalid_param'],
      [{ code: '1234', order: 'http://a.b/c', amount: 1 }, 'templates.invalid_param'],
      [{ code: '1234', order: '13800138000', amount: 1 }, 'templates.invalid_param'],
      [{ code: '1234', order: '010-88886666', amount: 1 }, 'templates.invalid_param'],
      [{ code: '1234', order: '400-123-4567', amount: 1 }, 'templates.invalid_param'],
      [{ code: '1234', order: '【别人】', amount: 1 }, 'templates.invalid_param'],
      [{ code: '1234', order: 'A1', amount: 'ten' }, 'templates.invalid_param'],
    ];
    for (const [params, code] of cases)
      expect(template.render(params), JSON.stringify(params)).toMatchObject({ ok: false, code });
  });

  it('takes order and tracking numbers, which are not phone numbers', () => {
    expect(template.render({ code: '1234', order: 'SF1234567890123', amount: 1 }).ok).toBe(true);
    expect(template.render({ code: '1234', order: '20261130000123', amount: 1 }).ok).toBe(true);
  });

  it('lets a template that allows links and phone numbers carry them', () => {
    const open = compileTemplate({
      id: 8,
      content: '详见{link}，电话{phone}',
      variables: [
        { name: 'link', kind: 'text' },
        { name: 'phone', kind: 'text' },
      ],
      allow_urls: true,
      allow_phones: true,
    });
    expect(open.render({ link: 'https://a.cn/x', phone: '13800138000' }).ok).toBe(true);
  });
});

describe('composing a send', () => {
  const policy = (over: Partial<SendPolicy> = {}): SendPolicy => ({
    freeText: true,
    signatures: [{ id: 1, name: '鸿雁', isDefault: true }],
    template: {
      id: 9,
      type: 'verification',
      status: 'approved',
      content: '您的验证码是{code}',
      variables: [{ name: 'code', kind: 'code' }],
      allow_urls: false,
      allow_phones: false,
    },
    ...over,
  });
  const refusedWith = (fn: () => unknown, code: string) => {
    try {
      fn();
    } catch (error) {
      expect((error as AppError).code).toBe(code);
      return;
    }
    throw new Error(`expected ${code}`);
  };

  it("renders a template, signs it, and takes the template's type", () => {
    const composer = compileSendContent({
      request: { template_id: '9', sign_name: '鸿雁' },
      policy: policy(),
    });
    expect(composer.type).toBe('verification');
    expect(composer.compose({ code: '4321' }, true)).toEqual({
      ok: true,
      text: '【鸿雁】您的验证码是4321',
      signatureId: 1,
      templateId: 9,
    });
    expect(composer.compose({ code: '12' }, true)).toMatchObject({
      ok: false,
      code: 'templates.invalid_param',
    });
  });

  it('refuses for the whole request what does not depend on a recipient', () => {
    refusedWith(
      () => compileSendContent({ request: { template_id: '9' }, policy: policy({ template: null }) }),
      'templates.not_approved',
    );
    refusedWith(
      () =>
        compileSendContent({
          request: { template_id: '9' },
          policy: policy({ template: { ...policy().template!, status: 'pending' } }),
        }),
      'templates.not_approved',
    );
    refusedWith(
      () => compileSendContent({ request: { content: 'hi' }, policy: policy({ freeText: false }) }),
      'templates.required',
    );
    refusedWith(
      () => compileSendContent({ request: { content: 'hi', sign_name: '别人' }, policy: policy() }),
      'compliance.signature_not_approved',
    );
    refusedWith(
      () => compileSendContent({ request: { content: 'hi', template_id: 9 }, policy: policy() }),
      'templates.content_and_template',
    );
  });

  it('applies the content rules to the final text, signature included', () => {
    const composer = compileSendContent({
      request: { content: '加微信abc' },
      policy: policy(),
      rules: ({ text }) =>
        text.includes('加微信') ? { code: 'compliance.contact_diversion', message: 'no' } : null,
    });
    expect(composer.compose(undefined, false)).toMatchObject({
      ok: false,
      code: 'compliance.contact_diversion',
    });
  });

  it('fills free text {variables} only for batches', () => {
    const composer = compileSendContent({ request: { content: '你好{name}' }, policy: policy() });
    expect(composer.compose(undefined, false)).toMatchObject({ ok: true, text: '【鸿雁】你好{name}' });
    expect(composer.compose({ name: '张三' }, true)).toMatchObject({ ok: true, text: '【鸿雁】你好张三' });
    expect(composer.compose({}, true)).toMatchObject({ ok: false, code: 'messages.missing_variable' });
  });
});
