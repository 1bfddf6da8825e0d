// The official Alibaba Cloud SDKs pointed at a running Hongyan, only the endpoint changed:
// @alicloud/dysmsapi20170525 (ACS3-HMAC-SHA256) and @alicloud/pop-core (RPC HMAC-SHA1).
import DysmsapiModule, * as $Dysmsapi from '@alicloud/dysmsapi20170525';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import RPCClient from '@alicloud/pop-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import {
  addTenant,
  type CompatHongyan,
  hongyanMessage,
  startCompatHongyan,
  startRecorder,
  waitUntilFinal,
} from '../src/modules/compat/compat.testkit.ts';

// A CommonJS package with a default export: typed as the module under NodeNext, loaded as the
// class by Vitest; either way the class.
const Dysmsapi = (
  'default' in DysmsapiModule ? DysmsapiModule.default : DysmsapiModule
) as typeof DysmsapiModule.default;

let h: CompatHongyan;
let recorder: Awaited<ReturnType<typeof startRecorder>>;

function acs3Client(endpointHost: string, secret = h.appSecret, accessKeyId = h.appKey) {
  // The one line a user changes: the endpoint (and http where Hongyan has no TLS in front).
  return new Dysmsapi(
    new $OpenApiUtil.Config({
      accessKeyId,
      accessKeySecret: secret,
      endpoint: `${endpointHost}/compat/aliyun`,
      protocol: 'http',
    }),
  );
}

function rpcClient(endpointUrl: string, secret = h.appSecret, accessKeyId = h.appKey) {
  return new RPCClient({
    accessKeyId,
    accessKeySecret: secret,
    endpoint: `${endpointUrl}/compat/aliyun`,
    apiVersion: '2017-05-25',
  });
}

function today(): string {
  return new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10).replace(/-/g, '');
}

async function messageCount(): Promise<number> {
  const { rows } = await h.db.pool.query<{ n: string }>(
    'select count(*) as n from messages where tenant_id = $1',
    [h.tenantId],
  );
  return Number(rows[0]!.n);
}

beforeAll(async () => {
  h = await startCompatHongyan('compat-aliyun');
  recorder = await startRecorder(h.httpUrl);
}, 120_000);

afterAll(async () => {
  await recorder?.close();
  await h?.stop();
});

