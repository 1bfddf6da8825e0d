// Pure rules of charging: what a message's ledger rows must add up to in each status. The trigger
// of migration 0013 applies them as the status changes; reconcile and the tests check them.

/** Where a message's charge stands: held for it, taken, or given back. */
export type ChargeState = 'reserved' | 'captured' | 'returned';

const RESERVED = new Set(['accepted', 'held', 'queued', 'sending']);
/** The carrier took it: charged, `unknown` after the receipt window included (seed 002). */
const CAPTURED = new Set(['sent', 'delivered', 'unknown']);
/** A final failure (refund) or a message that never left (release). */
const RETURNED = new Set(['undelivered', 'rejected', 'failed', 'expired', 'canceled']);

export function expectedChargeState(status: string): ChargeState | null {
  if (RESERVED.has(status)) return 'reserved';
  if (CAPTURED.has(status)) return 'captured';
  if (RETURNED.has(status)) return 'returned';
  return null;
}

/** A message's ledger rows, summed: what its charge looks like now. */
export interface MessageCharge {
  units: number;
  reserves: number;
  captures: number;
  returns: number;
  /** Sum of its rows' available_delta and reserved_delta. */
  available: number;
  reserved: number;
}

export function chargeStateOf(c: MessageCharge): ChargeState | 'inconsistent' {
  if (c.reserves !== 1 || c.captures > 1 || c.returns > 1) return 'inconsistent';
  if (c.returns === 1) return c.available === 0 && c.reserved === 0 ? 'returned' : 'inconsistent';
  if (c.captures === 1) return c.available === -c.units && c.reserved === 0 ? 'captured' : 'inconsistent';
  return c.available === -c.units && c.reserved === c.units ? 'reserved' : 'inconsistent';
}

/** Parts a message in this charge state has cost the tenant for good (0 while only reserved). */
export function chargedParts(state: ChargeState, units: number): number {
  return state === 'captured' ? units : 0;
}
