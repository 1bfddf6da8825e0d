// Balances, lots and the ledger on a real database: credits make lots, lots are used
// oldest-expiring first, expired remainders leave through an expire row, adjustments are audited
// and never take a balance below zero, and the ledger refuses to be rewritten.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { insertReservations, lockBalances } from './ledger.sql.ts';
import { adjustBalance, creditTenant, expireLots, getBalance } from './ledger.usecases.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
const DAY = 86_400_000;
const now = new Date('2026-09-01T00:00:00Z');
const inDays = (d: number) => new Date(now.getTime() + d * DAY);

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

async function newTenant() {
  const { rows } = await t.db.pool.query<{ id: number }>(
    "insert into tenants (name) values ('ledger') returning id",
  );
  return rows[0]!.id;
}

async function ledgerKinds(tenantId: number) {
  const { rows } = await t.db.pool.query<{ kind: string; available_delta: number }>(
    'select kind, available_delta from billing_ledger where tenant_id = $1 order by id',
    [tenantId],
  );
  return rows.map((r) => `${r.kind} ${r.available_delta}`);
}

/** Reserves `units` for a fake message id, as admission does (lock, then reserve). */
async function reserve(tenantId: number, messageId: number, units: number) {
  const client = await t.db.pool.connect();
  try {
    await client.query('begin');
    await lockBalances(client, [tenantId]);
    await insertReservations(client, [{ messageId, tenantId, batchId: null, units }], now);
    await client.query('commit');
  } finally {
    client.release();
  }
}

describe('credit and balance', () => {
  it('a credit makes a lot, writes a credit row, and returns the new balance', async () => {
    const tenantId = await newTenant();
    const balance = await creditTenant({
      db: t.db.pool,
      tenantId,
      parts: 500,
      expiresAt: inDays(30),
      reason: 'welcome',
      actor: 'staff:1',
      now,
    });
    expect(balance).toEqual({ available: 500, reserved: 0 });
    const read = await getBalance({ db: t.db.pool, tenantId });
    expect(read.available).toBe(500);
    expect(read.lots).toEqual([
      expect.objectContaining({
        parts_left: 500,
        parts_total: 500,
        source: 'credit',
        expires_at: inDays(30),
      }),
    ]);
    expect(await ledgerKinds(tenantId)).toEqual(['credit 500']);
  });

  it('refuses zero parts, a past expiry, and an unknown tenant', async () => {
    const tenantId = await newTenant();
    const base = { db: t.db.pool, tenantId, reason: 'x', actor: 'staff:1', now };
    await expect(creditTenant({ ...base, parts: 0, expiresAt: inDays(1) })).rejects.toMatchObject({
      code: 'billing.invalid_credit',
    });
    await expect(creditTenant({ ...base, parts: 5, expiresAt: inDays(-1) })).rejects.toMatchObject({
      code: 'billing.invalid_credit',
    });
    await expect(
      creditTenant({ ...base, tenantId: 999_999, parts: 5, expiresAt: inDays(1) }),
    ).rejects.toMatchObject({ code: 'tenants.not_found' });
  });

  it('a tenant never credited has nothing', async () => {
    const tenantId = await newTenant();
    expect(await getBalance({ db: t.db.pool, tenantId })).toEqual({ available: 0, reserved: 0, lots: [] });
  });
});

describe('lots', () => {
  it('are used oldest-expiring first, a message spanning two lots takes from both', async () => {
    const tenantId = await newTenant();
    const base = { db: t.db.pool, tenantId, reason: 'x', actor: 'staff:1', now };
    await creditTenant({ ...base, parts: 10, expiresAt: inDays(60) });
    await creditTenant({ ...base, parts: 3, expiresAt: inDays(10) });
    await reserve(tenantId, 9_000_001, 2);
    await reserve(tenantId, 9_000_002, 2);
    const read = await getBalance({ db: t.db.pool, tenantId });
    expect(read).toMatchObject({ available: 9, reserved: 4 });
    expect(read.lots.map((l) => [l.parts_left, l.expires_at])).toEqual([[9, inDays(60)]]);
    expect(await ledgerKinds(tenantId)).toEqual(['credit 10', 'credit 3', 'reserve -2', 'reserve -2']);
  });

  it('expired remainders leave through an expire row, not silently; live lots stay', async () => {
    const tenantId = await newTenant();
    const base = { db: t.db.pool, tenantId, reason: 'x', actor: 'staff:1', now };
    await creditTenant({ ...base, parts: 7, expiresAt: inDays(5) });
    await creditTenant({ ...base, parts: 4, expiresAt: inDays(50) });
    expect(await expireLots({ db: t.db.pool, now: inDays(4) })).toBe(0);
    expect(await expireLots({ db: t.db.pool, now: inDays(6) })).toBeGreaterThanOrEqual(1);
    const read = await getBalance({ db: t.db.pool, tenantId });
    expect(read.available).toBe(4);
    expect(read.lots).toHaveLength(1);
    expect(await ledgerKinds(tenantId)).toEqual(['credit 7', 'credit 4', 'expire -7']);
    // A second sweep finds nothing more to expire for this tenant.
    await expireLots({ db: t.db.pool, now: inDays(6) });
    expect(await ledgerKinds(tenantId)).toHaveLength(3);
  });
});

describe('adjustments', () => {
  it('add or take parts with a reason, audited, and never below zero', async () => {
    const tenantId = await newTenant();
    const base = { db: t.db.pool, tenantId, actor: 'staff:7', now };
    expect(await adjustBalance({ ...base, parts: 20, reason: 'goodwill' })).toEqual({
      available: 20,
      reserved: 0,
    });
    expect(await adjustBalance({ ...base, parts: -5, reason: 'double credit' })).toEqual({
      available: 15,
      reserved: 0,
    });
    await expect(adjustBalance({ ...base, parts: -16, reason: 'too much' })).rejects.toMatchObject({
      code: 'billing.adjustment_below_zero',
    });
    expect((await getBalance({ db: t.db.pool, tenantId })).lots[0]!.parts_left).toBe(15);
    expect(await ledgerKinds(tenantId)).toEqual(['adjust 20', 'adjust -5']);
    const { rows } = await t.db.pool.query<{ actor: string; after: { reason: string } }>(
      `select actor, after from audit_log where action = 'billing.balance_adjusted' and tenant_id = $1 order by id`,
      [tenantId],
    );
    expect(rows.map((r) => [r.actor, r.after.reason])).toEqual([
      ['staff:7', 'goodwill'],
      ['staff:7', 'double credit'],
    ]);
  });
});

describe('the ledger', () => {
  it('is append-only: an update or a delete is refused', async () => {
    const tenantId = await newTenant();
    await creditTenant({
      db: t.db.pool,
      tenantId,
      parts: 1,
      expiresAt: inDays(1),
      reason: 'x',
      actor: 'a',
      now,
    });
    await expect(
      t.db.pool.query('update billing_ledger set available_delta = 100 where tenant_id = $1', [tenantId]),
    ).rejects.toThrow(/append-only/);
    await expect(
      t.db.pool.query('delete from billing_ledger where tenant_id = $1', [tenantId]),
    ).rejects.toThrow(/append-only/);
  });
});
