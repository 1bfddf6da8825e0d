// `hongyan billing credit|balance|adjust|reconcile`, called by the operator CLI
// (src/app/operator-cli.ts) with an open database. Each prints a line or, with --json, a document.
import { reconcile } from './reconcile.ts';
import { adjustBalance, creditTenant, defaultExpiry, getBalance, type Queryable } from './ledger.usecases.ts';

type Values = Record<string, string | boolean | undefined>;
type Out = (value: unknown, human: string) => void;

export class BillingUsageError extends Error {}

export const BILLING_HELP = `  hongyan billing credit --tenant ID --parts N [--expires YYYY-MM-DD] [--reason TEXT]
                                                 credit parts (a lot; expires in 365 days by default)
  hongyan billing balance --tenant ID            available and reserved parts, and the lots behind them
  hongyan billing adjust --tenant ID --parts=±N --reason TEXT
                                                 correct a balance (audited; never below zero)
  hongyan billing reconcile                      balances against the ledger, and each message's charge
                                                 against its outcome (exit 1 when not consistent)`;

function tenantOf(values: Values): number {
  const v = values.tenant;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new BillingUsageError('--tenant ID is required');
  return Number(v);
}

export function partsOption(values: Values, { signed }: { signed: boolean }): number {
  const v = values.parts;
  const pattern = signed ? /^[+-]?\d+$/ : /^\d+$/;
  if (typeof v !== 'string' || !pattern.test(v))
    throw new BillingUsageError(
      signed ? '--parts=±N is required (e.g. --parts=-50)' : '--parts N is required (a whole number)',
    );
  return Number(v);
}

export function expiresOption(values: Values, now: Date): Date {
  const v = values.expires;
  if (v === undefined) return defaultExpiry(now);
  if (typeof v !== 'string' || Number.isNaN(Date.parse(v)))
    throw new BillingUsageError('--expires must be a date (YYYY-MM-DD) or an ISO timestamp');
  // A bare date means the end of that day (UTC): the lot is usable all of it.
  return /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T23:59:59.999Z`) : new Date(v);
}

function balanceLine(tenantId: number, b: { available: number; reserved: number }) {
  return `tenant ${tenantId}: ${b.available} parts available, ${b.reserved} reserved`;
}

export async function runBillingCommand({
  sub,
  values,
  pool,
  actor = 'operator-cli',
  now = new Date(),
  out,
}: {
  sub: string | undefined;
  values: Values;
  pool: Queryable;
  actor?: string;
  now?: Date;
  out: Out;
}): Promise<number> {
  switch (sub) {
    case 'credit': {
      const tenantId = tenantOf(values);
      const parts = partsOption(values, { signed: false });
      const expiresAt = expiresOption(values, now);
      const reason = typeof values.reason === 'string' ? values.reason : 'operator credit';
      const balance = await creditTenant({ db: pool, tenantId, parts, expiresAt, reason, actor, now });
      out(
        { tenant_id: tenantId, credited: parts, expires_at: expiresAt, ...balance },
        `${parts} parts credited, expiring ${expiresAt.toISOString()}\n${balanceLine(tenantId, balance)}`,
      );
      return 0;
    }
    case 'balance': {
      const tenantId = tenantOf(values);
      const balance = await getBalance({ db: pool, tenantId });
      const lots = balance.lots.map(
        (l) =>
          `  lot ${l.id}\t${l.parts_left}/${l.parts_total}\texpires ${l.expires_at.toISOString()}\t${l.source}`,
      );
      out({ tenant_id: tenantId, ...balance }, [balanceLine(tenantId, balance), ...lots].join('\n'));
      return 0;
    }
    case 'adjust': {
      const tenantId = tenantOf(values);
      const parts = partsOption(values, { signed: true });
      if (typeof values.reason !== 'string' || values.reason.trim() === '')
        throw new BillingUsageError('--reason TEXT is required: an adjustment is audited with it');
      const expiresAt = values.expires === undefined ? undefined : expiresOption(values, now);
      const balance = await adjustBalance({
        db: pool,
        tenantId,
        parts,
        reason: values.reason,
        actor,
        now,
        ...(expiresAt ? { expiresAt } : {}),
      });
      out(
        { tenant_id: tenantId, adjusted: parts, ...balance },
        `adjusted by ${parts > 0 ? '+' : ''}${parts}\n${balanceLine(tenantId, balance)}`,
      );
      return 0;
    }
    case 'reconcile': {
      const result = await reconcile({ db: pool });
      const lines = result.differences.map((d) =>
        d.kind === 'balance'
          ? `tenant ${d.tenant_id}: balance ${d.available}/${d.reserved}, ledger ${d.ledger_available}/${d.ledger_reserved}, lots ${d.lots_available}`
          : `message ${d.message_id} (tenant ${d.tenant_id}, ${d.status ?? 'missing'}): charge ${d.found}, expected ${d.expected ?? 'a message'}`,
      );
      out(
        result,
        [
          result.consistent
            ? `consistent: ${result.tenants_checked} balances, ${result.messages_checked} charged messages`
            : `NOT consistent: ${result.differences.length}${result.truncated ? '+' : ''} differences`,
          ...lines,
        ].join('\n'),
      );
      return result.consistent ? 0 : 1;
    }
    default:
      throw new BillingUsageError(`unknown command "billing ${sub ?? ''}"; see hongyan --help`);
  }
}
