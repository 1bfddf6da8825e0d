import type { CountryCode } from 'libphonenumber-js';
import {
  batchEmpty,
  batchNotCancelable,
  batchNotFound,
  batchTooLarge,
  contentEmpty,
  contentTooLong,
  invalidCursor,
  invalidRecipient,
  invalidSendAt,
  messageNotFound,
  notCancelable,
} from './messages.errors.ts';
import {
  checkContent,
  decodeCursor,
  encodeCursor,
  type MessageType,
  priorityOf,
  renderTemplate,
  scheduleOf,
} from './messages.models.ts';
import type {
  InsertedMessage,
  MessagesRepository,
  NewBatchRow,
  NewMessageRow,
} from './messages.repository.ts';
import type { Admitted } from './admission.ts';
import { toMessageView } from './messages.views.ts';
import { normalizePhone } from './phone.models.ts';
import { invalidText } from '../../http/http.errors.ts';
import { composeWith, refusalError, type SendComposer } from '../compliance/templates/send-content.models.ts';
import { unstorableTextReason } from '../../http/text.models.ts';
import { invalidUrl as invalidCallbackUrl } from '../webhooks/webhooks.errors.ts';
import { urlProblem } from '../webhooks/webhooks.models.ts';

export const MAX_BATCH_RECIPIENTS = 10_000;

export interface IntakeSettings {
  maxParts: number;
  defaultRegion: string;
}

function contentError(check: { code: string; reason: string }) {
  return check.code === 'messages.content_empty'
    ? contentEmpty({ message: check.reason })
    : contentTooLong({ message: check.reason });
}

function refuseUnstorable(fields: Record<string, string | undefined>): void {
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const reason = unstorableTextReason(value);
    if (reason !== null) throw invalidText({ details: { path: `/${field}`, reason } });
  }
}

export async function sendMessage({
  tenantId,
  input,
  settings,
  insert,
  now,
  composer,
}: {
  tenantId: number;
  input: {
    to: string;
    content?: string;
    type?: MessageType;
    client_ref?: string;
    send_at?: string;
    params?: Record<string, string | number>;
    callback_url?: string;
  };
  settings: IntakeSettings;
  insert: (rows: NewMessageRow[]) => Promise<InsertedMessage[]>;
  now: Date;
  /** Signature, template and content rules (compliance); without it the content goes as written. */
  composer?: SendComposer;
}) {
  // Before the row joins a group commit, where PostgreSQL refusing it would fail the group.
  refuseUnstorable({ content: input.content, client_ref: input.client_ref });
  const callbackProblem = input.callback_url === undefined ? null : urlProblem(input.callback_url);
  if (callbackProblem)
    throw invalidCallbackUrl({ details: { path: '/callback_url', reason: callbackProblem } });
  const phone = normalizePhone(input.to, settings.defaultRegion as CountryCode);
  if (!phone.ok) throw invalidRecipient({ message: phone.reason, details: { reason: phone.code } });
  const composed = composeWith(composer, input.content, input.params);
  if (!composed.ok) throw refusalError(composed);
  refuseUnstorable({ content: composed.text });
  // Parts are counted on the final text, signature included.
  const check = checkContent(composed.text, settings.maxParts);
  if (!check.ok) throw contentError(check);
  const schedule = scheduleOf(input.send_at, now);
  if (!schedule.ok) throw invalidSendAt();
  const type = composer?.type ?? input.type ?? 'notification';
  const [inserted] = await insert([
    {
      tenantId,
      batchId: null,
      type,
      priority: priorityOf(type),
      recipient: phone.e164,
      content: composed.text,
      encoding: check.encoding,
      parts: check.parts,
      clientRef: input.client_ref ?? null,
      sendAt: schedule.at,
      signatureId: composed.signatureId,
      templateId: composed.templateId,
      callbackUrl: input.callback_url ?? null,
    },
  ]);
  return {
    id: String(inserted!.id),
    to: phone.e164,
    type,
    status: inserted!.status,
    parts: check.parts,
    encoding: check.encoding,
    client_ref: input.client_ref ?? null,
    send_at: schedule.at?.toISOString() ?? null,
    created_at: inserted!.createdAt.toISOString(),
  };
}

