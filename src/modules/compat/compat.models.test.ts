import { describe, expect, it } from 'vitest';
import {
  aliyunCodeOf,
  aliyunSendStatus,
  aliyunTemplateToHongyan,
  hongyanTemplateToAliyun,
  hongyanTemplateToTencent,
  messageIdOfTwilioSid,
  parseAliyunTemplateParam,
  templateIdOf,
  tencentCodeOf,
  tencentParamsToNamed,
  twilioCodeOf,
  twilioMessageSid,
  twilioStatus,
} from './compat.models.ts';
import { cstDateTime, cstDayStart } from './compat.time.ts';
import { parseAcs3Authorization, rpcStringToSign } from './aliyun/aliyun.signature.ts';
import { parseTc3Authorization, signedHostOf, tc3Date } from './tencent/tencent.signature.ts';

describe('template syntax', () => {
  it("maps Aliyun's ${name} to Hongyan's {name} and back", () => {
    expect(aliyunTemplateToHongyan('验证码${code}，${minutes}分钟有效，$5 {x}')).toBe(
      '验证码{code}，{minutes}分钟有效，$5 {x}',
    );
    expect(hongyanTemplateToAliyun('验证码{code}，{minutes}分钟')).toBe('验证码${code}，${minutes}分钟');
  });

  it("numbers Hongyan's placeholders in order of first use for Tencent, and fills them from TemplateParamSet", () => {
    const content = '{name}您好，验证码{code}，{name}请勿泄露';
    expect(hongyanTemplateToTencent(content)).toBe('{1}您好，验证码{2}，{1}请勿泄露');
    expect(tencentParamsToNamed(content, ['王', '1234', 'extra'])).toEqual({ name: '王', code: '1234' });
    expect(tencentParamsToNamed(content, ['王'])).toEqual({ name: '王' });
  });

  it('reads TemplateParam as a JSON object of strings or numbers, and nothing else', () => {
    expect(parseAliyunTemplateParam('{"code":"12","n":3}')).toEqual({ code: '12', n: '3' });
    expect(parseAliyunTemplateParam(undefined)).toEqual({});
    for (const bad of ['[1]', '"x"', '{"a":{}}', '{"a":null}', 'nope'])
      expect(parseAliyunTemplateParam(bad)).toBeNull();
  });

  it('takes template ids as SMS_<id> or digits', () => {
    expect(templateIdOf('SMS_42')).toBe(42);
    expect(templateIdOf('42')).toBe(42);
    expect(templateIdOf('SMS_x')).toBeNull();
    expect(templateIdOf(undefined)).toBeNull();
  });
});

describe('codes and states', () => {
  it("maps Hongyan's codes to each vendor's, families by prefix, the rest to a generic code", () => {
    expect(aliyunCodeOf('messages.invalid_recipient', 400)).toBe('isv.MOBILE_NUMBER_ILLEGAL');
    expect(aliyunCodeOf('compliance.signature_required', 422)).toBe('isv.SMS_SIGNATURE_ILLEGAL');
    expect(aliyunCodeOf('templates.not_approved', 422)).toBe('isv.SMS_TEMPLATE_ILLEGAL');
    expect(aliyunCodeOf('limit.recipient_frequency', 429)).toBe('isv.BUSINESS_LIMIT_CONTROL');
    expect(aliyunCodeOf('compliance.banned_words', 422)).toBe('isv.BLACK_KEY_CONTROL_LIMIT');
    expect(aliyunCodeOf('something.else', 400)).toBe('isv.INVALID_PARAMETERS');
    expect(aliyunCodeOf('something.else', 503)).toBe('isp.SYSTEM_ERROR');
    expect(tencentCodeOf('billing.insufficient_quota', 402)).toBe(
      'FailedOperation.InsufficientBalanceInSmsPackage',
    );
    expect(twilioCodeOf('compliance.opt_out', 422)).toBe(21610);
  });

  it('maps message states to Aliyun SendStatus and Twilio status', () => {
    expect(['queued', 'sent', 'delivered', 'undelivered'].map(aliyunSendStatus)).toEqual([1, 1, 3, 2]);
    expect(['held', 'accepted', 'sent', 'expired', 'rejected'].map(twilioStatus)).toEqual([
      'scheduled',
      'accepted',
      'sent',
      'undelivered',
      'failed',
    ]);
  });

  it('turns a message id into a Twilio SID and back', () => {
    expect(twilioMessageSid(255)).toBe(`SM${'0'.repeat(30)}ff`);
    expect(messageIdOfTwilioSid(twilioMessageSid(9_007_199_254))).toBe(9_007_199_254);
    expect(messageIdOfTwilioSid(`SM${'0'.repeat(32)}`)).toBeNull();
    expect(messageIdOfTwilioSid('SMxyz')).toBeNull();
  });
});

describe('dates and signing strings', () => {
  it('reads yyyyMMdd as a day in China time and writes China time', () => {
    expect(cstDayStart('20261130')!.toISOString()).toBe('2026-11-29T16:00:00.000Z');
    expect(cstDayStart('20260231')).toBeNull();
    expect(cstDateTime(new Date('2026-11-30T10:45:09Z'))).toBe('2026-11-30 18:45:09');
  });

  it("builds Aliyun's RPC string to sign from sorted, encoded parameters without Signature", () => {
    expect(rpcStringToSign('POST', { b: "x y'", A: '1', Signature: 'ignored' })).toBe(
      'POST&%2F&A%3D1%26b%3Dx%2520y%2527',
    );
  });

  it('parses the ACS3 and TC3 Authorization headers, nothing looser', () => {
    const sig = 'a'.repeat(64);
    expect(
      parseAcs3Authorization(
        `ACS3-HMAC-SHA256 Credential=ak_1,SignedHeaders=host;x-acs-date,Signature=${sig}`,
      ),
    ).toEqual({
      algorithm: 'ACS3-HMAC-SHA256',
      accessKeyId: 'ak_1',
      signedHeaders: ['host', 'x-acs-date'],
      signature: sig,
    });
    expect(
      parseAcs3Authorization(`ACS3-HMAC-SHA1 Credential=a,SignedHeaders=host,Signature=${sig}`),
    ).toBeNull();
    expect(
      parseTc3Authorization(
        `TC3-HMAC-SHA256 Credential=ak_1/2026-11-30/sms/tc3_request, SignedHeaders=content-type;host, Signature=${sig}`,
      ),
    ).toMatchObject({
      secretId: 'ak_1',
      date: '2026-11-30',
      service: 'sms',
      signedHeaders: ['content-type', 'host'],
    });
    expect(parseTc3Authorization('TC3-HMAC-SHA256 Credential=x')).toBeNull();
    expect(signedHostOf('127.0.0.1:8080')).toBe('127.0.0.1');
    expect(signedHostOf('[::1]:8080')).toBe('[::1]');
    expect(tc3Date(1_796_000_000)).toBe('2026-11-30');
  });
});
