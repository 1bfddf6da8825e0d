// `hongyan smpp-account create|list|disable`, called by the operator CLI (src/app/operator-cli.ts)
// with an open database.
import type pg from 'pg';
import { createSmppAccountsRepository } from './smpp-accounts.repository.ts';
import {
  createSmppAccount,
  disableSmppAccount,
  listSmppAccounts,
  type SmppAccountView,
} from './smpp-accounts.usecases.ts';

type Values = Record<string, string | boolean | undefined>;
type Out = (value: unknown, human: string) => void;

export class SmppAccountUsageError extends Error {}

function wholeNumber(value: string | boolean | undefined, name: string): number {
  if (typeof value !== 'string' || !/^\d+$/.test(value))
    throw new SmppAccountUsageError(`${name} must be a whole number`);
  return Number(value);
}

function list(value: string | boolean | undefined): string[] {
  return typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : [];
}

function accountLine(a: SmppAccountView): string {
  const state = a.disabled_at ? `disabled ${a.disabled_at}` : `last bind ${a.last_bind_at ?? 'never'}`;
  return `${a.id}\t${a.system_id}\twindow ${a.window}\t${a.tps} msg/s\t${a.allow.join(',') || 'any address'}\t${state}`;
}

export async function runSmppAccountCommand({
  sub,
  rest,
  values,
  pool,
  now = new Date(),
  out,
}: {
  sub: string | undefined;
  rest: string[];
  values: Values;
  pool: pg.Pool;
  now?: Date;
  out: Out;
}): Promise<number> {
  const repository = createSmppAccountsRepository(pool);
  const tenantId = wholeNumber(values.tenant, '--tenant');
  switch (sub) {
    case 'create': {
      const { account, password } = await createSmppAccount({
        tenantId,
        systemId: typeof values['system-id'] === 'string' ? values['system-id'] : undefined,
        allow: list(values.allow),
        ...(values.window === undefined ? {} : { windowSize: wholeNumber(values.window, '--window') }),
        ...(values.tps === undefined ? {} : { maxTps: wholeNumber(values.tps, '--tps') }),
        repository,
      });
      out(
        { account, system_id: account.system_id, password },
        `SMPP account ${account.id} for tenant ${tenantId}\nsystem_id: ${account.system_id}\npassword:  ${password} (shown once)`,
      );
      return 0;
    }
    case 'list': {
      const views = await listSmppAccounts({ tenantId, repository });
      out(views, views.map(accountLine).join('\n') || '(no SMPP accounts)');
      return 0;
    }
    case 'disable': {
      const view = await disableSmppAccount({
        tenantId,
        id: wholeNumber(rest[0], 'smpp-account disable ID'),
        repository,
        now,
      });
      out(
        view,
        `SMPP account ${view.id} (${view.system_id}) disabled; its bound sessions close within seconds`,
      );
      return 0;
    }
    default:
      throw new SmppAccountUsageError('smpp-account needs create, list or disable');
  }
}
