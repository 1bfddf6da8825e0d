// OTP verification: send a code Hongyan generates (through the same intake and admission as
// /v1/messages: content rules, caps, quota), and check it. Each runs in one transaction, so a
// refused message leaves no verification behind, and a verification never exists without its
// message.
import type { CountryCode } from 'libphonenumber-js';
import type pg from 'pg';
import { withTransaction } from '../../db/pool.ts';
import { openSealed, seal, type KeyRingSource } from '../../shared/secrets.ts';
import { invalidCursor, invalidRecipient } from '../messages/messages.errors.ts';
import { decodeCursor, encodeCursor } from '../messages/messages.models.ts';
import { type Admission, admitOne } from '../messages/admission.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import { sendMessage } from '../messages/messages.usecases.ts';
import {
  compileSendContent,
  type ContentRules,
  type SendPolicy,
} from '../compliance/templates/send-content.models.ts';
import { loadSendPolicy, parseTemplateId } from '../compliance/templates/send-content.ts';
import { templateNotUsable } from '../compliance/templates/templates.errors.ts';
import {
  templateUnsuitable,
  verificationCooldown,
  verificationNotFound,
  verificationVelocity,
} from './verifications.errors.ts';
import {
  codeMatches,
  decideCheck,
  decideSend,
  DEFAULT_CODE_LENGTH,
  DEFAULT_PURPOSE,
  DEFAULT_TTL_SECONDS,
  defaultText,
  effectiveStatus,
  generateCode,
  hashCode,
  type Language,
  MAX_CHECKS,
  newSalt,
  numberPrefix,
  type VerificationStatus,
} from './verifications.models.ts';
import {
  countUnverifiedSends,
  findVerification,
  insertSend,
  insertVerification,
  listVerifications as selectVerifications,
  lockNewestVerification,
  lockTenantVerifications,
  recordCheck,
  recordResend,
  type VerificationRow,
} from './verifications.sql.ts';

export interface VerificationSettings {
  maxParts: number;
  defaultRegion: string;
  windowSeconds: number;
  tenantMax: number;
  prefixMax: number;
  prefixDigits: number;
}

export interface StartInput {
  to: string;
  purpose?: string;
  code_length?: number;
  ttl_seconds?: number;
  language?: Language;
  template_id?: string | number;
  sign_name?: string;
  params?: Record<string, string | number>;
}

export function verificationView(row: VerificationRow, now: Date, mask: (to: string) => string = (t) => t) {
  return {
    id: String(row.id),
    to: mask(row.recipient),
    purpose: row.purpose,
    status: effectiveStatus(row, now),
    code_length: row.codeLength,
    language: row.language,
    template_id: row.templateId === null ? null : String(row.templateId),
    attempts: row.attempts,
    attempts_remaining: Math.max(0, MAX_CHECKS - row.attempts),
    sends: row.sends,
    message_id: row.lastMessageId === null ? null : String(row.lastMessageId),
    expires_at: row.expiresAt.toISOString(),
    approved_at: row.approvedAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
  };
}

function normalizedRecipient(to: string, defaultRegion: string): string {
  const phone = normalizePhone(to, defaultRegion as CountryCode);
  if (!phone.ok) throw invalidRecipient({ message: phone.reason, details: { reason: phone.code } });
  return phone.e164;
}

/** The code variable of the tenant's approved verification template (read before the transaction). */
function codeVariableOf(policy: SendPolicy, templateId: number | null): string | null {
  if (templateId === null) return null;
  const template = policy.template;
  if (template === null || template.status !== 'approved') {
    throw templateNotUsable({ details: { status: template?.status ?? 'not_found' } });
  }
  const variable = template.variables.find((v) => v.kind === 'code');
  if (template.type !== 'verification' || variable === undefined) throw templateUnsuitable();
  return variable.name;
}