describe('Aliyun SMS through @alicloud/dysmsapi20170525 (ACS3-HMAC-SHA256)', () => {
  it('sends with a template and its params, then QuerySendDetails reports each number its own delivery outcome', async () => {
    const client = acs3Client(h.hostPort);
    const numbers = ['13800138001', '13800138002', '13800138003'];
    const sent = await client.sendSms(
      new $Dysmsapi.SendSmsRequest({
        phoneNumbers: numbers.join(','),
        signName: '鸿雁',
        templateCode: `SMS_${h.templateId}`,
        templateParam: JSON.stringify({ code: '482913' }),
        outId: 'order-7',
      }),
    );
    expect(sent.statusCode).toBe(200);
    expect(sent.body).toMatchObject({ code: 'OK', message: 'OK' });
    expect(sent.body?.bizId).toMatch(/^\d+\^0$/);
    expect(sent.body?.requestId).toMatch(/^[0-9A-F-]{36}$/);

    const { rows } = await h.db.pool.query<{ id: string; recipient: string }>(
      'select id, recipient from messages where batch_id = $1 order by id',
      [Number(sent.body!.bizId!.split('^')[0])],
    );
    expect(rows.map((r) => r.recipient)).toEqual(numbers.map((n) => `+86${n}`));
    const finals = await waitUntilFinal(
      h,
      rows.map((r) => r.id),
    );

    for (const r of rows) {
      const number = r.recipient.slice(3);
      const details = await client.querySendDetails(
        new $Dysmsapi.QuerySendDetailsRequest({
          phoneNumber: number,
          sendDate: today(),
          bizId: sent.body!.bizId,
          pageSize: 10,
          currentPage: 1,
        }),
      );
      expect(details.body).toMatchObject({ code: 'OK', totalCount: '1' });
      const dto = details.body!.smsSendDetailDTOs!.smsSendDetailDTO![0]!;
      const status = finals.get(r.id)!.status;
      expect(dto.phoneNum).toBe(number);
      expect(dto.sendStatus).toBe(status === 'delivered' ? 3 : 2);
      expect(dto.content).toBe('【鸿雁】您的验证码是482913，5分钟内有效。');
      expect(dto.templateCode).toBe(`SMS_${h.templateId}`);
      expect(dto.outId).toBe('order-7');
      expect(dto.receiveDate).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    }
  }, 120_000);

  it('SendBatchSms gives each number its own params', async () => {
    const client = acs3Client(h.hostPort);
    const sent = await client.sendBatchSms(
      new $Dysmsapi.SendBatchSmsRequest({
        phoneNumberJson: JSON.stringify(['13800138011', '13800138012']),
        signNameJson: JSON.stringify(['鸿雁', '鸿雁']),
        templateCode: `SMS_${h.templateId}`,
        templateParamJson: JSON.stringify([{ code: '1111' }, { code: '2222' }]),
      }),
    );
    expect(sent.body).toMatchObject({ code: 'OK' });
    const { rows } = await h.db.pool.query<{ recipient: string; content: string }>(
      'select recipient, content from messages where batch_id = $1 order by recipient',
      [Number(sent.body!.bizId!.split('^')[0])],
    );
    expect(rows).toEqual([
      { recipient: '+8613800138011', content: '【鸿雁】您的验证码是1111，5分钟内有效。' },
      { recipient: '+8613800138012', content: '【鸿雁】您的验证码是2222，5分钟内有效。' },
    ]);
  });

  it("answers Aliyun's isv.* codes for Hongyan's refusals and writes nothing", async () => {
    const client = acs3Client(h.hostPort);
    const before = await messageCount();
    const send = (
      over: Partial<{ phoneNumbers: string; signName: string; templateCode: string; templateParam: string }>,
    ) =>
      client.sendSms(
        new $Dysmsapi.SendSmsRequest({
          phoneNumbers: '13800138021',
          signName: '鸿雁',
          templateCode: `SMS_${h.templateId}`,
          templateParam: '{"code":"123456"}',
          ...over,
        }),
      );
    // One bad number in the list refuses the whole send, as Aliyun does.
    expect((await send({ phoneNumbers: '13800138021,12345' })).body?.code).toBe('isv.MOBILE_NUMBER_ILLEGAL');
    expect((await send({ signName: '没有这个签名' })).body?.code).toBe('isv.SMS_SIGNATURE_ILLEGAL');
    expect((await send({ templateCode: 'SMS_999999' })).body?.code).toBe('isv.SMS_TEMPLATE_ILLEGAL');
    expect((await send({ templateParam: '{}' })).body?.code).toBe('isv.TEMPLATE_MISSING_PARAMETERS');
    expect((await send({ templateParam: 'not json' })).body?.code).toBe('isv.INVALID_JSON_PARAM');
    expect(await messageCount()).toBe(before);
  });

  it('a wrong secret is refused with SignatureDoesNotMatch, an unknown key with InvalidAccessKeyId.NotFound', async () => {
    const request = new $Dysmsapi.QuerySmsTemplateRequest({ templateCode: `SMS_${h.templateId}` });
    await expect(acs3Client(h.hostPort, 'wrong-secret').querySmsTemplate(request)).rejects.toMatchObject({
      code: 'SignatureDoesNotMatch',
      statusCode: 400,
    });
    await expect(
      acs3Client(h.hostPort, h.appSecret, 'ak_00000000000000000000').querySmsTemplate(request),
    ).rejects.toMatchObject({
      code: 'InvalidAccessKeyId.NotFound',
      statusCode: 404,
    });
  });

  it('a replayed request (same x-acs-signature-nonce) is refused with SignatureNonceUsed', async () => {
    const client = acs3Client(recorder.hostPort);
    const first = await client.querySmsTemplate(
      new $Dysmsapi.QuerySmsTemplateRequest({ templateCode: `SMS_${h.templateId}` }),
    );
    expect(first.body?.code).toBe('OK');
    const original = recorder.recorded.at(-1)!;
    expect(original.headers.authorization).toMatch(/^ACS3-HMAC-SHA256 /);
    const again = await recorder.replay(original);
    expect(again.status).toBe(400);
    expect(JSON.parse(again.body)).toMatchObject({ Code: 'SignatureNonceUsed' });
    // A changed parameter under the old signature is not the signed request.
    const altered = await recorder.replay({
      ...original,
      url: original.url.replace(/TemplateCode=[^&]+/, 'TemplateCode=SMS_1'),
    });
    expect(JSON.parse(altered.body)).toMatchObject({ Code: 'SignatureDoesNotMatch' });
  });

  it('templates: AddSmsTemplate takes ${name} placeholders, QuerySmsTemplate shows the review state', async () => {
    const client = acs3Client(h.hostPort);
    const added = await client.addSmsTemplate(
      new $Dysmsapi.AddSmsTemplateRequest({
        templateType: 1,
        templateName: 'Shipping',
        templateContent: '您的订单${order}已发货',
        remark: 'notifications',
      }),
    );
    expect(added.body).toMatchObject({ code: 'OK' });
    expect(added.body?.templateCode).toMatch(/^SMS_\d+$/);
    const queried = await client.querySmsTemplate(
      new $Dysmsapi.QuerySmsTemplateRequest({ templateCode: added.body!.templateCode }),
    );
    expect(queried.body).toMatchObject({
      code: 'OK',
      templateStatus: 0,
      templateType: 1,
      templateContent: '您的订单${order}已发货',
    });
    const { rows } = await h.db.pool.query('select content, status from templates where id = $1', [
      Number(added.body!.templateCode!.slice(4)),
    ]);
    expect(rows[0]).toEqual({ content: '您的订单{order}已发货', status: 'pending' });

    const sign = await client.addSmsSign(
      new $Dysmsapi.AddSmsSignRequest({ signName: '新签名测试', signSource: 0, remark: 'ours' }),
    );
    expect(sign.body).toMatchObject({ code: 'OK', signName: '新签名测试' });
    const signState = await client.querySmsSign(
      new $Dysmsapi.QuerySmsSignRequest({ signName: '新签名测试' }),
    );
    expect(signState.body).toMatchObject({ code: 'OK', signStatus: 0 });
    const approved = await client.querySmsSign(new $Dysmsapi.QuerySmsSignRequest({ signName: '鸿雁' }));
    expect(approved.body).toMatchObject({ code: 'OK', signStatus: 1 });
  });
});

