// `hongyan tenant approve|reject|suspend|activate ID [--reason R]`: the review and suspension
// decisions for scripting, through the same use case (and audit) as the operator API.
import type pg from 'pg';
import type { TenantAction } from './tenants.models.ts';
import { changeTenantStatus } from './tenants.usecases.ts';

export async function runTenantStatusCommand({
  action,
  rest,
  values,
  pool,
  out,
  now = new Date(),
}: {
  action: TenantAction;
  rest: string[];
  values: Record<string, string | boolean | undefined>;
  pool: pg.Pool;
  out: (value: unknown, human: string) => void;
  now?: Date;
}): Promise<number> {
  const id = rest[0];
  const reason = typeof values.reason === 'string' && values.reason !== '' ? values.reason : null;
  if (id === undefined || !/^[1-9]\d{0,15}$/.test(id)) {
    console.error(`usage: hongyan tenant ${action} TENANT_ID${action === 'reject' ? ' --reason TEXT' : ''}`);
    return 2;
  }
  if (action === 'reject' && reason === null) {
    console.error('--reason is required: the tenant sees it');
    return 2;
  }
  const tenant = await changeTenantStatus({
    db: pool,
    tenantId: Number(id),
    action,
    reason,
    by: { actor: 'cli', ip: null },
    now,
  });
  out(
    {
      tenant: {
        id: Number(tenant.id),
        name: tenant.name,
        status: tenant.status,
        status_reason: tenant.status_reason,
      },
    },
    `tenant ${tenant.id} "${tenant.name}" is ${tenant.status}${reason ? ` (${reason})` : ''}`,
  );
  return 0;
}