export async function startVerification({
  pool,
  admission,
  keyRing,
  rules,
  tenantId,
  input,
  settings,
  now,
}: {
  pool: pg.Pool;
  admission: Admission;
  keyRing: KeyRingSource;
  rules?: ContentRules;
  tenantId: number;
  input: StartInput;
  settings: VerificationSettings;
  now: Date;
}) {
  const recipient = normalizedRecipient(input.to, settings.defaultRegion);
  const purpose = input.purpose ?? DEFAULT_PURPOSE;
  const language: Language = input.language ?? 'zh-CN';
  const ttlSeconds = input.ttl_seconds ?? DEFAULT_TTL_SECONDS;
  const templateId = parseTemplateId(input.template_id);
  if (templateId === -1) throw templateNotUsable({ details: { status: 'not_found' } });
  // Read before the transaction: a second pool connection taken while holding one can exhaust the pool.
  const policy = await loadSendPolicy(pool, { tenantId, templateId });
  const codeVariable = codeVariableOf(policy, templateId);
  const prefix = numberPrefix(recipient, settings.prefixDigits);

  return withTransaction(pool, async (client) => {
    await lockTenantVerifications(client, tenantId);
    const live = await lockNewestVerification(client, { tenantId, recipient, purpose });
    const decision = decideSend(live, now);
    if (decision.kind === 'cooldown') {
      throw verificationCooldown({ details: { retry_after: decision.retryAfterSeconds } });
    }
    await refuseAboveVelocity(client, { tenantId, prefix, now, settings });
    const resend = decision.kind === 'resend' && live !== null && live.codeSealed !== null;
    if (!resend && live !== null && live.status === 'pending') {
      // Its TTL ran out (or its sealed copy is gone): it makes room for the new live code.
      await recordCheck(client, { id: live.id, attempts: live.attempts, status: 'expired', now });
    }
    const code = resend
      ? openSealed(keyRing, live.codeSealed!)
      : generateCode(input.code_length ?? DEFAULT_CODE_LENGTH);
    const ttlLeft = resend ? (live.expiresAt.getTime() - now.getTime()) / 1000 : ttlSeconds;
    const message = await sendCode(client, {
      admission,
      rules,
      policy,
      tenantId,
      input,
      code,
      codeVariable,
      language,
      ttlSeconds: resend ? Math.max(60, ttlLeft) : ttlSeconds,
      settings,
      now,
    });
    const messageId = Number(message.id);
    const row = resend
      ? await recordResend(client, { id: live.id, messageId, now })
      : await insertNew(client, keyRing, {
          tenantId,
          recipient,
          purpose,
          code,
          language,
          templateId,
          messageId,
          expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
          now,
        });
    await insertSend(client, { verificationId: row.id, tenantId, prefix, messageId, now });
    return { ...verificationView(row, now), resent: resend, message_status: message.status };
  });
}

async function insertNew(
  client: pg.PoolClient,
  keyRing: KeyRingSource,
  v: {
    tenantId: number;
    recipient: string;
    purpose: string;
    code: string;
    language: string;
    templateId: number | null;
    messageId: number;
    expiresAt: Date;
    now: Date;
  },
) {
  const salt = newSalt();
  return insertVerification(client, {
    ...v,
    codeSalt: salt,
    codeHash: hashCode(v.code, salt),
    codeSealed: seal(keyRing(), v.code),
    codeLength: v.code.length,
  });
}

/** Pumping protection: sends never followed by an approved check, per tenant and per number prefix. */
async function refuseAboveVelocity(
  client: pg.PoolClient,
  {
    tenantId,
    prefix,
    now,
    settings,
  }: { tenantId: number; prefix: string; now: Date; settings: VerificationSettings },
) {
  const since = new Date(now.getTime() - settings.windowSeconds * 1000);
  const counts = await countUnverifiedSends(client, { tenantId, prefix, since });
  const overTenant = counts.tenant >= settings.tenantMax;
  const overPrefix = counts.prefix >= settings.prefixMax;
  if (!overTenant && !overPrefix) return;
  const oldest = (overTenant ? counts.oldestTenant : counts.oldestPrefix) ?? now;
  const retryAfter = Math.max(
    1,
    Math.ceil((oldest.getTime() + settings.windowSeconds * 1000 - now.getTime()) / 1000),
  );
  throw verificationVelocity({
    details: {
      scope: overTenant ? 'tenant' : 'prefix',
      ...(overTenant ? {} : { prefix }),
      limit: overTenant ? settings.tenantMax : settings.prefixMax,
      window_seconds: settings.windowSeconds,
      retry_after: retryAfter,
    },
  });
}

