// `hongyan tenant approve|reject|suspend|activate`: the same audited use case as the operator API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { runTenantStatusCommand } from './tenants.cli.ts';
import { insertPendingTenant } from './tenants.repository.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

const profile = {
  company_name: '命令行测试有限公司',
  credit_code: '91350100M000100Y43',
  contact_name: '李四',
  contact_phone: '13900139000',
  contact_email: 'cli@example.cn',
  industry: 'retail',
};

describe('tenant status commands', () => {
  it('reject needs a reason; approve, suspend and activate change the status and are audited as cli', async () => {
    const tenant = await insertPendingTenant(t.db.pool, profile, new Date());
    const outputs: unknown[] = [];
    const run = (action: 'approve' | 'reject' | 'suspend' | 'activate', reason?: string) =>
      runTenantStatusCommand({
        action,
        rest: [String(tenant.id)],
        values: reason ? { reason } : {},
        pool: t.db.pool,
        out: (v) => outputs.push(v),
      });
    expect(await run('reject')).toBe(2);
    expect(await run('approve')).toBe(0);
    expect(await run('suspend', '欠费')).toBe(0);
    expect(outputs.at(-1)).toMatchObject({ tenant: { status: 'suspended', status_reason: '欠费' } });
    expect(await run('activate')).toBe(0);
    expect(outputs.at(-1)).toMatchObject({ tenant: { status: 'active' } });
    const log = await t.db.pool.query(
      `select actor, action from audit_log where tenant_id = $1 order by id`,
      [tenant.id],
    );
    expect(log.rows).toEqual([
      { actor: 'cli', action: 'tenant.approved' },
      { actor: 'cli', action: 'tenant.suspended' },
      { actor: 'cli', action: 'tenant.activated' },
    ]);
  });

  it('refuses an approval of an active tenant with the error code', async () => {
    const tenant = await insertPendingTenant(
      t.db.pool,
      { ...profile, contact_email: 'b@example.cn' },
      new Date(),
    );
    const args = { rest: [String(tenant.id)], values: {}, pool: t.db.pool, out: () => {} };
    await runTenantStatusCommand({ action: 'approve', ...args });
    await expect(runTenantStatusCommand({ action: 'approve', ...args })).rejects.toMatchObject({
      code: 'tenants.invalid_transition',
    });
  });
});