export async function sendBatch({
  tenantId,
  input,
  settings,
  insertBatch,
  insert,
  recountBatch,
  now,
  composer,
}: {
  tenantId: number;
  input: {
    content?: string;
    type?: MessageType;
    send_at?: string;
    recipients: {
      to: string;
      vars?: Record<string, string | number>;
      params?: Record<string, string | number>;
      client_ref?: string;
    }[];
  };
  /** Signature, template and content rules (compliance), compiled once for the request. */
  composer?: SendComposer;
  settings: IntakeSettings;
  insertBatch: (
    row: NewBatchRow,
  ) => Promise<{ id: number; total: number; accepted: number; rejected: number; created_at: Date }>;
  /** Admission (caps, quota) may refuse single rows: the result is aligned with the rows. */
  insert: (rows: NewMessageRow[], batchId: number) => Promise<Admitted[]>;
  /** Corrects the batch row's counts when admission refused some rows. */
  recountBatch?: (batchId: number, accepted: number, rejected: number) => Promise<void>;
  now: Date;
}) {
  if (input.recipients.length === 0) throw batchEmpty();
  if (input.recipients.length > MAX_BATCH_RECIPIENTS) throw batchTooLarge();
  const source = composer?.source ?? input.content ?? '';
  if (source.trim() === '') throw contentEmpty();
  refuseUnstorable({ content: source });
  const schedule = scheduleOf(input.send_at, now);
  if (!schedule.ok) throw invalidSendAt();
  const type = composer?.type ?? input.type ?? 'notification';
  const priority = priorityOf(type);

  type Outcome =
    | { index: number; row: NewMessageRow }
    | { index: number; to: string; error: { code: string; message: string } };
  const outcomes: Outcome[] = input.recipients.map((recipient, index) => {
    const phone = normalizePhone(recipient.to, settings.defaultRegion as CountryCode);
    if (!phone.ok)
      return {
        index,
        to: recipient.to,
        error: { code: 'messages.invalid_recipient', message: phone.reason },
      };
    const params = recipient.params ?? recipient.vars;
    const rendered = composer
      ? composeWith(composer, undefined, params, true)
      : renderedVars(renderTemplate(source, params));
    if (!rendered.ok) {
      return { index, to: recipient.to, error: { code: rendered.code, message: rendered.message } };
    }
    const unstorable =
      unstorableTextReason(rendered.text) ??
      (recipient.client_ref === undefined ? null : unstorableTextReason(recipient.client_ref));
    if (unstorable !== null) {
      return { index, to: recipient.to, error: { code: invalidText.code, message: invalidText().message } };
    }
    const check = checkContent(rendered.text, settings.maxParts);
    if (!check.ok) return { index, to: recipient.to, error: { code: check.code, message: check.reason } };
    return {
      index,
      row: {
        tenantId,
        batchId: null,
        type,
        priority,
        recipient: phone.e164,
        content: rendered.text,
        encoding: check.encoding,
        parts: check.parts,
        clientRef: recipient.client_ref ?? null,
        sendAt: schedule.at,
        signatureId: rendered.signatureId,
        templateId: rendered.templateId,
      },
    };
  });
  const rows = outcomes.flatMap((o) => ('row' in o ? [o.row] : []));
  const batch = await insertBatch({
    tenantId,
    type,
    content: source,
    sendAt: schedule.at,
    total: input.recipients.length,
    accepted: rows.length,
    rejected: input.recipients.length - rows.length,
  });
  for (const row of rows) row.batchId = batch.id;
  const admitted = await insert(rows, batch.id);
  const refusedAtAdmission = admitted.filter((a) => !a.ok).length;
  const accepted = batch.accepted - refusedAtAdmission;
  const rejected = batch.rejected + refusedAtAdmission;
  if (refusedAtAdmission > 0) await recountBatch?.(batch.id, accepted, rejected);
  let k = 0;
  const results = outcomes.map((o) => {
    if ('row' in o) {
      const a = admitted[k++]!;
      if (!a.ok) {
        // A refusal's details (which cap window tripped, which list) go with it.
        const error = { code: a.error.code, message: a.error.message, details: a.error.details };
        return { index: o.index, to: o.row.recipient, accepted: false, error };
      }
      return {
        index: o.index,
        to: o.row.recipient,
        accepted: true,
        id: String(a.message.id),
        parts: o.row.parts,
        status: a.message.status,
      };
    }
    return { index: o.index, to: o.to, accepted: false, error: o.error };
  });
  return {
    id: String(batch.id),
    type,
    total: batch.total,
    accepted,
    rejected,
    send_at: schedule.at?.toISOString() ?? null,
    created_at: batch.created_at.toISOString(),
    results,
  };
}

