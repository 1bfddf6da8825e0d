// StatusCallback in Twilio's own format. A message created through the Twilio-compatible API with
// a StatusCallback has it as its callback_url (the webhooks outbox delivers it, with retries);
// compat_twilio_callbacks (migration 0024) marks it, and the webhook sender asks this formatter for
// the body: Twilio's form fields (MessageSid, MessageStatus, …) signed with X-Twilio-Signature,
// HMAC-SHA1 of the URL followed by each parameter's name and value sorted by name, keyed with
// the auth token of the credential that created the message (what twilio.validateRequest checks).
// Twilio posts each status on its own; when several changes of a message go out in one delivery
// group, the latest is posted.
import { createHmac } from 'node:crypto';
import type pg from 'pg';
import { type KeyRingSource, openSealed } from '../../../shared/secrets.ts';
import { twilioMessageSid, twilioStatus } from '../compat.models.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export async function rememberTwilioCallback(
  db: Queryable,
  { messageId, credentialId }: { messageId: number; credentialId: number },
): Promise<void> {
  await db.query(
    'insert into compat_twilio_callbacks (message_id, credential_id) values ($1, $2) on conflict do nothing',
    [messageId, credentialId],
  );
}

/** Twilio's X-Twilio-Signature of a form POST to `url`. */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

interface StatusEvent {
  data?: { message_id?: string; status?: string; to?: string; error?: { code?: string } | null };
}

export function createTwilioCallbackFormatter({ db, keyRing }: { db: Queryable; keyRing: KeyRingSource }) {
  return async (
    group: readonly { message_id: number | null; url: string; payload: unknown }[],
  ): Promise<{ body: string; headers: Record<string, string> } | null> => {
    const last = group.at(-1);
    if (!last || last.message_id === null) return null;
    const { rows } = await db.query<{ secret_sealed: string; twilio_account_sid: string }>(
      `select c.secret_sealed, c.twilio_account_sid
         from compat_twilio_callbacks t join api_credentials c on c.id = t.credential_id
        where t.message_id = $1`,
      [last.message_id],
    );
    const credential = rows[0];
    const data = (last.payload as StatusEvent).data;
    if (!credential || !data?.status) return null;
    const sid = twilioMessageSid(last.message_id);
    const status = twilioStatus(data.status);
    const params: Record<string, string> = {
      AccountSid: credential.twilio_account_sid,
      ApiVersion: '2010-04-01',
      MessageSid: sid,
      MessageStatus: status,
      SmsSid: sid,
      SmsStatus: status,
      To: data.to ?? '',
    };
    if (status === 'undelivered' || status === 'failed') params.ErrorCode = '30008';
    return {
      body: new URLSearchParams(params).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(
          openSealed(keyRing, credential.secret_sealed),
          last.url,
          params,
        ),
      },
    };
  };
}

export type CallbackFormatter = ReturnType<typeof createTwilioCallbackFormatter>;
