// Charging at acceptance: the quota admission step (order 900, after lists, caps and review, so a
// refused message is never charged). In the insert transaction it locks the balances of the
// tenants in the group, in tenant id order, first of all (prefetch: pipelined behind `begin`, so
// the lock costs no round trip of its own; the steps before it judge the rows meanwhile), admits each row that fits what is left (greedily, in
// row order: a 3-part message that does not fit does not stop a 1-part one after it), refuses the
// others with billing.insufficient_quota — all of them if the request asked for all or nothing —
// and after the insert writes one reserve ledger row per message. The balance lock is held until
// the insert commits, so 50 concurrent batches can never together reserve more than there is.
//
// What happens next is the trigger's (migration 0013): capture when the carrier takes a message,
// refund on a final failure, release on cancel or review rejection.
import type pg from 'pg';
import type { AdmissionStep } from '../messages/admission.ts';
import type { NewMessageRow } from '../messages/messages.repository.ts';
import {
  chargeUnits,
  countryCodeOf,
  EMPTY_PRICE_TABLE,
  type PriceTable,
  type RatedType,
} from './commerce/rating.models.ts';
import { loadPriceTable } from './commerce/commerce.repository.ts';
import { insufficientQuota } from './billing.errors.ts';
import { insertReservations, lockBalances } from './ledger.sql.ts';

/** How long a loaded price table is used before it is read again (prices change rarely). */
const PRICE_TABLE_TTL_MS = 5_000;

/** The parts a message costs: its rated units, or 1 per part when there is no price table. */
export function unitsOf(row: Pick<NewMessageRow, 'type' | 'recipient' | 'parts'>, table: PriceTable): number {
  // With no price rows every message costs its parts; skip parsing the number (the common case).
  if (table.rows.length === 0) return row.parts;
  return chargeUnits(
    { type: row.type as RatedType, countryCode: countryCodeOf(row.recipient), parts: row.parts },
    table,
  );
}

/**
 * Per row, null to admit it or the refusal: greedy per tenant over what is `available`, in row
 * order; with allOrNothing, one refusal refuses every row. Pure, for tests without a database.
 */
export function decideReservations(
  rows: readonly { tenantId: number; units: number }[],
  available: ReadonlyMap<number, number>,
  allOrNothing: boolean,
): ({ available: number; units: number } | null)[] {
  const left = new Map(available);
  const verdicts = rows.map((row) => {
    if (row.units === 0) return null;
    const have = left.get(row.tenantId) ?? 0;
    if (row.units <= have) {
      left.set(row.tenantId, have - row.units);
      return null;
    }
    return { available: have, units: row.units };
  });
  if (allOrNothing && verdicts.some((v) => v !== null)) {
    return rows.map(
      (row, i) => verdicts[i] ?? { available: available.get(row.tenantId) ?? 0, units: row.units },
    );
  }
  return verdicts;
}

/** The tenants whose balances a group's rows draw on (a row of 0 units draws on none), in id order. */
function chargedTenants(rows: readonly NewMessageRow[], units: readonly number[]): number[] {
  const ids = new Set<number>();
  rows.forEach((row, i) => units[i]! > 0 && ids.add(row.tenantId));
  return [...ids].sort((a, b) => a - b);
}

export function createQuotaStep({
  loadPrices = (db: pg.PoolClient) => loadPriceTable(db),
  now = () => Date.now(),
}: {
  loadPrices?: (db: pg.PoolClient) => Promise<PriceTable>;
  now?: () => number;
} = {}): AdmissionStep {
  let cached: { table: PriceTable; at: number } | null = null;
  const priceTable = async (client: pg.PoolClient) => {
    if (cached && now() - cached.at < PRICE_TABLE_TTL_MS) return cached.table;
    let table: PriceTable;
    try {
      table = await loadPrices(client);
    } catch (err) {
      // No price table yet (commerce not migrated) is the default, not a failure: 1 unit per part.
      if ((err as { code?: string }).code !== '42P01') throw err;
      table = EMPTY_PRICE_TABLE;
    }
    cached = { table, at: now() };
    return table;
  };
  // The units each admitted row was charged in check(), for its reserve row in afterInsert
  // (admission hands afterInsert the same row objects).
  const charged = new WeakMap<NewMessageRow, number>();

  return {
    name: 'billing.quota',
    order: 900,
    /**
     * The balances of the group's tenants, locked and read before the earlier steps judge the
     * rows (pipelined behind `begin`): which rows those admit changes how much is asked, not which
     * balances. Every tenant of the group, charged or not (a row the price table rates at 0 units
     * draws on nothing, and its tenant's lock costs nothing more), so that the statement is sent
     * before this returns, ahead of every other step's locks (admission.ts). Every group alike,
     * batches too: a batch that locked the recipients first and a single send of its tenant that
     * locked the balance first would each wait for the other.
     */
    prefetch(client, rows) {
      if (rows.length === 0) return undefined;
      const tenantIds = [...new Set(rows.map((r) => r.tenantId))].sort((a, b) => a - b);
      return lockBalances(client, tenantIds);
    },
    async check(client, rows, context, prefetched) {
      const table = await priceTable(client);
      const units = rows.map((row) => unitsOf(row, table));
      rows.forEach((row, i) => charged.set(row, units[i]!));
      const early = (await prefetched) as Map<number, number> | undefined;
      const tenantIds = early === undefined ? chargedTenants(rows, units) : [];
      const available =
        early ?? (tenantIds.length > 0 ? await lockBalances(client, tenantIds) : new Map<number, number>());
      const verdicts = decideReservations(
        rows.map((row, i) => ({ tenantId: row.tenantId, units: units[i]! })),
        available,
        context.allOrNothing,
      );
      return verdicts.map((v) =>
        v === null
          ? null
          : insufficientQuota({
              message: `This message needs ${v.units} parts; ${v.available} are available.`,
              details: { parts_needed: v.units, available: v.available },
            }),
      );
    },
    async afterInsert(client, rows, inserted, context) {
      const reservations = [];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const units = charged.get(row) ?? row.parts;
        if (units === 0) continue;
        reservations.push({
          messageId: inserted[i]!.id,
          tenantId: row.tenantId,
          batchId: row.batchId,
          units,
        });
      }
      await insertReservations(client, reservations, context.now);
    },
  };
}
