// Orders of packages: a tenant orders (created), the operator confirms the payment with its
// reference (paid) and the parts are credited as a lot expiring after the package's validity
// (credited) — both in one transaction holding the order's row lock, so two confirmations at once
// credit once: the second waits for the first, then finds the order credited and changes nothing.
// Purchased packages are not refundable (seed 002): nothing leaves 'credited'.
import type pg from 'pg';
import { withTransaction } from '../../../db/pool.ts';
import { audit, type Queryable } from '../../accounts/audit.ts';
import { canCancel, canConfirm } from './commerce.models.ts';
import {
  adjustUnavailable,
  orderNotCancelable,
  orderNotConfirmable,
  orderNotFound,
  packageNotFound,
  packageUnavailable,
} from './commerce.errors.ts';
import {
  findOrder,
  findPackage,
  insertBillingEvent,
  insertOrder,
  type OrderRow,
  setOrderStatus,
} from './commerce.repository.ts';
import type { LedgerPort } from './ledger-port.ts';

const DAY_MS = 86_400_000;

export async function createOrder({
  db,
  tenantId,
  packageId,
  actor,
  ip = null,
  now,
}: {
  db: Queryable;
  tenantId: number;
  packageId: number;
  actor: string;
  ip?: string | null;
  now: Date;
}): Promise<OrderRow> {
  const pkg = await findPackage(db, packageId);
  if (!pkg) throw packageNotFound();
  if (!pkg.enabled) throw packageUnavailable();
  const id = await insertOrder(db, { tenantId, pkg, createdBy: actor, now });
  await audit(
    db,
    {
      actor,
      tenantId,
      action: 'billing.order_created',
      target: `order:${id}`,
      after: { package_id: pkg.id, parts: pkg.parts, price: pkg.price, currency: pkg.currency },
      ip,
    },
    now,
  );
  return (await findOrder(db, id))!;
}

/**
 * Confirms the payment of an order and credits its parts. Answers `credited: false` for an order
 * that was already credited (a repeated or concurrent confirmation), which is left as it was.
 */
export async function confirmOrder({
  pool,
  ledger,
  orderId,
  reference,
  actor,
  ip = null,
  now,
}: {
  pool: Pick<pg.Pool, 'connect'>;
  ledger: Pick<LedgerPort, 'credit'>;
  orderId: number;
  reference: string | null;
  actor: string;
  ip?: string | null;
  now: Date;
}): Promise<{ order: OrderRow; credited: boolean }> {
  return withTransaction(pool, async (tx) => {
    const order = await findOrder(tx, orderId, { forUpdate: true });
    if (!order) throw orderNotFound();
    if (order.status === 'credited') return { order, credited: false };
    if (!canConfirm(order.status)) throw orderNotConfirmable();
    if (order.status === 'created') {
      await setOrderStatus(tx, order.id, { status: 'paid', reference, by: actor, at: now });
    }
    const expiresAt = new Date(now.getTime() + order.validity_days * DAY_MS);
    await ledger.credit({
      db: tx,
      tenantId: order.tenant_id,
      parts: order.parts,
      expiresAt,
      reason: `order ${order.id}: ${order.package_name}`,
      orderId: order.id,
      actor,
      now,
    });
    await setOrderStatus(tx, order.id, { status: 'credited', at: now });
    await insertBillingEvent(tx, {
      tenantId: order.tenant_id,
      kind: 'order_credited',
      payload: { order_id: order.id, parts: order.parts, expires_at: expiresAt.toISOString() },
      at: now,
    });
    await audit(
      tx,
      {
        actor,
        tenantId: order.tenant_id,
        action: 'billing.order_credited',
        target: `order:${order.id}`,
        before: { status: order.status },
        after: {
          status: 'credited',
          payment_reference: reference ?? order.payment_reference,
          parts: order.parts,
          expires_at: expiresAt.toISOString(),
        },
        ip,
      },
      now,
    );
    return { order: (await findOrder(tx, order.id))!, credited: true };
  });
}

/** Cancels an unpaid order; with a tenant id, only that tenant's own. */
export async function cancelOrder({
  pool,
  orderId,
  tenantId,
  actor,
  ip = null,
  now,
}: {
  pool: Pick<pg.Pool, 'connect'>;
  orderId: number;
  tenantId?: number;
  actor: string;
  ip?: string | null;
  now: Date;
}): Promise<OrderRow> {
  return withTransaction(pool, async (tx) => {
    const order = await findOrder(tx, orderId, { tenantId, forUpdate: true });
    if (!order) throw orderNotFound();
    if (!canCancel(order.status)) throw orderNotCancelable();
    await setOrderStatus(tx, order.id, { status: 'canceled', at: now });
    await audit(
      tx,
      {
        actor,
        tenantId: order.tenant_id,
        action: 'billing.order_canceled',
        target: `order:${order.id}`,
        before: { status: order.status },
        ip,
      },
      now,
    );
    return (await findOrder(tx, order.id))!;
  });
}

/**
 * The operator's adjustment of a balance, with a reason (purchases are not refunded; a goodwill
 * credit or a correction is an adjustment). The ledger writes it and its audit row together.
 */
export async function adjustBalance({
  pool,
  ledger,
  tenantId,
  parts,
  reason,
  actor,
  now,
}: {
  pool: Queryable;
  ledger: Pick<LedgerPort, 'adjust'>;
  tenantId: number;
  parts: number;
  reason: string;
  actor: string;
  now: Date;
}): Promise<{ available: number }> {
  if (!ledger.adjust) throw adjustUnavailable();
  return ledger.adjust({ db: pool, tenantId, parts, reason, actor, now });
}
