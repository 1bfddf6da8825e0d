// Statements of the ledger, one exported function per statement. Every statement that changes a
// balance also writes its ledger rows (and its lots), so the balance and the sum of the ledger
// cannot part: a crash between statements loses the whole transaction, never half of it.
//
// Lock order: a balance row (billing_balances, by tenant id) before its lots. Every writer of
// lots — reservation, the message trigger, expiry, adjustment — takes the tenant's balance row
// first, in tenant id order, so they never deadlock and always see each other's lot changes.
import type pg from 'pg';
import { prepared } from '../../db/prepared.ts';

export type Queryable = Pick<pg.Pool, 'query'>;

export interface BalanceRow {
  available: number;
  reserved: number;
}

export type LotSource = 'order' | 'credit' | 'adjust';

/**
 * A new lot with its credit (or positive adjust) ledger row, and the balance raised by the same
 * amount: one statement, so it is atomic without a transaction of its own.
 */
export async function insertLotWithCredit(
  db: Queryable,
  input: {
    tenantId: number;
    parts: number;
    expiresAt: Date;
    source: LotSource;
    kind: 'credit' | 'adjust';
    reason: string;
    orderId: number | null;
    actor: string;
    now: Date;
  },
): Promise<BalanceRow> {
  const result = await db.query<BalanceRow>(
    `with lot as (
       insert into billing_lots (tenant_id, source, order_id, parts_total, parts_left, expires_at, created_at)
       values ($1, $3, $6, $2, $2, $4, $8) returning id),
     ledger as (
       insert into billing_ledger (tenant_id, kind, available_delta, reserved_delta, order_id, lot_id, reason, actor, created_at)
       select $1, $9, $2, 0, $6, lot.id, $5, $7, $8 from lot)
     insert into billing_balances as b (tenant_id, available, reserved, updated_at) values ($1, $2, 0, $8)
     on conflict (tenant_id) do update set available = b.available + excluded.available, updated_at = excluded.updated_at
     returning available, reserved`,
    [
      input.tenantId,
      input.parts,
      input.source,
      input.expiresAt,
      input.reason,
      input.orderId,
      input.actor,
      input.now,
      input.kind,
    ],
  );
  return result.rows[0]!;
}

/**
 * Locks the balance rows of these tenants, in tenant id order, for the rest of the transaction,
 * then folds their deltas (what the status trigger captured, refunded and released since: migration
 * 0021) into the balances and lots, so that the caller sees and changes exact figures. A tenant
 * without a row has nothing available (and nothing to lock: a credit creates the row).
 */
export async function lockBalances(
  db: Queryable,
  tenantIds: readonly number[],
): Promise<Map<number, number>> {
  // One round trip (migration 0037): the row is held until commit, and every other group of the
  // tenant waits for it, so each statement spared under the lock is spared for all of them.
  const result = await db.query<{ tenant_id: number; available: number }>(
    prepared(
      'billing-lock-balances-folded',
      'select tenant_id, available from billing_lock_balances($1::bigint[])',
      [tenantIds],
    ),
  );
  return new Map(result.rows.map((r) => [r.tenant_id, r.available]));
}

/** Folds these tenants' balance deltas into their balances and lots (each delta exactly once). */
export async function foldBalanceDeltas(db: Queryable, tenantIds: readonly number[]): Promise<void> {
  if (tenantIds.length === 0) return;
  await db.query(prepared('billing-fold-deltas', 'select billing_fold_deltas($1::bigint[])', [tenantIds]));
}

/** The tenants with deltas not folded yet (the worker's periodic fold), at most `limit`. */
export async function tenantsWithDeltas(db: Queryable, limit: number): Promise<number[]> {
  const result = await db.query<{ tenant_id: number }>(
    'select distinct tenant_id from (select tenant_id from billing_balance_deltas limit $1) d',
    [limit],
  );
  return result.rows.map((r) => Number(r.tenant_id)).sort((a, b) => a - b);
}

export interface Reservation {
  messageId: number;
  tenantId: number;
  batchId: number | null;
  units: number;
}

