// `hongyan billing credit|balance|adjust|reconcile` as the operator CLI runs them (with --json),
// on a real database: what each prints, its exit status, and what a wrong option answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { BillingUsageError, runBillingCommand } from './billing.cli.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let tenantId: number;
const now = new Date('2026-09-01T00:00:00Z');

beforeAll(async () => {
  t = await createTestDatabase();
  const { rows } = await t.db.pool.query<{ id: number }>(
    "insert into tenants (name) values ('cli') returning id",
  );
  tenantId = rows[0]!.id;
});
afterAll(async () => {
  await t.drop();
});

async function cli(sub: string, values: Record<string, string | boolean>) {
  let printed: unknown;
  const code = await runBillingCommand({
    sub,
    values: { json: true, ...values },
    pool: t.db.pool,
    now,
    out: (value) => (printed = JSON.parse(JSON.stringify(value))),
  });
  return { code, printed: printed as Record<string, unknown> };
}

describe('hongyan billing', () => {
  it('credit, balance, adjust and reconcile print JSON and exit 0', async () => {
    const credit = await cli('credit', { tenant: String(tenantId), parts: '500', expires: '2026-12-31' });
    expect(credit).toEqual({
      code: 0,
      printed: {
        tenant_id: tenantId,
        credited: 500,
        expires_at: '2026-12-31T23:59:59.999Z',
        available: 500,
        reserved: 0,
      },
    });
    const adjust = await cli('adjust', {
      tenant: String(tenantId),
      parts: '-120',
      reason: 'duplicate payment',
    });
    expect(adjust.printed).toMatchObject({ adjusted: -120, available: 380 });
    const balance = await cli('balance', { tenant: String(tenantId) });
    expect(balance.printed).toMatchObject({
      available: 380,
      reserved: 0,
      lots: [{ parts_left: 380, parts_total: 500, source: 'credit' }],
    });
    const reconciled = await cli('reconcile', {});
    expect(reconciled).toMatchObject({ code: 0, printed: { consistent: true, differences: [] } });
  });

  it('a credit without --expires lasts 365 days', async () => {
    const { printed } = await cli('credit', { tenant: String(tenantId), parts: '1' });
    expect(printed.expires_at).toBe('2027-09-01T00:00:00.000Z');
  });

  it('reconcile exits 1 and lists the difference when a balance is not the sum of its ledger', async () => {
    await t.db.pool.query('update billing_balances set available = available + 7 where tenant_id = $1', [
      tenantId,
    ]);
    const { code, printed } = await cli('reconcile', {});
    expect(code).toBe(1);
    expect(printed).toMatchObject({ consistent: false });
    expect(printed.differences).toEqual([expect.objectContaining({ kind: 'balance', tenant_id: tenantId })]);
    await t.db.pool.query('update billing_balances set available = available - 7 where tenant_id = $1', [
      tenantId,
    ]);
  });

  it('refuses missing or malformed options before touching anything', async () => {
    await expect(cli('credit', { parts: '5' })).rejects.toBeInstanceOf(BillingUsageError);
    await expect(cli('credit', { tenant: String(tenantId), parts: '-5' })).rejects.toBeInstanceOf(
      BillingUsageError,
    );
    await expect(cli('adjust', { tenant: String(tenantId), parts: '5' })).rejects.toThrow(/--reason/);
    await expect(cli('credit', { tenant: String(tenantId), parts: '5', expires: 'soon' })).rejects.toThrow(
      /--expires/,
    );
    await expect(cli('refund', {})).rejects.toThrow(/unknown command/);
  });
});
