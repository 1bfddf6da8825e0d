// Test kits' tenants send without thinking of quota: a credit far larger than any test sends,
// through the real ledger (a lot and a credit row), so charging still runs on every message.
import { creditTenant, type Queryable } from './ledger.usecases.ts';

export const TEST_CREDIT_PARTS = 1_000_000_000;
const FAR_FUTURE = new Date('2100-01-01T00:00:00Z');

export async function creditForTests(db: Queryable, tenantId: number, parts = TEST_CREDIT_PARTS) {
  return creditTenant({
    db,
    tenantId,
    parts,
    expiresAt: FAR_FUTURE,
    reason: 'test kit credit',
    actor: 'test',
  });
}
