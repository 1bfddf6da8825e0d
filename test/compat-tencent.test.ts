// The official Tencent Cloud SDK (tencentcloud-sdk-nodejs, sms 2021-01-11, TC3-HMAC-SHA256)
// pointed at a running Hongyan, only the endpoint changed.
import * as tencentcloud from 'tencentcloud-sdk-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CompatHongyan,
  hongyanMessage,
  startCompatHongyan,
  startRecorder,
  waitUntilFinal,
} from '../src/modules/compat/compat.testkit.ts';

const SmsClient = tencentcloud.sms.v20210111.Client;

let h: CompatHongyan;
let recorder: Awaited<ReturnType<typeof startRecorder>>;

function smsClient(hostPort: string, secretKey = h.appSecret, secretId = h.appKey) {
  return new SmsClient({
    credential: { secretId, secretKey },
    region: 'ap-guangzhou',
    // The one line a user changes: the endpoint (and http:// where Hongyan has no TLS in front).
    profile: { httpProfile: { endpoint: `${hostPort}/compat/tencent`, protocol: 'http://' } },
  });
}

beforeAll(async () => {
  h = await startCompatHongyan('compat-tencent');
  recorder = await startRecorder(h.httpUrl);
}, 120_000);

afterAll(async () => {
  await recorder?.close();
  await h?.stop();
});

