// The low-balance alert (seed 002: below 30 parts the tenant gets one SMS on its verified phone,
// once). One alert when the available balance falls below the tenant's threshold — an SMS to the
// owner's verified phone sent through Hongyan itself, a `low_balance` billing event for webhooks,
// and the flag the console shows — and none again until the balance is back at or above the
// threshold, which re-arms it.
//
// Several nodes run the check: the alert is claimed by one conditional UPDATE
// (`alerted_at is null`), so exactly one node wins and sends. The claim and the event commit
// together before the SMS is handed to intake: a crash in between loses that SMS, never sends two.
import type pg from 'pg';
import { withTransaction } from '../../../db/pool.ts';
import { audit, type Queryable } from '../../accounts/audit.ts';
import type { SendSms } from '../../accounts/phone.usecases.ts';
import { DEFAULT_LOW_BALANCE_THRESHOLD, lowBalanceDecision, lowBalanceText } from './commerce.models.ts';
import { insertBillingEvent } from './commerce.repository.ts';
import type { LedgerPort } from './ledger-port.ts';

export type AlertOutcome = 'alerted' | 'rearmed' | 'none';

interface AlertState {
  threshold: number | null;
  alerted_at: Date | null;
  alerted_available: number | null;
}

async function readState(db: Queryable, tenantId: number): Promise<AlertState | undefined> {
  const { rows } = await db.query<AlertState>(
    'select threshold, alerted_at, alerted_available from billing_alert_state where tenant_id = $1',
    [tenantId],
  );
  return rows[0];
}

async function ownerPhone(db: Queryable, tenantId: number): Promise<string | null> {
  const { rows } = await db.query<{ phone: string }>(
    `select phone from members
      where tenant_id = $1 and role = 'owner' and phone is not null and phone_verified_at is not null
      order by id limit 1`,
    [tenantId],
  );
  return rows[0]?.phone ?? null;
}

/** Checks one tenant: sends its one alert, re-arms it after a top-up, or does nothing. */
export async function checkLowBalance({
  pool,
  ledger,
  tenantId,
  defaultThreshold = DEFAULT_LOW_BALANCE_THRESHOLD,
  now,
  send,
}: {
  pool: Queryable & Pick<pg.Pool, 'connect'>;
  ledger: Pick<LedgerPort, 'balance'>;
  tenantId: number;
  defaultThreshold?: number;
  now: Date;
  send: SendSms;
}): Promise<AlertOutcome> {
  const { available } = await ledger.balance({ db: pool, tenantId });
  const state = await readState(pool, tenantId);
  const threshold = state?.threshold ?? defaultThreshold;
  const decision = lowBalanceDecision({ available, threshold, alerted: state?.alerted_at != null });
  if (decision === 'none') return 'none';
  if (decision === 'rearm') {
    // Conditional on the balance being at or above the threshold as well as on alerted_at: a
    // concurrent check that has just alerted is not undone by this one.
    await pool.query(
      `update billing_alert_state set alerted_at = null, alerted_available = null, alert_message_id = null
        where tenant_id = $1 and alerted_at is not null and coalesce(threshold, $2) <= $3`,
      [tenantId, defaultThreshold, available],
    );
    return 'rearmed';
  }
  const claimed = await withTransaction(pool, async (tx) => {
    await tx.query('insert into billing_alert_state (tenant_id) values ($1) on conflict do nothing', [
      tenantId,
    ]);
    const { rowCount } = await tx.query(
      `update billing_alert_state set alerted_at = $2, alerted_available = $3
        where tenant_id = $1 and alerted_at is null and coalesce(threshold, $4) > $3`,
      [tenantId, now, available, defaultThreshold],
    );
    if (rowCount !== 1) return false;
    await insertBillingEvent(tx, {
      tenantId,
      kind: 'low_balance',
      payload: { available, threshold, at: now.toISOString() },
      at: now,
    });
    return true;
  });
  if (!claimed) return 'none';
  const phone = await ownerPhone(pool, tenantId);
  let messageId: string | null = null;
  let sms = 'no verified owner phone';
  if (phone) {
    try {
      messageId = (await send({ tenantId, to: phone, content: lowBalanceText(available, threshold) })).id;
      sms = 'sent';
      await pool.query('update billing_alert_state set alert_message_id = $2 where tenant_id = $1', [
        tenantId,
        messageId,
      ]);
    } catch (error) {
      // The alert is the tenant's own message: with nothing left (a batch took the balance from
      // above the threshold to zero) intake refuses it. The flag and the event stand; the audit
      // says why no SMS went, and the alert is not retried (seed 002: one notice).
      sms = `refused: ${(error as { code?: string }).code ?? 'error'}`;
    }
  }
  await audit(
    pool,
    {
      actor: 'system',
      tenantId,
      action: 'billing.low_balance_alerted',
      target: `tenant:${tenantId}`,
      after: { available, threshold, message_id: messageId, sms },
    },
    now,
  );
  return 'alerted';
}

/** The periodic check over every active tenant; one tenant's failure does not stop the others. */
export async function checkAllLowBalances({
  pool,
  ledger,
  defaultThreshold,
  now,
  send,
  onError,
}: {
  pool: Queryable & Pick<pg.Pool, 'connect'>;
  ledger: Pick<LedgerPort, 'balance'>;
  defaultThreshold?: number;
  now: Date;
  send: SendSms;
  onError: (tenantId: number, error: unknown) => void;
}): Promise<{ alerted: number; rearmed: number }> {
  const { rows } = await pool.query<{ id: number }>(
    `select id from tenants where status = 'active' order by id`,
  );
  const counts = { alerted: 0, rearmed: 0 };
  for (const { id } of rows) {
    try {
      const outcome = await checkLowBalance({ pool, ledger, tenantId: id, defaultThreshold, now, send });
      if (outcome === 'alerted') counts.alerted += 1;
      if (outcome === 'rearmed') counts.rearmed += 1;
    } catch (error) {
      onError(id, error);
    }
  }
  return counts;
}

/** What the console's banner reads: low now or not, the threshold, and when the alert went out. */
export async function readAlertStatus({
  db,
  ledger,
  tenantId,
  defaultThreshold = DEFAULT_LOW_BALANCE_THRESHOLD,
}: {
  db: Queryable;
  ledger: Pick<LedgerPort, 'balance'>;
  tenantId: number;
  defaultThreshold?: number;
}) {
  const { available } = await ledger.balance({ db, tenantId });
  const state = await readState(db, tenantId);
  const threshold = state?.threshold ?? defaultThreshold;
  return {
    low_balance: available < threshold,
    available,
    threshold,
    threshold_is_default: state?.threshold == null,
    alerted_at: state?.alerted_at?.toISOString() ?? null,
  };
}

/** A tenant's own threshold (null: back to the default). Re-arming follows at the next check. */
export async function setAlertThreshold({
  db,
  tenantId,
  threshold,
  actor,
  ip = null,
  now,
}: {
  db: Queryable;
  tenantId: number;
  threshold: number | null;
  actor: string;
  ip?: string | null;
  now: Date;
}): Promise<void> {
  const before = await readState(db, tenantId);
  await db.query(
    `insert into billing_alert_state (tenant_id, threshold) values ($1, $2)
     on conflict (tenant_id) do update set threshold = excluded.threshold`,
    [tenantId, threshold],
  );
  await audit(
    db,
    {
      actor,
      tenantId,
      action: 'billing.alert_threshold_changed',
      target: `tenant:${tenantId}`,
      before: { threshold: before?.threshold ?? null },
      after: { threshold },
      ip,
    },
    now,
  );
}
