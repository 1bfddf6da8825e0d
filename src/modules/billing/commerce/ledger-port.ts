// What the commerce side needs of the ledger (part A, src/modules/billing/ledger.usecases.ts):
// crediting an order's parts as a lot with an expiry, reading a balance, adjusting one. Use cases
// take a LedgerPort, so tests of orders and alerts can pass their own.
import type { Queryable } from '../../accounts/audit.ts';

export interface LedgerPort {
  /** Writes a credit ledger row and a lot; part of the caller's transaction when `db` is its client. */
  credit(input: {
    db: Queryable;
    tenantId: number;
    parts: number;
    expiresAt: Date;
    reason: string;
    orderId?: number;
    actor: string;
    now?: Date;
  }): Promise<unknown>;
  balance(input: { db: Queryable; tenantId: number }): Promise<{ available: number; reserved: number }>;
  /** ±parts with a reason, audited by the ledger; null when the ledger offers no adjustment. */
  adjust:
    | ((input: {
        db: Queryable;
        tenantId: number;
        parts: number;
        reason: string;
        actor: string;
        now?: Date;
      }) => Promise<{ available: number }>)
    | null;
}
