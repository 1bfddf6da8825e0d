// A Hongyan message as Twilio's Message resource (api 2010-04-01).
import type { CompatMessageRow } from '../compat.repository.ts';
import { twilioMessageSid, twilioStatus } from '../compat.models.ts';

/** RFC 2822 as Twilio writes it: `Mon, 30 Nov 2026 10:45:09 +0000`. */
export function rfc2822(d: Date | null): string | null {
  return d === null ? null : d.toUTCString().replace('GMT', '+0000');
}

export function twilioMessageView(m: CompatMessageRow, accountSid: string, from: string | null | undefined) {
  const sid = twilioMessageSid(m.id);
  const failed = ['undelivered', 'failed'].includes(twilioStatus(m.status));
  return {
    sid,
    account_sid: accountSid,
    api_version: '2010-04-01',
    body: m.content,
    date_created: rfc2822(m.created_at),
    date_updated: rfc2822(m.updated_at),
    date_sent: rfc2822(m.sent_at),
    direction: 'outbound-api',
    error_code: failed ? 30008 : null,
    error_message: failed ? (m.error_detail ?? m.error_code ?? m.status) : null,
    from: from ?? null,
    messaging_service_sid: null,
    num_media: '0',
    num_segments: String(m.parts),
    price: null,
    price_unit: 'CNY',
    status: twilioStatus(m.status),
    subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
    to: m.recipient,
    uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
  };
}