/**
 * The reserve ledger rows of newly admitted messages, their lots drawn down oldest-expiring first
 * and their balances moved from available to reserved, in one statement. The balances must be
 * locked (lockBalances) in this transaction and hold enough: admission checked that.
 *
 * The lot draws are interval overlaps: each message covers (hi - units, hi] of the running sum of
 * its tenant's charges, each lot (hi - parts_left, hi] of the running sum of its tenant's lots in
 * expiry order, and a message takes from every lot it overlaps. The reserve row names the last
 * lot it drew from, the one its refund or release returns to. Lots past their expiry that the
 * sweep has not taken yet are still drawn (they are still in `available`); first, since they
 * expire first.
 */
export async function insertReservations(db: Queryable, charges: readonly Reservation[], now: Date) {
  if (charges.length === 0) return;
  await db.query(
    prepared(
      'billing-insert-reservations',
      `with m as (
       select * from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) with ordinality
         as m(message_id, tenant_id, batch_id, units, ord)),
     mc as (
       select m.*, sum(m.units) over (partition by m.tenant_id order by m.ord) as hi from m),
     lots as (
       select l.id, l.tenant_id, l.parts_left,
              sum(l.parts_left) over (partition by l.tenant_id order by l.expires_at, l.id) as hi
         from billing_lots l
        where l.tenant_id in (select distinct tenant_id from m) and l.parts_left > 0),
     draws as (
       select mc.message_id, l.id as lot_id, l.hi as lot_hi,
              least(mc.hi, l.hi) - greatest(mc.hi - mc.units, l.hi - l.parts_left) as n
         from mc join lots l on l.tenant_id = mc.tenant_id
          and l.hi - l.parts_left < mc.hi and mc.hi - mc.units < l.hi),
     lot_updates as (
       update billing_lots b set parts_left = b.parts_left - d.n
         from (select lot_id, sum(n)::bigint as n from draws group by lot_id) d
        where b.id = d.lot_id),
     last_lot as (
       select distinct on (message_id) message_id, lot_id from draws order by message_id, lot_hi desc),
     ledger as (
       insert into billing_ledger (tenant_id, kind, available_delta, reserved_delta, units, message_id, batch_id, lot_id, created_at)
       select mc.tenant_id, 'reserve', -mc.units, mc.units, mc.units, mc.message_id, mc.batch_id, ll.lot_id, $5
         from mc left join last_lot ll on ll.message_id = mc.message_id)
     update billing_balances b
        set available = b.available - d.u, reserved = b.reserved + d.u, updated_at = $5
       from (select tenant_id, sum(units)::bigint as u from m group by tenant_id) d
      where b.tenant_id = d.tenant_id and d.u <> 0`,
      [
        charges.map((c) => c.messageId),
        charges.map((c) => c.tenantId),
        charges.map((c) => c.batchId),
        charges.map((c) => c.units),
        now,
      ],
    ),
  );
}

/**
 * A negative adjustment: `parts` taken from the lots oldest-expiring first, an adjust ledger row,
 * the balance lowered. The balance must be locked and hold `parts` (the caller checked).
 */
export async function takeFromLots(
  db: Queryable,
  input: { tenantId: number; parts: number; reason: string; actor: string; now: Date },
): Promise<BalanceRow> {
  const result = await db.query<BalanceRow>(
    `with lots as (
       select l.id, l.parts_left, sum(l.parts_left) over (order by l.expires_at, l.id) as hi
         from billing_lots l where l.tenant_id = $1 and l.parts_left > 0),
     draws as (
       select id, least($2::bigint, hi) - (hi - parts_left) as n from lots where hi - parts_left < $2::bigint),
     lot_updates as (
       update billing_lots b set parts_left = b.parts_left - d.n from draws d where b.id = d.id),
     ledger as (
       insert into billing_ledger (tenant_id, kind, available_delta, reserved_delta, reason, actor, created_at)
       values ($1, 'adjust', -$2::bigint, 0, $3, $4, $5))
     update billing_balances set available = available - $2::bigint, updated_at = $5
      where tenant_id = $1 returning available, reserved`,
    [input.tenantId, input.parts, input.reason, input.actor, input.now],
  );
  return result.rows[0]!;
}

/** Tenants with a lot past its expiry and parts left in it (the expiry sweep's work). */
export async function tenantsWithDueLots(db: Queryable, { now, limit }: { now: Date; limit: number }) {
  const result = await db.query<{ tenant_id: number }>(
    `select distinct tenant_id from (
       select tenant_id from billing_lots where parts_left > 0 and expires_at <= $1 limit $2) d`,
    [now, limit],
  );
  return result.rows.map((r) => r.tenant_id).sort((a, b) => a - b);
}

