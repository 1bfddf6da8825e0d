// Wiring of the low-balance alert for a worker node: the SMS goes in through the same intake as
// any send (a notification of the tenant's own, like the reset codes of phone.usecases.ts), and
// the periodic check runs on every worker (one alert per tenant whatever the number of nodes).
import type { AppContext } from '../../../app/context.ts';
import type { SendSms } from '../../accounts/phone.usecases.ts';
import { sendMessage } from '../../messages/messages.usecases.ts';
import { checkAllLowBalances } from './alerts.usecases.ts';
import { appLedger } from './ledger.ts';
import type { LedgerPort } from './ledger-port.ts';

export function alertSender(ctx: Pick<AppContext, 'config' | 'intake' | 'clock'>): SendSms {
  const settings = { maxParts: ctx.config.maxParts, defaultRegion: ctx.config.defaultRegion };
  return async ({ tenantId, to, content }) => {
    const sent = await sendMessage({
      tenantId,
      input: { to, content, type: 'notification' },
      settings,
      insert: async (rows) => [await ctx.intake.insert(rows[0]!)],
      now: ctx.clock.now(),
    });
    return { id: sent.id };
  };
}

/** One round of the periodic check (the worker calls it every lowBalanceCheckIntervalMs). */
export async function runLowBalanceCheck(
  ctx: Pick<AppContext, 'config' | 'intake' | 'clock' | 'db' | 'logger'>,
  ledger: LedgerPort = appLedger,
) {
  const counts = await checkAllLowBalances({
    pool: ctx.db.pool,
    ledger,
    defaultThreshold: ctx.config.lowBalanceThreshold,
    now: ctx.clock.now(),
    send: alertSender(ctx),
    onError: (tenantId, err) => ctx.logger.warn({ err, tenantId }, 'low-balance check of a tenant failed'),
  });
  if (counts.alerted > 0) ctx.logger.info(counts, 'low-balance alerts sent');
  return counts;
}
