import { describe, expect, it } from 'vitest';
import { aliyunReport, isFinalStatusEvent, type StatusEvent, tencentReport } from './webhooks.formats.ts';

const event = (data: Partial<StatusEvent['data']>): StatusEvent['data'] => ({
  message_id: '42',
  status: 'undelivered',
  to: '+85291234567',
  client_ref: null,
  batch_id: null,
  parts: 2,
  error: { code: 'carrier.UNDELIV.001', detail: 'unknown subscriber' },
  at: '2026-11-30T10:45:11.000Z',
  ...data,
});
const times = { sentAt: new Date('2026-11-30T10:45:09Z'), doneAt: new Date('2026-11-30T10:45:11Z') };

describe('vendor reports', () => {
  it('reports final statuses only', () => {
    const of = (status: string, type = 'message.status') => ({ type, data: event({ status }) });
    expect(isFinalStatusEvent(of('delivered'))).toBe(true);
    expect(isFinalStatusEvent(of('canceled'))).toBe(true);
    expect(isFinalStatusEvent(of('sent'))).toBe(false);
    expect(isFinalStatusEvent(of('delivered', 'message.reply'))).toBe(false);
    expect(isFinalStatusEvent(null)).toBe(false);
  });

  it("writes a failure outside the mainland in Aliyun's shape: country code kept, CST times", () => {
    expect(aliyunReport({ event: event({}), ...times })).toEqual({
      phone_number: '85291234567',
      send_time: '2026-11-30 18:45:09',
      report_time: '2026-11-30 18:45:11',
      success: false,
      err_code: 'carrier.UNDELIV.001',
      err_msg: 'unknown subscriber',
      sms_size: '2',
      biz_id: '42',
      out_id: '',
    });
    expect(
      aliyunReport({
        event: event({ status: 'expired', error: null, batch_id: '7', client_ref: 'r' }),
        ...times,
      }),
    ).toMatchObject({ err_code: 'expired', err_msg: 'expired', biz_id: '7^0', out_id: 'r' });
  });

  it("writes Tencent's shape with the number split into nationcode and mobile", () => {
    expect(
      tencentReport({ event: event({ status: 'delivered', error: null, to: '+8613800138000' }), ...times }),
    ).toEqual({
      user_receive_time: '2026-11-30 18:45:11',
      nationcode: '86',
      mobile: '13800138000',
      report_status: 'SUCCESS',
      errmsg: 'DELIVRD',
      description: '用户短信送达成功',
      sid: '42',
    });
    expect(tencentReport({ event: event({}), ...times })).toMatchObject({
      nationcode: '852',
      mobile: '91234567',
      report_status: 'FAIL',
      errmsg: 'carrier.UNDELIV.001',
      description: 'unknown subscriber',
    });
  });
});