describe('Aliyun SMS through @alicloud/pop-core (RPC HMAC-SHA1)', () => {
  it('sends by POST and by GET, then QuerySendDetails and QuerySendStatistics report what Hongyan holds', async () => {
    const client = rpcClient(h.httpUrl);
    const params = {
      SignName: '鸿雁',
      TemplateCode: `SMS_${h.templateId}`,
      TemplateParam: '{"code":"7788"}',
    };
    const byPost = (await client.request(
      'SendSms',
      { ...params, PhoneNumbers: '13800138031' },
      { method: 'POST' },
    )) as {
      Code: string;
      BizId: string;
    };
    const byGet = (await client.request(
      'SendSms',
      { ...params, PhoneNumbers: '13800138032' },
      { method: 'GET' },
    )) as {
      Code: string;
      BizId: string;
    };
    expect(byPost.Code).toBe('OK');
    expect(byGet.Code).toBe('OK');
    const ids: string[] = [];
    for (const bizId of [byPost.BizId, byGet.BizId]) {
      const { rows } = await h.db.pool.query<{ id: string }>('select id from messages where batch_id = $1', [
        Number(bizId.split('^')[0]),
      ]);
      ids.push(rows[0]!.id);
    }
    const finals = await waitUntilFinal(h, ids);
    for (const [i, number] of ['13800138031', '13800138032'].entries()) {
      const details = (await client.request(
        'QuerySendDetails',
        { PhoneNumber: number, SendDate: today(), PageSize: 10, CurrentPage: 1 },
        { method: 'POST' },
      )) as {
        Code: string;
        SmsSendDetailDTOs: { SmsSendDetailDTO: { SendStatus: number; Content: string }[] };
      };
      expect(details.Code).toBe('OK');
      const [dto] = details.SmsSendDetailDTOs.SmsSendDetailDTO;
      const status = finals.get(ids[i]!)!.status;
      expect(dto!.SendStatus).toBe(status === 'delivered' ? 3 : 2);
      expect(dto!.Content).toBe((await hongyanMessage(h, ids[i]!)).content);
    }
    const stats = (await client.request(
      'QuerySendStatistics',
      { IsGlobe: 1, StartDate: today(), EndDate: today(), PageIndex: 1, PageSize: 10 },
      { method: 'POST' },
    )) as {
      Code: string;
      Data: { TargetList: { TotalCount: number; RespondedSuccessCount: number; SendDate: string }[] };
    };
    const { rows } = await h.db.pool.query<{ n: string; d: string }>(
      `select count(*) as n, count(*) filter (where status = 'delivered') as d from messages where tenant_id = $1`,
      [h.tenantId],
    );
    expect(stats.Code).toBe('OK');
    expect(stats.Data.TargetList).toHaveLength(1);
    expect(stats.Data.TargetList[0]).toMatchObject({
      SendDate: today(),
      TotalCount: Number(rows[0]!.n),
      RespondedSuccessCount: Number(rows[0]!.d),
    });
  }, 120_000);

  it('a wrong secret is refused with SignatureDoesNotMatch; a replayed SignatureNonce with SignatureNonceUsed', async () => {
    await expect(
      rpcClient(h.httpUrl, 'wrong-secret').request('QuerySmsSign', { SignName: '鸿雁' }, { method: 'POST' }),
    ).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });

    const client = rpcClient(recorder.url);
    const ok = (await client.request('QuerySmsSign', { SignName: '鸿雁' }, { method: 'POST' })) as {
      Code: string;
    };
    expect(ok.Code).toBe('OK');
    const original = recorder.recorded.at(-1)!;
    expect(original.body.toString()).toMatch(/SignatureNonce=/);
    const again = await recorder.replay(original);
    expect(again.status).toBe(400);
    expect(JSON.parse(again.body)).toMatchObject({ Code: 'SignatureNonceUsed' });
  });

  it('a SignatureNonce outside the clock window is refused with InvalidTimeStamp.Expired', async () => {
    // Built by hand as pop-core builds it (the SDKs always sign the current time).
    const params: Record<string, string> = {
      AccessKeyId: h.appKey,
      Action: 'QuerySmsSign',
      Format: 'JSON',
      SignName: '鸿雁',
      SignatureMethod: 'HMAC-SHA1',
      SignatureNonce: 'old-nonce-1',
      SignatureVersion: '1.0',
      Timestamp: new Date(Date.now() - 20 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      Version: '2017-05-25',
    };
    const enc = (t: string) =>
      encodeURIComponent(t).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const canonical = Object.keys(params)
      .sort()
      .map((k) => `${enc(k)}=${enc(params[k]!)}`)
      .join('&');
    const signature = createHmac('sha1', `${h.appSecret}&`)
      .update(`GET&%2F&${enc(canonical)}`)
      .digest('base64');
    const res = await fetch(`${h.httpUrl}/compat/aliyun/?${canonical}&Signature=${enc(signature)}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ Code: 'InvalidTimeStamp.Expired' });
  });
});

describe('Aliyun SMS: credentials and quota', () => {
  it('refuses a revoked AccessKeyId, a scope the credential lacks, and a tenant without credit (isv.AMOUNT_NOT_ENOUGH)', async () => {
    const broke = await addTenant(h, { name: 'broke', credit: false, scopes: ['send', 'read', 'templates'] });
    const before = await h.db.pool.query('select count(*)::int as n from messages where tenant_id = $1', [
      broke.tenantId,
    ]);
    const noCredit = await acs3Client(h.hostPort, broke.appSecret, broke.appKey).sendSms(
      new $Dysmsapi.SendSmsRequest({
        phoneNumbers: '13800138041',
        signName: '鸿雁',
        templateCode: `SMS_${broke.templateId}`,
        templateParam: '{"code":"1234"}',
      }),
    );
    expect(noCredit.body?.code).toBe('isv.AMOUNT_NOT_ENOUGH');
    const after = await h.db.pool.query('select count(*)::int as n from messages where tenant_id = $1', [
      broke.tenantId,
    ]);
    expect(after.rows[0].n).toBe(before.rows[0].n);

    const readOnly = await addTenant(h, { name: 'reader', credit: true, scopes: ['read'] });
    await expect(
      acs3Client(h.hostPort, readOnly.appSecret, readOnly.appKey).sendSms(
        new $Dysmsapi.SendSmsRequest({
          phoneNumbers: '13800138042',
          signName: '鸿雁',
          templateCode: `SMS_${readOnly.templateId}`,
          templateParam: '{"code":"1234"}',
        }),
      ),
    ).rejects.toMatchObject({ code: 'Forbidden.RAM', statusCode: 403 });

    await h.db.pool.query('update api_credentials set revoked_at = now() where id = $1', [
      readOnly.credentialId,
    ]);
    await expect(
      rpcClient(h.httpUrl, readOnly.appSecret, readOnly.appKey).request(
        'QuerySmsSign',
        { SignName: '鸿雁' },
        { method: 'POST' },
      ),
    ).rejects.toMatchObject({ code: 'InvalidAccessKeyId.Inactive' });
  });
});

describe('QuerySendDetails and a code the Verify API sent', () => {
  it('shows the code as asterisks through both SDKs, while the stored row keeps it', async () => {
    const number = '13800138051';
    const res = await fetch(`${h.httpUrl}/v1/verifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: number, purpose: 'login' }),
    });
    const body = (await res.json()) as { message_id: string };
    expect(res.status, JSON.stringify(body)).toBe(201);
    const { rows } = await h.db.pool.query<{ content: string }>(
      'select content from messages where id = $1',
      [body.message_id],
    );
    const stored = rows[0]!.content;
    const code = /(\d{6})/.exec(stored)![1]!;
    const masked = stored.replace(code, '******');
    expect(masked).not.toContain(code);
    await waitUntilFinal(h, [body.message_id]);

    const acs3 = await acs3Client(h.hostPort).querySendDetails(
      new $Dysmsapi.QuerySendDetailsRequest({
        phoneNumber: number,
        sendDate: today(),
        pageSize: 10,
        currentPage: 1,
      }),
    );
    expect(acs3.body).toMatchObject({ code: 'OK', totalCount: '1' });
    const [dto] = acs3.body!.smsSendDetailDTOs!.smsSendDetailDTO!;
    expect([dto!.phoneNum, dto!.content]).toEqual([number, masked]);

    const rpc = (await rpcClient(h.httpUrl).request(
      'QuerySendDetails',
      { PhoneNumber: number, SendDate: today(), PageSize: 10, CurrentPage: 1 },
      { method: 'POST' },
    )) as { Code: string; SmsSendDetailDTOs: { SmsSendDetailDTO: { PhoneNum: string; Content: string }[] } };
    expect(rpc.Code).toBe('OK');
    expect(rpc.SmsSendDetailDTOs.SmsSendDetailDTO.map((d) => [d.PhoneNum, d.Content])).toEqual([
      [number, masked],
    ]);

    // Masked on output only: the row (what the carrier got) still holds the code.
    const after = await h.db.pool.query<{ content: string }>('select content from messages where id = $1', [
      body.message_id,
    ]);
    expect(after.rows[0]!.content).toBe(stored);
  }, 120_000);
});