/**
 * What is left in these tenants' expired lots leaves through one expire ledger row per lot. The
 * balances must be locked in this transaction. Returns the lots expired.
 */
export async function expireDueLots(db: Queryable, { tenantIds, now }: { tenantIds: number[]; now: Date }) {
  const result = await db.query<{ n: number }>(
    `with due as (
       select id, tenant_id, order_id, parts_left from billing_lots
        where tenant_id = any($1::bigint[]) and parts_left > 0 and expires_at <= $2),
     lots as (
       update billing_lots l set parts_left = 0 from due where l.id = due.id),
     ledger as (
       insert into billing_ledger (tenant_id, kind, available_delta, reserved_delta, order_id, lot_id, reason, actor, created_at)
       select tenant_id, 'expire', -parts_left, 0, order_id, id, 'lot expired', 'system', $2 from due),
     balances as (
       update billing_balances b set available = b.available - d.n, updated_at = $2
         from (select tenant_id, sum(parts_left)::bigint as n from due group by tenant_id) d
        where b.tenant_id = d.tenant_id)
     select count(*)::int as n from due`,
    [tenantIds, now],
  );
  return result.rows[0]?.n ?? 0;
}

export interface LotView {
  id: number;
  parts_left: number;
  parts_total: number;
  expires_at: Date;
  source: LotSource;
  order_id: number | null;
}

export async function readBalance(db: Queryable, tenantId: number) {
  const result = await db.query<BalanceRow & { lots: LotView[] | null }>(
    // With the deltas not folded yet (migration 0021): the figures as they stand.
    `with d as (select lot_id, available_delta, reserved_delta from billing_balance_deltas where tenant_id = $1),
     lots as (
       select l.id, l.parts_left + coalesce((select sum(d.available_delta) from d where d.lot_id = l.id), 0)::bigint
                as parts_left, l.parts_total, l.expires_at, l.source, l.order_id
         from billing_lots l
        where l.tenant_id = $1 and (l.parts_left > 0 or l.id in (select lot_id from d)))
     select (coalesce(b.available, 0) + coalesce((select sum(available_delta) from d), 0))::bigint as available,
            (coalesce(b.reserved, 0) + coalesce((select sum(reserved_delta) from d), 0))::bigint as reserved,
            (select json_agg(json_build_object('id', l.id, 'parts_left', l.parts_left, 'parts_total', l.parts_total,
                      'expires_at', l.expires_at, 'source', l.source, 'order_id', l.order_id)
                      order by l.expires_at, l.id)
               from lots l where l.parts_left > 0) as lots
       from (select $1::bigint as tenant_id) t left join billing_balances b on b.tenant_id = t.tenant_id`,
    [tenantId],
  );
  const row = result.rows[0]!;
  return {
    available: row.available,
    reserved: row.reserved,
    lots: (row.lots ?? []).map((l) => ({ ...l, expires_at: new Date(l.expires_at) })),
  };
}

export type LedgerKind = 'reserve' | 'capture' | 'refund' | 'release' | 'credit' | 'adjust' | 'expire';

export interface LedgerRow {
  id: number;
  kind: LedgerKind;
  available_delta: number;
  reserved_delta: number;
  units: number | null;
  message_id: number | null;
  batch_id: number | null;
  order_id: number | null;
  lot_id: number | null;
  reason: string | null;
  created_at: Date;
}

/**
 * A tenant's ledger rows, newest first, below `beforeId` when given (the index on
 * (tenant_id, id) answers it without reading other tenants' rows).
 */
export async function listLedger(
  db: Queryable,
  input: { tenantId: number; beforeId?: number; kind?: LedgerKind; limit: number },
): Promise<LedgerRow[]> {
  const result = await db.query<LedgerRow>(
    `select id, kind, available_delta, reserved_delta, units, message_id, batch_id, order_id, lot_id, reason, created_at
       from billing_ledger
      where tenant_id = $1 and ($2::bigint is null or id < $2) and ($3::text is null or kind = $3)
      order by id desc limit $4`,
    [input.tenantId, input.beforeId ?? null, input.kind ?? null, input.limit],
  );
  return result.rows;
}
