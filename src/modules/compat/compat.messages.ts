// The one way a vendor-compatible request sends or reads messages: through the same use cases,
// composer (signature, template, content rules) and admission (caps, quota) as /v1/messages and
// /v1/batches. Nothing here writes a message itself.
import type { PoolClient } from 'pg';
import type { AppContext } from '../../app/context.ts';
import { withTransaction } from '../../db/pool.ts';
import { AppError } from '../../shared/errors.ts';
import { messageRules } from '../compliance/templates/rules-adapter.ts';
import { prepareSendComposer } from '../compliance/templates/send-content.ts';
import { admitAndInsertMessages } from '../messages/admission.ts';
import { insertBatchRow, type NewMessageRow, recountBatch } from '../messages/messages.repository.ts';
import { sendBatch, sendMessage } from '../messages/messages.usecases.ts';

export interface CompatSendRequest {
  tenantId: number;
  signName?: string;
  templateId?: number;
  /** Free text (Twilio's Body); with a template, its params per recipient instead. */
  content?: string;
}

export type Refusal = { code: string; message: string; statusCode: number };

export type SendOutcome<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

export function refusalOf(error: unknown): Refusal {
  if (error instanceof AppError)
    return { code: error.code, message: error.message, statusCode: error.statusCode };
  throw error;
}

/** The thrown error that rolls an all-or-nothing send back, carrying the first refusal. */
class RecipientRefused extends Error {
  constructor(readonly refusal: Refusal & { index: number }) {
    super(refusal.message);
  }
}

function settingsOf(ctx: AppContext) {
  return { maxParts: ctx.config.maxParts, defaultRegion: ctx.config.defaultRegion };
}

async function composerFor(ctx: AppContext, request: CompatSendRequest) {
  return prepareSendComposer({
    db: ctx.db.pool,
    tenantId: request.tenantId,
    request: {
      content: request.content,
      sign_name: request.signName,
      template_id: request.templateId,
    },
    rules: await messageRules(ctx.rules),
  });
}

/**
 * One message to one number (Twilio's create), by the single-send path of POST /v1/messages,
 * with its own status callback when given.
 */
export async function sendOne(
  ctx: AppContext,
  request: CompatSendRequest & { to: string; params?: Record<string, string>; callbackUrl?: string },
): Promise<SendOutcome<{ id: string; to: string; status: string; parts: number; created_at: string }>> {
  try {
    const result = await sendMessage({
      tenantId: request.tenantId,
      input: {
        to: request.to,
        content: request.content,
        params: request.params,
        callback_url: request.callbackUrl,
      },
      settings: settingsOf(ctx),
      insert: async (rows) => [await ctx.intake.insert(rows[0]!)],
      now: ctx.clock.now(),
      composer: await composerFor(ctx, request),
    });
    return { ok: true, value: result };
  } catch (error) {
    return { ok: false, refusal: refusalOf(error) };
  }
}

export type BatchResult = Awaited<ReturnType<typeof sendBatch>>;

/**
 * Several recipients in one batch, by the path of POST /v1/batches. `allOrNothing`: a refusal of
 * any recipient (a bad number, a cap, the quota) writes nothing and answers that refusal, as
 * Aliyun's SendSms and SendBatchSms do; otherwise each recipient has its own outcome (Tencent).
 */
export async function sendToRecipients(
  ctx: AppContext,
  request: CompatSendRequest & {
    recipients: { to: string; params?: Record<string, string>; client_ref?: string }[];
    allOrNothing: boolean;
  },
): Promise<SendOutcome<BatchResult>> {
  try {
    const composer = await composerFor(ctx, request);
    const run = async (client: PoolClient) => {
      const batch = await sendBatch({
        tenantId: request.tenantId,
        input: { content: request.content, recipients: request.recipients },
        settings: settingsOf(ctx),
        composer,
        insertBatch: (row) => insertBatchRow(client, row),
        insert: (rows: NewMessageRow[]) =>
          admitAndInsertMessages(client, ctx.admission, rows, {
            now: ctx.clock.now(),
            allOrNothing: request.allOrNothing,
          }),
        recountBatch: (batchId, accepted, rejected) => recountBatch(client, batchId, accepted, rejected),
        now: ctx.clock.now(),
      });
      const refused = batch.results.find((r) => !r.accepted);
      if (request.allOrNothing && refused && 'error' in refused && refused.error) {
        throw new RecipientRefused({
          index: refused.index,
          code: refused.error.code,
          message: refused.error.message,
          statusCode: 422,
        });
      }
      return batch;
    };
    const batch = await withTransaction(ctx.db.pool, run);
    ctx.notifyQueued();
    return { ok: true, value: batch };
  } catch (error) {
    if (error instanceof RecipientRefused) return { ok: false, refusal: error.refusal };
    return { ok: false, refusal: refusalOf(error) };
  }
}
