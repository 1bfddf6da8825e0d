// The webhook sender inside the worker role, built from the settings (src/app/config.ts).
import type { Logger } from 'pino';
import type { AppContext } from '../../app/context.ts';
import { createTwilioCallbackFormatter } from '../compat/twilio/twilio.callbacks.ts';
import { addressPolicyOf } from './ssrf.models.ts';
import { createWebhookSender, type DeliverySettings } from './webhooks.worker.ts';

export function deliverySettingsOf(config: AppContext['config']): DeliverySettings {
  return {
    batchMax: config.webhookBatchMax,
    claimMax: config.webhookClaimMax,
    concurrency: config.webhookConcurrency,
    retry: {
      baseMs: config.webhookRetryBaseMs,
      maxMs: config.webhookRetryMaxMs,
      giveUpAfterMs: config.webhookRetryHours * 3_600_000,
    },
    limits: {
      connectTimeoutMs: config.webhookConnectTimeoutMs,
      responseTimeoutMs: config.webhookResponseTimeoutMs,
      maxResponseBytes: config.webhookMaxResponseBytes,
    },
    policy: addressPolicyOf(config.webhookAllowRanges),
  };
}

/** Starts the loop with the worker's `every`; answers its stop function. */
export function startWebhookSender({
  ctx,
  logger,
  every,
  onError,
}: {
  ctx: AppContext;
  logger: Logger;
  every: (ms: number, fn: () => Promise<unknown>, onError: (e: unknown) => void) => () => Promise<void>;
  onError: (e: unknown) => void;
}): () => Promise<void> {
  const sender = createWebhookSender({
    pool: ctx.db.pool,
    keyRing: ctx.keyRing,
    now: () => ctx.clock.now(),
    settings: deliverySettingsOf(ctx.config),
    logger: logger.child({ component: 'webhooks' }),
    formatCallback: createTwilioCallbackFormatter({ db: ctx.db.pool, keyRing: ctx.keyRing }),
  });
  return every(ctx.config.webhookIntervalMs, () => sender.runUntilIdle(), onError);
}
