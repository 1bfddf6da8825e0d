// Content retention on a real database with a fake clock: each message's own outcome (blanked or
// kept), metadata kept, per-tenant periods, a message still in flight holding back the ones after
// it until it is final, and batches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { loginAs, newStaff, withSession } from '../accounts/accounts.testkit.ts';
import { purgeExpiredContent } from './retention.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
const DAY = 86_400_000;
const now = new Date('2026-09-01T00:00:00Z');
const daysAgo = (d: number) => new Date(now.getTime() - d * DAY);

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

async function newTenant(name: string, days: number | null) {
  const { rows } = await t.db.pool.query<{ id: string }>(
    'insert into tenants (name, content_retention_days) values ($1, $2) returning id',
    [name, days],
  );
  return Number(rows[0]!.id);
}

/** A message with its content named after it, final (done_at) or not. */
async function message(tenantId: number, name: string, status: string, doneAt: Date | null) {
  const { rows } = await t.db.pool.query<{ id: string }>(
    `insert into messages (tenant_id, type, priority, recipient, content, encoding, parts, status, done_at)
     values ($1, 'notification', 1, '+8613800138000', $2, 'ucs2', 1, $3, $4) returning id`,
    [tenantId, name, status, doneAt],
  );
  return rows[0]!.id;
}

const rowsOf = async (tenantId: number) =>
  (
    await t.db.pool.query<{ content: string; status: string; recipient: string; done_at: Date | null }>(
      'select content, status, recipient, done_at from messages where tenant_id = $1 order by id',
      [tenantId],
    )
  ).rows;

describe('content retention', () => {
  it("blanks each final message older than the tenant's period and keeps the others and all metadata", async () => {
    const tenant = await newTenant('default-period', null);
    await message(tenant, 'old-delivered', 'delivered', daysAgo(200));
    await message(tenant, 'old-failed', 'failed', daysAgo(181));
    await message(tenant, 'recent-delivered', 'delivered', daysAgo(179));
    await message(tenant, 'after-recent', 'delivered', daysAgo(300));
    const purged = await purgeExpiredContent({ db: t.db.pool, now, defaultDays: 180, batchSize: 100 });
    expect(purged).toBe(2);
    const rows = await rowsOf(tenant);
    expect(rows.map((r) => r.content)).toEqual(['', '', 'recent-delivered', 'after-recent']);
    expect(rows.map((r) => r.status)).toEqual(['delivered', 'failed', 'delivered', 'delivered']);
    expect(rows.every((r) => r.recipient === '+8613800138000' && r.done_at !== null)).toBe(true);

    // 2 days later the third is past 180 days, and the fourth, held back behind it, goes with it.
    const later = new Date(now.getTime() + 2 * DAY);
    expect(await purgeExpiredContent({ db: t.db.pool, now: later, defaultDays: 180, batchSize: 100 })).toBe(
      2,
    );
    expect((await rowsOf(tenant)).map((r) => r.content)).toEqual(['', '', '', '']);
  });

  it("uses the tenant's own period over the setting", async () => {
    const short = await newTenant('30-days', 30);
    await message(short, 'a-month-old', 'delivered', daysAgo(31));
    await message(short, 'a-week-old', 'delivered', daysAgo(7));
    await purgeExpiredContent({ db: t.db.pool, now, defaultDays: 180, batchSize: 100 });
    expect((await rowsOf(short)).map((r) => r.content)).toEqual(['', 'a-week-old']);
  });

  it('keeps a message still in flight, and the old final ones after it until it is final', async () => {
    const tenant = await newTenant('in-flight', 10);
    const stuck = await message(tenant, 'queued', 'queued', null);
    await message(tenant, 'old-after-queued', 'delivered', daysAgo(20));
    await purgeExpiredContent({ db: t.db.pool, now, defaultDays: 180, batchSize: 100 });
    expect((await rowsOf(tenant)).map((r) => r.content)).toEqual(['queued', 'old-after-queued']);
    await t.db.pool.query(`update messages set status = 'unknown', done_at = $2 where id = $1`, [
      stuck,
      daysAgo(11),
    ]);
    await purgeExpiredContent({ db: t.db.pool, now, defaultDays: 180, batchSize: 100 });
    expect((await rowsOf(tenant)).map((r) => r.content)).toEqual(['', '']);
  });

  it('works in batches: one batch of two per sweep blanks two, more batches finish the rest', async () => {
    const tenant = await newTenant('batches', 1);
    for (let i = 0; i < 5; i++) await message(tenant, `m${i}`, 'delivered', daysAgo(2));
    const one = { db: t.db.pool, now, defaultDays: 180, batchSize: 2, maxBatches: 1 };
    expect(await purgeExpiredContent(one)).toBe(2);
    expect((await rowsOf(tenant)).map((r) => r.content)).toEqual(['', '', 'm2', 'm3', 'm4']);
    expect(await purgeExpiredContent({ ...one, maxBatches: 10 })).toBe(3);
    expect((await rowsOf(tenant)).map((r) => r.content)).toEqual(['', '', '', '', '']);
  });

  it('is set per tenant by an operator (PATCH /v1/operator/tenants/:id, audited), and null returns to the setting', async () => {
    const { app } = await buildTestApp(t.db);
    try {
      const tenant = await newTenant('patched', null);
      await message(tenant, 'forty-days-old', 'delivered', daysAgo(40));
      const s = await newStaff(t.db, 'retention-admin', 'admin');
      const headers = withSession((await loginAs(app, s.username, s.password)).browser!);
      const patch = (body: object) =>
        app.inject({ method: 'PATCH', url: `/v1/operator/tenants/${tenant}`, headers, payload: body });
      const set = await patch({ content_retention_days: 30 });
      expect([set.statusCode, set.json().content_retention_days]).toEqual([200, 30]);
      expect((await patch({ content_retention_days: 0 })).statusCode).toBe(400);
      const { rows } = await t.db.pool.query(
        `select action, after from audit_log where target = $1 order by id`,
        [`tenant:${tenant}`],
      );
      expect(rows).toEqual([
        { action: 'tenant.content_retention_changed', after: { content_retention_days: 30 } },
      ]);
      await purgeExpiredContent({ db: t.db.pool, now, defaultDays: 180, batchSize: 100 });
      expect((await rowsOf(tenant)).map((r) => r.content)).toEqual(['']);
      const reset = await patch({ content_retention_days: null });
      expect(reset.json().content_retention_days).toBeNull();
    } finally {
      await app.close();
    }
  });
});
