// A member's phone, and the password reset code sent to it as an SMS through Hongyan itself.
// The SMS is an ordinary verification message of the member's own tenant, accepted through the
// same intake as any API send: it is queued, dispatched, receipted and counted like the rest, so
// the platform's own codes need no second delivery path.
import { randomInt } from 'node:crypto';
import { invalidCode } from './accounts.errors.ts';
import { actorOf, audit, type Queryable } from './audit.ts';
import { storeResetCode } from './reset-codes.ts';
import { hashToken } from './sessions.models.ts';
import { findSubjectByLogin } from './sessions.repository.ts';

const PHONE_CODE_MS = 10 * 60_000;
/** Wrong confirmation codes before the pending code is void: 5 guesses of 10^6 is 1 in 200,000. */
const PHONE_CODE_ATTEMPTS = 5;
/** One reset SMS per member per minute at most: repeated requests cannot flood a handset. */
export const RESET_SMS_INTERVAL_MS = 60_000;

/** Sends one verification SMS to `to` for the tenant; returns the message id. */
export type SendSms = (message: { tenantId: number; to: string; content: string }) => Promise<{ id: string }>;

export async function sendPhoneCode({
  db,
  memberId,
  tenantId,
  phone,
  ip,
  now,
  send,
}: {
  db: Queryable;
  memberId: number;
  tenantId: number;
  /** E.164, already normalised. */
  phone: string;
  ip: string;
  now: Date;
  send: SendSms;
}) {
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const expiresAt = new Date(now.getTime() + PHONE_CODE_MS);
  await db.query(
    `update members set pending_phone = $2, phone_code_hash = $3, phone_code_expires_at = $4,
            phone_code_attempts = 0 where id = $1`,
    [memberId, phone, hashToken(code), expiresAt],
  );
  const message = await send({
    tenantId,
    to: phone,
    content: `Your Hongyan phone verification code is ${code}. It expires in 10 minutes.`,
  });
  await audit(
    db,
    {
      actor: actorOf({ kind: 'member', id: memberId }),
      tenantId,
      action: 'auth.phone_code_sent',
      target: `member:${memberId}`,
      after: { message_id: message.id },
      ip,
    },
    now,
  );
  return { expires_at: expiresAt };
}

/** Confirms the pending phone with its code; after too many wrong codes the pending code is void. */
export async function confirmPhone({
  db,
  memberId,
  tenantId,
  code,
  ip,
  now,
}: {
  db: Queryable;
  memberId: number;
  tenantId: number;
  code: string;
  ip: string;
  now: Date;
}) {
  // Matching and spending is one UPDATE, so two confirmations of one code cannot both count.
  const { rows } = await db.query<{ phone: string }>(
    `update members set phone = pending_phone, phone_verified_at = $3, pending_phone = null,
            phone_code_hash = null, phone_code_expires_at = null, phone_code_attempts = 0
      where id = $1 and phone_code_hash = $2 and phone_code_expires_at > $3 and phone_code_attempts < $4
      returning phone`,
    [memberId, hashToken(code), now, PHONE_CODE_ATTEMPTS],
  );
  const phone = rows[0]?.phone;
  if (!phone) {
    await db.query('update members set phone_code_attempts = phone_code_attempts + 1 where id = $1', [
      memberId,
    ]);
    throw invalidCode({ message: 'The phone code is wrong, expired or already used; request a new one.' });
  }
  await audit(
    db,
    {
      actor: actorOf({ kind: 'member', id: memberId }),
      tenantId,
      action: 'auth.phone_verified',
      target: `member:${memberId}`,
      ip,
    },
    now,
  );
  return { phone, verified_at: now };
}

/**
 * Sends a reset code to the member's verified phone. Says nothing of the outcome: no account, a
 * staff login, no verified phone and a too-recent earlier code all look like success to the
 * caller, so the answer cannot tell who has an account.
 */
export async function requestResetBySms({
  db,
  login,
  ip,
  now,
  send,
}: {
  db: Queryable;
  login: string;
  ip: string;
  now: Date;
  send: SendSms;
}): Promise<void> {
  const subject = login.includes('@') ? await findSubjectByLogin(db, login.trim()) : null;
  await audit(
    db,
    {
      actor: 'anonymous',
      tenantId: subject?.tenantId ?? null,
      action: 'auth.reset_requested',
      target: subject ? `member:${subject.id}` : null,
      ip,
    },
    now,
  );
  if (!subject || subject.kind !== 'member' || subject.tenantId === null) return;
  // Claims the right to send (verified phone, none sent within the interval) in one statement.
  const { rows } = await db.query<{ phone: string }>(
    `update members set reset_code_sent_at = $2
      where id = $1 and phone is not null and phone_verified_at is not null
        and (reset_code_sent_at is null or reset_code_sent_at <= $3)
      returning phone`,
    [subject.id, now, new Date(now.getTime() - RESET_SMS_INTERVAL_MS)],
  );
  const phone = rows[0]?.phone;
  if (!phone) return;
  const { code } = await storeResetCode(db, subject.id, now);
  const message = await send({
    tenantId: subject.tenantId,
    to: phone,
    content: `Your Hongyan password reset code is ${code}. It is valid for 24 hours. Ignore this if you did not ask for it.`,
  });
  await audit(
    db,
    {
      actor: 'system',
      tenantId: subject.tenantId,
      action: 'member.reset_code_sent',
      target: `member:${subject.id}`,
      after: { message_id: message.id },
      ip,
    },
    now,
  );
}

/** Reset requests from one address within the window: the public route's rate limit reads this. */
export async function countResetRequests(db: Queryable, ip: string, since: Date): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "select count(*)::int as n from audit_log where action = 'auth.reset_requested' and ip = $1 and at > $2",
    [ip, since],
  );
  return rows[0]?.n ?? 0;
}
