// The LedgerPort the application uses: part A's ledger (src/modules/billing/ledger.usecases.ts).
import { adjustBalance, creditTenant, getBalance } from '../ledger.usecases.ts';
import type { LedgerPort } from './ledger-port.ts';

export const appLedger: LedgerPort = {
  credit: (input) => creditTenant(input),
  balance: async (input) => {
    const b = await getBalance(input);
    return { available: b.available, reserved: b.reserved };
  },
  // Audited by the ledger itself (billing.balance_adjusted), in its transaction.
  adjust: (input) => adjustBalance(input),
};
