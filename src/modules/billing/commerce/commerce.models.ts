// Pure rules of the commerce side of billing: an order's life, when a low-balance alert fires or
// re-arms, and what a statement may be grouped by.

export const ORDER_STATUSES = ['created', 'paid', 'credited', 'canceled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Seed 002: below 30 parts left, the tenant gets one SMS. */
export const DEFAULT_LOW_BALANCE_THRESHOLD = 30;

/**
 * The operator confirms a payment of a created order, which is then credited in the same
 * transaction; a paid order that was not credited (a crash between the two cannot happen in one
 * transaction, but an order marked paid by hand can) is credited by a confirmation too.
 * Confirming a credited order changes nothing. Purchased packages are not refundable (seed 002),
 * so nothing leaves 'credited'.
 */
export function canConfirm(status: OrderStatus): boolean {
  return status === 'created' || status === 'paid';
}

/** Only an order nobody has paid yet may be canceled (by the tenant or the operator). */
export function canCancel(status: OrderStatus): boolean {
  return status === 'created';
}

export type AlertDecision = 'alert' | 'rearm' | 'none';

/**
 * One alert when the available balance falls below the threshold, none again until the balance
 * is back at or above it (a top-up), which re-arms the alert.
 */
export function lowBalanceDecision({
  available,
  threshold,
  alerted,
}: {
  available: number;
  threshold: number;
  alerted: boolean;
}): AlertDecision {
  if (available < threshold) return alerted ? 'none' : 'alert';
  return alerted ? 'rearm' : 'none';
}

export function lowBalanceText(available: number, threshold: number): string {
  return `【鸿雁】您的短信余额为${available}条，已低于${threshold}条的提醒额度。余额不足时发送将失败，请及时购买短信包。`;
}

export const STATEMENT_DIMENSIONS = ['day', 'type', 'signature', 'channel'] as const;
export type StatementDimension = (typeof STATEMENT_DIMENSIONS)[number];

/** `group_by=day,type` → the dimensions in a fixed order; null when a name is unknown. */
export function parseGroupBy(raw: string | undefined): StatementDimension[] | null {
  if (raw === undefined || raw.trim() === '') return ['day', 'type'];
  const names = raw.split(',').map((s) => s.trim());
  if (!names.every((n) => (STATEMENT_DIMENSIONS as readonly string[]).includes(n))) return null;
  return STATEMENT_DIMENSIONS.filter((d) => names.includes(d));
}

/** The longest statement range in days: a year, so one request cannot scan the whole history. */
export const MAX_STATEMENT_DAYS = 366;

/** A [from, to) range of whole days; null when malformed, reversed or too long. */
export function parseRange(from: string, to: string): { from: string; to: string } | null {
  const day = /^\d{4}-\d{2}-\d{2}$/;
  if (!day.test(from) || !day.test(to)) return null;
  const a = Date.parse(`${from}T00:00:00Z`);
  const b = Date.parse(`${to}T00:00:00Z`);
  if (Number.isNaN(a) || Number.isNaN(b) || new Date(a).toISOString().slice(0, 10) !== from) return null;
  if (new Date(b).toISOString().slice(0, 10) !== to) return null;
  const days = (b - a) / 86_400_000;
  if (days < 0 || days > MAX_STATEMENT_DAYS) return null;
  return { from, to };
}