function renderedVars(rendered: ReturnType<typeof renderTemplate>) {
  return rendered.ok
    ? { ok: true as const, text: rendered.text, signatureId: null, templateId: null }
    : {
        ok: false as const,
        code: 'messages.missing_variable',
        message: `no value for {${rendered.missing}}`,
      };
}

/** One message's view, a code the Verify API sent in it masked. */
async function viewOf(
  repository: MessagesRepository,
  tenantId: number,
  row: Parameters<typeof toMessageView>[0],
) {
  const codes = await repository.sentCodesOf(tenantId, [row]);
  return toMessageView(row, codes.get(row.id));
}

export async function getMessage({
  tenantId,
  id,
  repository,
}: {
  tenantId: number;
  id: number;
  repository: MessagesRepository;
}) {
  const row = await repository.getMessage({ tenantId, id });
  if (!row) throw messageNotFound();
  return viewOf(repository, tenantId, row);
}

export async function listMessages({
  tenantId,
  query,
  settings,
  repository,
}: {
  tenantId: number;
  query: {
    phone?: string;
    status?: string;
    batch_id?: string;
    template_id?: string;
    client_ref?: string;
    created_after?: string;
    created_before?: string;
    cursor?: string;
    limit?: number;
  };
  settings: IntakeSettings;
  repository: MessagesRepository;
}) {
  let recipient: string | undefined;
  if (query.phone !== undefined) {
    const phone = normalizePhone(query.phone, settings.defaultRegion as CountryCode);
    if (!phone.ok) throw invalidRecipient({ message: phone.reason });
    recipient = phone.e164;
  }
  let beforeId: number | undefined;
  if (query.cursor !== undefined) {
    const decoded = decodeCursor(query.cursor);
    if (decoded === null) throw invalidCursor();
    beforeId = decoded;
  }
  const limit = query.limit ?? 50;
  const rows = await repository.listMessages({
    tenantId,
    recipient,
    status: query.status,
    batchId: query.batch_id === undefined ? undefined : Number(query.batch_id),
    templateId: query.template_id === undefined ? undefined : Number(query.template_id),
    clientRef: query.client_ref,
    createdAfter: query.created_after === undefined ? undefined : new Date(query.created_after),
    createdBefore: query.created_before === undefined ? undefined : new Date(query.created_before),
    beforeId,
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const codes = await repository.sentCodesOf(tenantId, page);
  return {
    data: page.map((row) => toMessageView(row, codes.get(row.id))),
    next_cursor: rows.length > limit && last ? encodeCursor(last.id) : null,
  };
}

export async function getBatch({
  tenantId,
  id,
  repository,
}: {
  tenantId: number;
  id: number;
  repository: MessagesRepository;
}) {
  const batch = await repository.getBatch({ tenantId, id });
  if (!batch) throw batchNotFound();
  const counts = await repository.countBatchByStatus(batch.id);
  return {
    id: String(batch.id),
    type: batch.type,
    content: batch.content,
    total: batch.total,
    accepted: batch.accepted,
    rejected: batch.rejected,
    send_at: batch.send_at?.toISOString() ?? null,
    canceled_at: batch.canceled_at?.toISOString() ?? null,
    created_at: batch.created_at.toISOString(),
    completed_at: batch.completed_at?.toISOString() ?? null,
    counts,
  };
}

export async function cancelMessage({
  tenantId,
  id,
  repository,
  now,
}: {
  tenantId: number;
  id: number;
  repository: MessagesRepository;
  now: Date;
}) {
  const canceled = await repository.cancelHeldMessage({ tenantId, id, now });
  if (canceled) return viewOf(repository, tenantId, canceled);
  const existing = await repository.getMessage({ tenantId, id });
  if (!existing) throw messageNotFound();
  if (existing.status === 'canceled') return viewOf(repository, tenantId, existing);
  throw notCancelable({ details: { status: existing.status } });
}

export async function cancelBatch({
  tenantId,
  id,
  repository,
  now,
}: {
  tenantId: number;
  id: number;
  repository: MessagesRepository;
  now: Date;
}) {
  const batch = await repository.getBatch({ tenantId, id });
  if (!batch) throw batchNotFound();
  const canceled = await repository.cancelHeldBatch({ tenantId, id, now });
  if (canceled === 0 && batch.canceled_at === null) throw batchNotCancelable();
  return { ...(await getBatch({ tenantId, id, repository })), canceled_now: canceled };
}
