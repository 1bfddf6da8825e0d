// `hongyan billing package add|list` and `hongyan billing order confirm|list`, called by the
// operator CLI with an open database; the same use cases (and audit) as the operator API. Each
// prints a line or, with --json, one document.
import type pg from 'pg';
import { audit } from '../../accounts/audit.ts';
import { BillingUsageError } from '../billing.cli.ts';
import { ORDER_STATUSES, type OrderStatus } from './commerce.models.ts';
import {
  insertPackage,
  listOrders,
  listPackages,
  toOrderView,
  toPackageView,
} from './commerce.repository.ts';
import { appLedger } from './ledger.ts';
import type { LedgerPort } from './ledger-port.ts';
import { confirmOrder } from './orders.usecases.ts';

type Values = Record<string, string | boolean | undefined>;
type Out = (value: unknown, human: string) => void;

export const COMMERCE_HELP = `  hongyan billing package add --name N --parts P --price X --validity-days D [--currency CNY] [--disable]
                                                 define a quota package (price in yuan, e.g. 250.00)
  hongyan billing package list                   every package, on sale or not
  hongyan billing order list [--status created|paid|credited|canceled] [--tenant ID]
  hongyan billing order confirm ORDER_ID [--reference PAYMENT_REF]
                                                 record the payment and credit the order's parts (once)`;

export const COMMERCE_SUBCOMMANDS = ['package', 'order'];

function wholeNumber(values: Values, name: string, { min, max }: { min: number; max: number }): number {
  const v = values[name];
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new BillingUsageError(`--${name} must be a whole number ${min}..${max}`);
  return Number(v);
}

const packageLine = (p: ReturnType<typeof toPackageView>) =>
  `${p.id}\t${p.name}\t${p.parts} parts\t${p.price} ${p.currency}\t${p.validity_days} days${p.enabled ? '' : '\t(not on sale)'}`;

const orderLine = (o: ReturnType<typeof toOrderView>) =>
  `${o.id}\ttenant ${o.tenant_id}\t${o.package.name}\t${o.parts} parts\t${o.price} ${o.currency}\t${o.status}${o.payment_reference ? `\tref ${o.payment_reference}` : ''}`;

export async function runCommerceCommand({
  sub,
  rest,
  values,
  pool,
  ledger = appLedger,
  actor = 'operator-cli',
  now = new Date(),
  out,
}: {
  sub: string;
  rest: string[];
  values: Values;
  pool: pg.Pool;
  ledger?: LedgerPort;
  actor?: string;
  now?: Date;
  out: Out;
}): Promise<number> {
  switch (`${sub} ${rest[0] ?? ''}`) {
    case 'package add': {
      const name = values.name;
      if (typeof name !== 'string' || name.trim() === '' || name.length > 100)
        throw new BillingUsageError('--name is required (at most 100 characters)');
      const price = values.price;
      if (typeof price !== 'string' || !/^\d{1,10}(\.\d{1,2})?$/.test(price))
        throw new BillingUsageError('--price is required: an amount like 250 or 250.00');
      const currency = typeof values.currency === 'string' ? values.currency : 'CNY';
      if (!/^[A-Z]{3}$/.test(currency))
        throw new BillingUsageError('--currency is three capital letters (CNY)');
      const pkg = await insertPackage(pool, {
        name: name.trim(),
        parts: wholeNumber(values, 'parts', { min: 1, max: 1_000_000_000 }),
        price,
        currency,
        validity_days: wholeNumber(values, 'validity-days', { min: 1, max: 3650 }),
        enabled: values.disable !== true,
      });
      const view = toPackageView(pkg);
      await audit(
        pool,
        { actor, action: 'billing.package_created', target: `package:${pkg.id}`, after: view },
        now,
      );
      out(view, `package ${packageLine(view)}`);
      return 0;
    }
    case 'package list': {
      const list = (await listPackages(pool, { enabledOnly: false })).map(toPackageView);
      out(list, list.map(packageLine).join('\n') || '(no packages)');
      return 0;
    }
    case 'order list': {
      const status = values.status;
      if (status !== undefined && !(ORDER_STATUSES as readonly unknown[]).includes(status))
        throw new BillingUsageError(`--status is one of ${ORDER_STATUSES.join(', ')}`);
      const tenantId =
        values.tenant === undefined
          ? undefined
          : wholeNumber(values, 'tenant', { min: 1, max: Number.MAX_SAFE_INTEGER });
      const list = (
        await listOrders(pool, { tenantId, status: status as OrderStatus | undefined, limit: 500 })
      ).map(toOrderView);
      out(list, list.map(orderLine).join('\n') || '(no orders)');
      return 0;
    }
    case 'order confirm': {
      const id = rest[1];
      if (id === undefined || !/^[1-9]\d{0,15}$/.test(id))
        throw new BillingUsageError(
          'usage: hongyan billing order confirm ORDER_ID [--reference PAYMENT_REF]',
        );
      const reference =
        typeof values.reference === 'string' && values.reference !== '' ? values.reference : null;
      const { order, credited } = await confirmOrder({
        pool,
        ledger,
        orderId: Number(id),
        reference,
        actor,
        now,
      });
      const view = toOrderView(order);
      out(
        { order: view, credited },
        credited
          ? `order ${view.id} paid and credited: ${view.parts} parts to tenant ${view.tenant_id}`
          : `order ${view.id} was already credited; nothing changed`,
      );
      return 0;
    }
    default:
      throw new BillingUsageError(`unknown command "billing ${sub} ${rest[0] ?? ''}"; see hongyan --help`);
  }
}