/** The message, composed (template or default text, signature, content rules) and admitted in this transaction. */
async function sendCode(
  client: pg.PoolClient,
  a: {
    admission: Admission;
    rules: ContentRules | undefined;
    policy: SendPolicy;
    tenantId: number;
    input: StartInput;
    code: string;
    codeVariable: string | null;
    language: Language;
    ttlSeconds: number;
    settings: VerificationSettings;
    now: Date;
  },
) {
  const content = a.codeVariable === null ? defaultText(a.language, a.code, a.ttlSeconds) : undefined;
  const request = {
    ...(content === undefined ? { template_id: a.input.template_id } : { content }),
    ...(a.input.sign_name === undefined ? {} : { sign_name: a.input.sign_name }),
    type: 'verification' as const,
  };
  // The default text is the platform's own wording, usable without the tenant's free-text
  // permission; the signature and the content rules apply to it as to any message.
  const policy = content === undefined ? a.policy : { ...a.policy, freeText: true };
  const composer = compileSendContent({ request, policy, rules: a.rules });
  const params = a.codeVariable === null ? undefined : { ...a.input.params, [a.codeVariable]: a.code };
  return sendMessage({
    tenantId: a.tenantId,
    input: {
      to: a.input.to,
      type: 'verification',
      ...(content === undefined ? {} : { content }),
      ...(params ? { params } : {}),
    },
    settings: { maxParts: a.settings.maxParts, defaultRegion: a.settings.defaultRegion },
    composer,
    insert: async (rows) => [
      await admitOne(client, a.admission, rows[0]!, { now: a.now, allOrNothing: false }),
    ],
    now: a.now,
  });
}

export async function checkVerification({
  pool,
  tenantId,
  input,
  defaultRegion,
  now,
}: {
  pool: pg.Pool;
  tenantId: number;
  input: { to: string; code: string; purpose?: string };
  defaultRegion: string;
  now: Date;
}) {
  const recipient = normalizedRecipient(input.to, defaultRegion);
  const purpose = input.purpose ?? DEFAULT_PURPOSE;
  return withTransaction(pool, async (client) => {
    // The row lock makes concurrent checks of one code take turns: only the first can approve it.
    const row = await lockNewestVerification(client, { tenantId, recipient, purpose });
    const matched = row !== null && codeMatches(input.code, row.codeSalt, row.codeHash);
    const decision = decideCheck(row, matched, now);
    if (decision.kind === 'not_found' || row === null) throw verificationNotFound();
    const status = decision.newStatus ?? row.status;
    if (decision.newStatus !== null || decision.attempts !== row.attempts) {
      await recordCheck(client, { id: row.id, attempts: decision.attempts, status, now });
    }
    return {
      id: String(row.id),
      to: recipient,
      purpose,
      status: decision.answer,
      attempts_remaining: Math.max(0, MAX_CHECKS - decision.attempts),
    };
  });
}

export async function getVerification({
  pool,
  tenantId,
  id,
  now,
  mask,
}: {
  pool: pg.Pool;
  tenantId: number;
  id: number;
  now: Date;
  mask?: (to: string) => string;
}) {
  const row = await findVerification(pool, tenantId, id);
  if (row === null) throw verificationNotFound();
  return verificationView(row, now, mask);
}

export interface ListQuery {
  phone?: string;
  purpose?: string;
  status?: VerificationStatus;
  created_after?: string;
  created_before?: string;
  cursor?: string;
  limit?: number;
}

/**
 * A tenant's verifications, newest first, paged and filtered as GET /v1/messages is (the same
 * cursor, phone normalization and errors). Never a code: the view has its length only.
 */
export async function listVerifications({
  pool,
  tenantId,
  query,
  defaultRegion,
  now,
  mask,
}: {
  pool: pg.Pool;
  tenantId: number;
  query: ListQuery;
  defaultRegion: string;
  now: Date;
  mask?: (to: string) => string;
}) {
  let beforeId: number | undefined;
  if (query.cursor !== undefined) {
    const decoded = decodeCursor(query.cursor);
    if (decoded === null) throw invalidCursor();
    beforeId = decoded;
  }
  const limit = query.limit ?? 50;
  const rows = await selectVerifications(pool, {
    tenantId,
    recipient: query.phone === undefined ? undefined : normalizedRecipient(query.phone, defaultRegion),
    purpose: query.purpose,
    status: query.status,
    createdAfter: query.created_after === undefined ? undefined : new Date(query.created_after),
    createdBefore: query.created_before === undefined ? undefined : new Date(query.created_before),
    beforeId,
    now,
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    data: page.map((row) => verificationView(row, now, mask)),
    next_cursor: rows.length > limit && last ? encodeCursor(last.id) : null,
  };
}
