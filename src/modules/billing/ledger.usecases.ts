// Balances and credit: what the operator's commands, the commerce side (part B: an order's credit)
// and the tenant's balance page call. Charging messages is in charging.ts (admission) and the
// message trigger (migration 0013).
import type pg from 'pg';
import { audit } from '../accounts/audit.ts';
import { tenantNotFound } from '../accounts/accounts.errors.ts';
import { adjustmentBelowZero, invalidCredit } from './billing.errors.ts';
import {
  type BalanceRow,
  expireDueLots,
  foldBalanceDeltas,
  insertLotWithCredit,
  lockBalances,
  type LotSource,
  type Queryable,
  readBalance,
  takeFromLots,
  tenantsWithDeltas,
  tenantsWithDueLots,
} from './ledger.sql.ts';

export type { Queryable } from './ledger.sql.ts';

/** Validity of an operator credit or positive adjustment given without an expiry. */
export const DEFAULT_CREDIT_DAYS = 365;

export function defaultExpiry(now: Date): Date {
  return new Date(now.getTime() + DEFAULT_CREDIT_DAYS * 86_400_000);
}

/**
 * Runs `fn` in a transaction: its own when `db` is a pool; the caller's when `db` is a client
 * (which must then be inside one, or the balance lock would not outlive its statement).
 */
async function inTransaction<T>(db: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  if (!('totalCount' in db)) return fn(db);
  const client = await (db as pg.Pool).connect();
  try {
    await client.query('begin');
    const value = await fn(client);
    await client.query('commit');
    return value;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function assertTenant(db: Queryable, tenantId: number) {
  const found = await db.query('select 1 from tenants where id = $1', [tenantId]);
  if (found.rowCount === 0) throw tenantNotFound();
}

function checkCredit(parts: number, expiresAt: Date, now: Date) {
  if (!Number.isSafeInteger(parts) || parts <= 0 || !(expiresAt.getTime() > now.getTime()))
    throw invalidCredit({ details: { parts, expires_at: expiresAt } });
}

/**
 * Credits a tenant: a lot of `parts` expiring at `expiresAt`, its credit ledger row, the balance
 * raised; one statement, so part of the caller's transaction when `db` is its client. Returns the
 * new balance.
 */
export async function creditTenant({
  db,
  tenantId,
  parts,
  expiresAt,
  reason,
  orderId,
  actor,
  now = new Date(),
}: {
  db: Queryable;
  tenantId: number;
  parts: number;
  expiresAt: Date;
  reason: string;
  orderId?: number;
  actor: string;
  now?: Date;
}): Promise<BalanceRow> {
  checkCredit(parts, expiresAt, now);
  await assertTenant(db, tenantId);
  const source: LotSource = orderId === undefined ? 'credit' : 'order';
  return insertLotWithCredit(db, {
    tenantId,
    parts,
    expiresAt,
    source,
    kind: 'credit',
    reason,
    orderId: orderId ?? null,
    actor,
    now,
  });
}

/** A tenant's balance and the lots behind it, oldest-expiring first (the order they are used in). */
export async function getBalance({ db, tenantId }: { db: Queryable; tenantId: number }) {
  return readBalance(db, tenantId);
}

export type Balance = Awaited<ReturnType<typeof getBalance>>;

/**
 * The operator corrects a balance by ±parts with a reason, audited. A positive adjustment is a lot
 * of its own (expiring after DEFAULT_CREDIT_DAYS unless told); a negative one takes from the lots
 * oldest-expiring first and never below zero (billing.adjustment_below_zero).
 */
export async function adjustBalance({
  db,
  tenantId,
  parts,
  reason,
  actor,
  expiresAt,
  now = new Date(),
}: {
  db: Queryable;
  tenantId: number;
  parts: number;
  reason: string;
  actor: string;
  expiresAt?: Date;
  now?: Date;
}): Promise<BalanceRow> {
  if (!Number.isSafeInteger(parts) || parts === 0 || reason.trim() === '')
    throw invalidCredit({ message: 'An adjustment needs a non-zero whole number of parts and a reason.' });
  return inTransaction(db, async (tx) => {
    await assertTenant(tx, tenantId);
    let balance: BalanceRow;
    let before: number;
    if (parts > 0) {
      const expiry = expiresAt ?? defaultExpiry(now);
      checkCredit(parts, expiry, now);
      before = (await lockBalances(tx, [tenantId])).get(tenantId) ?? 0;
      balance = await insertLotWithCredit(tx, {
        tenantId,
        parts,
        expiresAt: expiry,
        source: 'adjust',
        kind: 'adjust',
        reason,
        orderId: null,
        actor,
        now,
      });
    } else {
      before = (await lockBalances(tx, [tenantId])).get(tenantId) ?? 0;
      if (before < -parts) throw adjustmentBelowZero({ details: { available: before, parts } });
      balance = await takeFromLots(tx, { tenantId, parts: -parts, reason, actor, now });
    }
    await audit(
      tx,
      {
        actor,
        tenantId,
        action: 'billing.balance_adjusted',
        target: `tenant:${tenantId}`,
        before: { available: before },
        after: { available: balance.available, parts, reason },
      },
      now,
    );
    return balance;
  });
}

/**
 * The expiry sweep: what is left in lots past their expiry leaves through expire ledger rows, a
 * few hundred tenants per transaction. Returns the lots expired. It first folds every tenant's
 * balance deltas (foldDeltas).
 */
export async function expireLots({
  db,
  now = new Date(),
  tenantsPerRound = 200,
}: {
  db: Queryable;
  now?: Date;
  tenantsPerRound?: number;
}): Promise<number> {
  await foldDeltas({ db, tenantsPerRound });
  let total = 0;
  for (;;) {
    const tenantIds = await tenantsWithDueLots(db, { now, limit: tenantsPerRound });
    if (tenantIds.length === 0) return total;
    total += await inTransaction(db, async (tx) => {
      await lockBalances(tx, tenantIds);
      return expireDueLots(tx, { tenantIds, now });
    });
  }
}

/**
 * Folds every tenant's balance deltas (migration 0021) into its balance and lots, each tenant in
 * its own short statement. Admission folds its own tenants' whenever it locks them; this, run by
 * the expiry sweep, keeps the deltas of tenants that stopped sending few. Returns the tenants.
 */
export async function foldDeltas({ db, tenantsPerRound = 200 }: { db: Queryable; tenantsPerRound?: number }) {
  let total = 0;
  for (let round = 0; round < 50; round++) {
    const tenantIds = await tenantsWithDeltas(db, tenantsPerRound);
    if (tenantIds.length === 0) break;
    for (const tenantId of tenantIds) await foldBalanceDeltas(db, [tenantId]);
    total += tenantIds.length;
  }
  return total;
}

/** What the demo tenant of a fresh install starts with. */
export const DEMO_CREDIT_PARTS = 10_000;
