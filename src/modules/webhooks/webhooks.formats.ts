// The cloud vendors' status report pushes, for endpoints registered with `format: aliyun` or
// `tencent` (docs/webhooks.md), so that a receiver written for that vendor reads Hongyan's reports
// unchanged. Both are a JSON array of reports, one per message that reached a final state:
// - Aliyun SmsReport (HTTP batch push): phone_number, send_time, report_time, success, err_code,
//   err_msg, sms_size, biz_id, out_id; times as "yyyy-MM-dd HH:mm:ss" in China Standard Time.
// - Tencent Cloud SMS status callback: user_receive_time, nationcode, mobile, report_status,
//   errmsg, description, sid (the seven fields its documentation lists).
// The values are the ones Hongyan's Aliyun- and Tencent-compatible APIs answer for the same message
// (BizId, SerialNo, ErrCode, ReportStatus, Description), so a push and a query agree.
// `sent` is not a report in either format (the vendors push the handset's outcome only); the
// sender skips it (webhooks.worker.ts).
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type pg from 'pg';
import { cstDateTime } from '../compat/compat.time.ts';
import { isFinalStatus } from '../messages/messages.models.ts';
import type { WebhookFormat } from './webhooks.models.ts';

type Queryable = Pick<pg.Pool, 'query'>;

/** The message.status event as the outbox holds it (migration 0033's payload). */
export interface StatusEvent {
  type: string;
  data: {
    message_id: string;
    status: string;
    to: string;
    client_ref: string | null;
    batch_id: string | null;
    parts: number;
    error: { code: string; detail: string | null } | null;
    at: string;
  };
}

/** Whether an event becomes a vendor report: a message.status event of a final state. */
export function isFinalStatusEvent(payload: unknown): payload is StatusEvent {
  const p = payload as Partial<StatusEvent> | null;
  return p?.type === 'message.status' && typeof p.data?.status === 'string' && isFinalStatus(p.data.status);
}

/**
 * One report's inputs: the event; when the message went to the carrier (or was accepted, when it
 * never went); when it became final (the message's done_at, as its API and the vendors' query
 * APIs show it, else the event's time).
 */
export interface ReportSource {
  event: StatusEvent['data'];
  sentAt: Date;
  doneAt: Date;
}

function phoneOf(to: string) {
  const phone = parsePhoneNumberFromString(to);
  return phone ? { country: phone.countryCallingCode, national: phone.nationalNumber } : null;
}

export function aliyunReport({ event: e, sentAt, doneAt }: ReportSource) {
  const delivered = e.status === 'delivered';
  const phone = phoneOf(e.to);
  return {
    // Aliyun writes mainland numbers without the country code, others with it (no "+").
    phone_number:
      phone === null ? e.to : phone.country === '86' ? phone.national : phone.country + phone.national,
    send_time: cstDateTime(sentAt),
    report_time: cstDateTime(doneAt),
    success: delivered,
    err_code: delivered ? 'DELIVERED' : (e.error?.code ?? e.status),
    err_msg: delivered ? '用户接收成功' : (e.error?.detail ?? e.error?.code ?? e.status),
    sms_size: String(e.parts),
    // The BizId Hongyan's SendSms/SendBatchSms answered (a batch's, shared by its numbers as in
    // Aliyun); a message sent on its own has its id.
    biz_id: e.batch_id === null ? e.message_id : `${e.batch_id}^0`,
    out_id: e.client_ref ?? '',
  };
}

export function tencentReport({ event: e, doneAt }: ReportSource) {
  const delivered = e.status === 'delivered';
  const phone = phoneOf(e.to);
  return {
    user_receive_time: cstDateTime(doneAt),
    nationcode: phone?.country ?? '',
    mobile: phone?.national ?? e.to,
    report_status: delivered ? 'SUCCESS' : 'FAIL',
    errmsg: delivered ? 'DELIVRD' : (e.error?.code ?? e.status),
    description: delivered ? '用户短信送达成功' : (e.error?.detail ?? e.error?.code ?? e.status),
    // The SerialNo Hongyan's SendSms answered: the message id.
    sid: e.message_id,
  };
}

/**
 * The body of one POST to a vendor-format endpoint: its final status events as that vendor's
 * report array. The times are read from the messages (one statement per POST); a message no
 * longer stored (retention) reports the event's time for both.
 */
export async function vendorReportBody(
  db: Queryable,
  format: Exclude<WebhookFormat, 'hongyan'>,
  events: readonly StatusEvent[],
): Promise<string> {
  const ids = events.map((e) => Number(e.data.message_id));
  const { rows } = await db.query<{ id: number; sent_at: Date; done_at: Date | null }>(
    'select id, coalesce(sent_at, created_at) as sent_at, done_at from messages where id = any ($1::bigint[])',
    [ids],
  );
  const times = new Map(rows.map((r) => [String(r.id), r]));
  const sources = events.map((e): ReportSource => {
    const m = times.get(e.data.message_id);
    const at = new Date(e.data.at);
    return { event: e.data, sentAt: m?.sent_at ?? at, doneAt: m?.done_at ?? at };
  });
  const report: (s: ReportSource) => object = format === 'aliyun' ? aliyunReport : tencentReport;
  return JSON.stringify(sources.map(report));
}