describe('Tencent Cloud SMS through tencentcloud-sdk-nodejs', () => {
  it('SendSms fills {1} from TemplateParamSet, answers each number its own Code, and PullSmsSendStatus reports each outcome once', async () => {
    const client = smsClient(h.hostPort);
    const sent = await client.SendSms({
      SmsSdkAppId: '1400000000',
      SignName: '鸿雁',
      TemplateId: String(h.templateId),
      TemplateParamSet: ['5678'],
      PhoneNumberSet: ['+8613800138101', '+8613800138102', '+86123', '+8613800138103'],
      SessionContext: 'ctx-1',
    });
    const set = sent.SendStatusSet!;
    expect(set.map((s) => s.Code)).toEqual(['Ok', 'Ok', 'InvalidParameterValue.IncorrectPhoneNumber', 'Ok']);
    expect(set.map((s) => s.PhoneNumber)).toEqual([
      '+8613800138101',
      '+8613800138102',
      '+86123',
      '+8613800138103',
    ]);
    expect(set[0]).toMatchObject({ SessionContext: 'ctx-1', IsoCode: 'CN', Fee: 1, Message: 'send success' });
    const ids = set.filter((s) => s.Code === 'Ok').map((s) => s.SerialNo!);
    for (const id of ids)
      expect((await hongyanMessage(h, id)).content).toBe('【鸿雁】您的验证码是5678，5分钟内有效。');

    const finals = await waitUntilFinal(h, ids);
    const pulled = new Map<string, { ReportStatus?: string; PhoneNumber?: string; Description?: string }>();
    for (let i = 0; i < 20 && pulled.size < ids.length; i++) {
      const page = await client.PullSmsSendStatus({ SmsSdkAppId: '1400000000', Limit: 100 });
      for (const s of page.PullSmsSendStatusSet ?? []) {
        expect(pulled.has(s.SerialNo!)).toBe(false); // each status is handed out once
        pulled.set(s.SerialNo!, s);
      }
    }
    for (const id of ids) {
      const s = pulled.get(id)!;
      expect(s.ReportStatus).toBe(finals.get(id)!.status === 'delivered' ? 'SUCCESS' : 'FAIL');
      expect(s.PhoneNumber).toBe(finals.get(id)!.to);
    }
    const again = await client.PullSmsSendStatus({ SmsSdkAppId: '1400000000', Limit: 100 });
    expect((again.PullSmsSendStatusSet ?? []).filter((s) => ids.includes(s.SerialNo!))).toEqual([]);
  }, 120_000);

  it('DescribeSmsTemplateList shows Hongyan templates in Tencent syntax with their review state', async () => {
    const list = await smsClient(h.hostPort).DescribeSmsTemplateList({
      International: 0,
      TemplateIdSet: [h.templateId],
    });
    expect(list.DescribeTemplateStatusSet).toEqual([
      expect.objectContaining({
        TemplateId: h.templateId,
        International: 0,
        StatusCode: 0,
        TemplateName: 'Login code',
        TemplateContent: '您的验证码是{1}，5分钟内有效。',
      }),
    ]);
    const international = await smsClient(h.hostPort).DescribeSmsTemplateList({
      International: 1,
      Limit: 10,
      Offset: 0,
    });
    expect(international.DescribeTemplateStatusSet).toEqual([]);
  });

  it('refuses a whole request with Response.Error in Tencent codes and writes nothing', async () => {
    const { rows: before } = await h.db.pool.query('select count(*)::int as n from messages');
    await expect(
      smsClient(h.hostPort).SendSms({
        SmsSdkAppId: '1400000000',
        SignName: '未批准',
        TemplateId: String(h.templateId),
        TemplateParamSet: ['1234'],
        PhoneNumberSet: ['+8613800138111'],
      }),
    ).rejects.toMatchObject({ code: 'FailedOperation.SignatureIncorrectOrUnapproved' });
    await expect(
      smsClient(h.hostPort).SendSms({
        SmsSdkAppId: '1400000000',
        SignName: '鸿雁',
        TemplateId: '999999',
        PhoneNumberSet: ['+8613800138111'],
      }),
    ).rejects.toMatchObject({ code: 'FailedOperation.TemplateIncorrectOrUnapproved' });
    const { rows: after } = await h.db.pool.query('select count(*)::int as n from messages');
    expect(after[0].n).toBe(before[0].n);
  });

  it('a wrong SecretKey is refused with AuthFailure.SignatureFailure, an unknown SecretId with AuthFailure.SecretIdNotFound', async () => {
    const request = { International: 0 };
    await expect(
      smsClient(h.hostPort, 'wrong-secret').DescribeSmsTemplateList(request),
    ).rejects.toMatchObject({
      code: 'AuthFailure.SignatureFailure',
    });
    await expect(
      smsClient(h.hostPort, h.appSecret, 'ak_00000000000000000000').DescribeSmsTemplateList(request),
    ).rejects.toMatchObject({ code: 'AuthFailure.SecretIdNotFound' });
  });

  it('the same signed SendSms sent again is refused as a replay; a changed body under its signature too', async () => {
    const client = smsClient(recorder.hostPort);
    const first = await client.SendSms({
      SmsSdkAppId: '1400000000',
      SignName: '鸿雁',
      TemplateId: String(h.templateId),
      TemplateParamSet: ['2468'],
      PhoneNumberSet: ['+8613800138121'],
    });
    expect(first.SendStatusSet![0]!.Code).toBe('Ok');
    const original = recorder.recorded.at(-1)!;
    expect(original.headers.authorization).toMatch(/^TC3-HMAC-SHA256 /);
    const { rows: before } = await h.db.pool.query('select count(*)::int as n from messages');
    const again = JSON.parse((await recorder.replay(original)).body);
    expect(again.Response.Error).toMatchObject({
      Code: 'AuthFailure.SignatureFailure',
      Message: expect.stringMatching(/replay/),
    });
    const altered = JSON.parse(
      (
        await recorder.replay({
          ...original,
          body: Buffer.from(original.body.toString().replace('+8613800138121', '+8613800138122')),
        })
      ).body,
    );
    expect(altered.Response.Error).toMatchObject({
      Code: 'AuthFailure.SignatureFailure',
      Message: expect.not.stringMatching(/replay/),
    });
    const { rows: after } = await h.db.pool.query('select count(*)::int as n from messages');
    expect(after[0].n).toBe(before[0].n);
  });
});
