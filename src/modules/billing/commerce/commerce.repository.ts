// Packages, prices and orders: one exported function per statement, on any pg Queryable (the
// pool, or a transaction's client).
import type { Queryable } from '../../accounts/audit.ts';
import type { OrderStatus } from './commerce.models.ts';
import {
  DEFAULT_DOMESTIC_COUNTRY_CODE,
  type Destination,
  type PriceRow,
  type PriceTable,
  type RatedType,
} from './rating.models.ts';

export interface PackageRow {
  id: number;
  name: string;
  parts: number;
  price: string;
  currency: string;
  validity_days: number;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface NewPackage {
  name: string;
  parts: number;
  price: string;
  currency?: string;
  validity_days: number;
  enabled?: boolean;
}

const PACKAGE_COLUMNS =
  'id, name, parts, price::text as price, currency, validity_days, enabled, created_at, updated_at';

export async function insertPackage(db: Queryable, p: NewPackage): Promise<PackageRow> {
  const { rows } = await db.query<PackageRow>(
    `insert into billing_packages (name, parts, price, currency, validity_days, enabled)
     values ($1, $2, $3, $4, $5, $6) returning ${PACKAGE_COLUMNS}`,
    [p.name, p.parts, p.price, p.currency ?? 'CNY', p.validity_days, p.enabled ?? true],
  );
  return rows[0]!;
}

export async function updatePackage(
  db: Queryable,
  id: number,
  patch: Partial<NewPackage>,
): Promise<PackageRow | undefined> {
  const { rows } = await db.query<PackageRow>(
    `update billing_packages set
        name = coalesce($2, name), parts = coalesce($3, parts), price = coalesce($4, price),
        currency = coalesce($5, currency), validity_days = coalesce($6, validity_days),
        enabled = coalesce($7, enabled), updated_at = now()
      where id = $1 returning ${PACKAGE_COLUMNS}`,
    [
      id,
      patch.name ?? null,
      patch.parts ?? null,
      patch.price ?? null,
      patch.currency ?? null,
      patch.validity_days ?? null,
      patch.enabled ?? null,
    ],
  );
  return rows[0];
}

export async function findPackage(db: Queryable, id: number): Promise<PackageRow | undefined> {
  const { rows } = await db.query<PackageRow>(
    `select ${PACKAGE_COLUMNS} from billing_packages where id = $1`,
    [id],
  );
  return rows[0];
}

export async function listPackages(db: Queryable, { enabledOnly }: { enabledOnly: boolean }) {
  const { rows } = await db.query<PackageRow>(
    `select ${PACKAGE_COLUMNS} from billing_packages where ($1::boolean is false or enabled) order by parts, id`,
    [enabledOnly],
  );
  return rows;
}

export interface PriceInput {
  type: RatedType | null;
  destination: Destination;
  country_code: string | null;
  units_per_part: number;
  price_per_part: string;
  currency?: string;
}

interface PriceDbRow {
  id: number;
  type: RatedType | null;
  destination: Destination;
  country_code: string | null;
  units_per_part: number;
  price_per_part: string;
  currency: string;
  updated_at: Date;
}

/** One row per (type, destination, country): setting it again replaces it. */
export async function upsertPrice(db: Queryable, p: PriceInput): Promise<PriceDbRow> {
  const { rows } = await db.query<PriceDbRow>(
    `insert into billing_prices (type, destination, country_code, units_per_part, price_per_part, currency)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (type, destination, country_code) do update set
       units_per_part = excluded.units_per_part, price_per_part = excluded.price_per_part,
       currency = excluded.currency, updated_at = now()
     returning id, type, destination, country_code, units_per_part, price_per_part::text as price_per_part,
               currency, updated_at`,
    [p.type, p.destination, p.country_code, p.units_per_part, p.price_per_part, p.currency ?? 'CNY'],
  );
  return rows[0]!;
}

export async function deletePrice(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query('delete from billing_prices where id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

export async function listPrices(db: Queryable): Promise<PriceDbRow[]> {
  const { rows } = await db.query<PriceDbRow>(
    `select id, type, destination, country_code, units_per_part, price_per_part::text as price_per_part,
            currency, updated_at
       from billing_prices order by destination, country_code nulls first, type nulls first`,
  );
  return rows;
}

/** The price table for rating (chargeUnits) and statements. */
export async function loadPriceTable(
  db: Queryable,
  domesticCountryCode = DEFAULT_DOMESTIC_COUNTRY_CODE,
): Promise<PriceTable> {
  const rows: PriceRow[] = (await listPrices(db)).map((r) => ({
    type: r.type,
    destination: r.destination,
    countryCode: r.country_code,
    unitsPerPart: r.units_per_part,
    pricePerPart: r.price_per_part,
    currency: r.currency,
  }));
  return { rows, domesticCountryCode };
}

export interface OrderRow {
  id: number;
  tenant_id: number;
  package_id: number;
  package_name: string;
  parts: number;
  price: string;
  currency: string;
  validity_days: number;
  status: OrderStatus;
  payment_reference: string | null;
  created_by: string;
  confirmed_by: string | null;
  created_at: Date;
  paid_at: Date | null;
  credited_at: Date | null;
  canceled_at: Date | null;
}

const ORDER_SELECT = `select o.id, o.tenant_id, o.package_id, p.name as package_name, o.parts, o.price::text as price,
       o.currency, o.validity_days, o.status, o.payment_reference, o.created_by, o.confirmed_by,
       o.created_at, o.paid_at, o.credited_at, o.canceled_at
  from billing_orders o join billing_packages p on p.id = o.package_id`;

/** An order of a package, with a copy of what the package was when ordered. */
export async function insertOrder(
  db: Queryable,
  { tenantId, pkg, createdBy, now }: { tenantId: number; pkg: PackageRow; createdBy: string; now: Date },
): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `insert into billing_orders (tenant_id, package_id, parts, price, currency, validity_days, created_by, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8) returning id`,
    [tenantId, pkg.id, pkg.parts, pkg.price, pkg.currency, pkg.validity_days, createdBy, now],
  );
  return rows[0]!.id;
}

/** One order; with a tenant id, only that tenant's (another tenant's order reads as missing). */
export async function findOrder(
  db: Queryable,
  id: number,
  { tenantId, forUpdate = false }: { tenantId?: number; forUpdate?: boolean } = {},
): Promise<OrderRow | undefined> {
  const { rows } = await db.query<OrderRow>(
    `${ORDER_SELECT} where o.id = $1 and ($2::bigint is null or o.tenant_id = $2)${forUpdate ? ' for update of o' : ''}`,
    [id, tenantId ?? null],
  );
  return rows[0];
}

export async function listOrders(
  db: Queryable,
  { tenantId, status, limit }: { tenantId?: number; status?: OrderStatus; limit: number },
): Promise<OrderRow[]> {
  const { rows } = await db.query<OrderRow>(
    `${ORDER_SELECT} where ($1::bigint is null or o.tenant_id = $1) and ($2::text is null or o.status = $2)
      order by o.id desc limit $3`,
    [tenantId ?? null, status ?? null, limit],
  );
  return rows;
}

export async function setOrderStatus(
  db: Queryable,
  id: number,
  change:
    | { status: 'paid'; reference: string | null; by: string; at: Date }
    | { status: 'credited'; at: Date }
    | { status: 'canceled'; at: Date },
): Promise<void> {
  if (change.status === 'paid') {
    await db.query(
      `update billing_orders set status = 'paid', payment_reference = $2, confirmed_by = $3, paid_at = $4 where id = $1`,
      [id, change.reference, change.by, change.at],
    );
  } else if (change.status === 'credited') {
    await db.query(`update billing_orders set status = 'credited', credited_at = $2 where id = $1`, [
      id,
      change.at,
    ]);
  } else {
    await db.query(`update billing_orders set status = 'canceled', canceled_at = $2 where id = $1`, [
      id,
      change.at,
    ]);
  }
}

export async function insertBillingEvent(
  db: Queryable,
  { tenantId, kind, payload, at }: { tenantId: number; kind: string; payload: unknown; at: Date },
): Promise<void> {
  await db.query(
    'insert into billing_events (tenant_id, kind, payload, created_at) values ($1, $2, $3, $4)',
    [tenantId, kind, JSON.stringify(payload), at],
  );
}

export function toOrderView(o: OrderRow) {
  return {
    id: o.id,
    tenant_id: o.tenant_id,
    package: { id: o.package_id, name: o.package_name },
    parts: o.parts,
    price: o.price,
    currency: o.currency,
    validity_days: o.validity_days,
    status: o.status,
    payment_reference: o.payment_reference,
    created_at: o.created_at.toISOString(),
    paid_at: o.paid_at?.toISOString() ?? null,
    credited_at: o.credited_at?.toISOString() ?? null,
    canceled_at: o.canceled_at?.toISOString() ?? null,
  };
}

export function toPackageView(p: PackageRow) {
  return {
    id: p.id,
    name: p.name,
    parts: p.parts,
    price: p.price,
    currency: p.currency,
    validity_days: p.validity_days,
    enabled: p.enabled,
  };
}
