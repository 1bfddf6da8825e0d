// The frequency caps' statements and their keys: lock buckets as every version of the process
// computes them, the group's keys, and the counts per (tenant, recipient, type) key on a real
// PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import {
  bucketOf,
  CapKeys,
  countRecentSends,
  parseIntArray,
  findAllowlisted,
  findListHits,
  keyOf,
  lockRecipients,
  RECIPIENT_LOCK_BUCKETS,
  textArray,
  UNCOUNTED_STATUSES,
} from './protection.sql.ts';

describe('recipient lock buckets', () => {
  it('are the buckets of keyOf(tenant, phone), each once and ascending', async () => {
    const phones = new Map<number, string[]>([
      [1, Array.from({ length: 3000 }, (_, i) => `+86139${String(i).padStart(8, '0')}`)],
      [42, ['+8613900000001', '+8613900000002', '+447700900123']],
      [1234567, ['+8613900000001']],
    ]);
    const sent: unknown[][] = [];
    await lockRecipients(
      {
        query: (async (_sql: string, params: unknown[]) => {
          sent.push(params);
          return { rows: [] };
        }) as never,
      },
      phones,
    );
    const expected = new Set<number>();
    for (const [tenantId, numbers] of phones)
      for (const p of numbers) expected.add(bucketOf(keyOf(tenantId, p)));
    expect(sent).toHaveLength(1);
    expect(sent[0]![0]).toEqual([...expected].sort((a, b) => a - b));
    for (const b of sent[0]![0] as number[]) expect(b).toBeLessThan(RECIPIENT_LOCK_BUCKETS);
  });

  it('sends nothing for no recipient', async () => {
    let calls = 0;
    await lockRecipients({ query: (async () => ++calls) as never }, new Map());
    expect(calls).toBe(0);
  });
});

describe('cap keys', () => {
  it('number each (tenant, type, recipient) once, in order of first appearance', () => {
    const keys = new CapKeys();
    expect(keys.add(7, 'marketing', '+8613900000001')).toBe(0);
    expect(keys.add(7, 'notification', '+8613900000001')).toBe(1);
    expect(keys.add(8, 'marketing', '+8613900000001')).toBe(2);
    expect(keys.add(7, 'marketing', '+8613900000001')).toBe(0);
    expect(keys.add(7, 'marketing', '+8613900000002')).toBe(3);
    expect(keys.size).toBe(4);
    expect(keys.find(7, 'notification', '+8613900000001')).toBe(1);
    expect(keys.find(8, 'notification', '+8613900000001')).toBeUndefined();
    expect(keys.tenants()).toEqual([7, 8]);
    expect(keys.types()).toEqual(['marketing', 'notification']);
    expect(keys.phones()).toEqual(['+8613900000001', '+8613900000002']);
    const byTenant = [...keys.phonesByTenant()].map(([tenantId, phones]) => [tenantId, new Set(phones)]);
    expect(new Map(byTenant as [number, Set<string>][])).toEqual(
      new Map([
        [7, new Set(['+8613900000001', '+8613900000002'])],
        [8, new Set(['+8613900000001'])],
      ]),
    );
  });
});

describe('cap keys of a batch (one tenant, one type)', () => {
  it('list each recipient once, for the count and for the locks', () => {
    const keys = new CapKeys();
    for (const phone of ['+8613900000003', '+8613900000001', '+8613900000003', '+8613900000002'])
      keys.add(9, 'notification', phone);
    expect(keys.size).toBe(3);
    expect(keys.phones()).toEqual(['+8613900000003', '+8613900000001', '+8613900000002']);
    expect([...keys.phonesByTenant().get(9)!]).toEqual([
      '+8613900000003',
      '+8613900000001',
      '+8613900000002',
    ]);
    expect(keys.find(9, 'notification', '+8613900000002')).toBe(2);
  });
});

describe('parseIntArray', () => {
  it('reads PostgreSQL’s text of an integer array as split(",").map(Number) would', () => {
    for (const text of ['{3,10,1}', '{0}', '{}', '{123456789,7}', '{-1,2}', '{NULL,2}'])
      expect(parseIntArray(text), text).toEqual(
        text === '{}' ? [] : text.slice(1, -1).split(',').map(Number),
      );
  });
});

describe('textArray', () => {
  let t: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.drop();
  });

  it('is read by PostgreSQL as the same array, whatever the elements hold', async () => {
    const cases = [
      [],
      ['+8613900000001', '+8613900000001', '+447700900123'],
      ['NULL', 'null', '', ' ', 'a,b', '{x}', 'say "hi"', 'back\\slash', '\\"', '号码', 'tab\there'],
    ];
    for (const values of cases) {
      const { rows } = await t.db.pool.query<{ a: string[] }>('select $1::text[] as a', [textArray(values)]);
      expect(rows[0]!.a).toEqual(values);
    }
  });
});

describe('countRecentSends', () => {
  let t: Awaited<ReturnType<typeof createTestDatabase>>;
  const now = new Date('2026-03-02T04:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);

  beforeAll(async () => {
    t = await createTestDatabase();
    const rows: [number, string, string, string, Date][] = [
      // Tenant 1, +8613900000001, marketing: one in the minute, one more in the hour, one more in the day.
      [1, '+8613900000001', 'marketing', 'queued', ago(30_000)],
      [1, '+8613900000001', 'marketing', 'delivered', ago(30 * 60_000)],
      [1, '+8613900000001', 'marketing', 'failed', ago(20 * 3_600_000)],
      // After `now`: a request that read its clock later and committed first; it counts in
      // every window (migration 0042).
      [1, '+8613900000001', 'marketing', 'queued', new Date(now.getTime() + 1000)],
      // Outside the day, refused, canceled: none counts.
      [1, '+8613900000001', 'marketing', 'delivered', ago(25 * 3_600_000)],
      [1, '+8613900000001', 'marketing', UNCOUNTED_STATUSES[0], ago(10_000)],
      [1, '+8613900000001', 'marketing', UNCOUNTED_STATUSES[1], ago(10_000)],
      // Same number, another type and another tenant: their own keys.
      [1, '+8613900000001', 'notification', 'sent', ago(5 * 60_000)],
      [2, '+8613900000001', 'marketing', 'sent', ago(2 * 3_600_000)],
      [2, '+8613900000001', 'marketing', 'sent', ago(3 * 3_600_000)],
    ];
    for (const [tenantId, recipient, type, status, createdAt] of rows) {
      await t.db.pool.query(
        `insert into messages (tenant_id, type, priority, recipient, content, encoding, parts, status, created_at)
         values ($1, $2, 5, $3, 'x', 'gsm7', 1, $4, $5)`,
        [tenantId, type, recipient, status, createdAt],
      );
    }
  });
  afterAll(async () => {
    await t.drop();
  });

  it('counts each key in each window, and leaves out keys with none', async () => {
    const keys = new CapKeys();
    keys.add(1, 'marketing', '+8613900000001');
    keys.add(1, 'notification', '+8613900000001');
    keys.add(2, 'marketing', '+8613900000001');
    keys.add(2, 'notification', '+8613900000001');
    keys.add(1, 'marketing', '+8613900000002');
    const counted = await countRecentSends(t.db.pool, { keys, now, firstId: 0 });
    const byKey = counted.key.map((k, j) => [k, counted.minute[j], counted.hour[j], counted.day[j]]);
    expect(byKey.sort((a, b) => a[0]! - b[0]!)).toEqual([
      [0, 2, 3, 4],
      [1, 0, 1, 1],
      [2, 0, 0, 2],
    ]);
  });

  it('counts a batch’s keys (one tenant, one type) by recipient alone, the same', async () => {
    const keys = new CapKeys();
    keys.add(2, 'marketing', '+8613900000002');
    keys.add(2, 'marketing', '+8613900000001');
    const counted = await countRecentSends(t.db.pool, { keys, now, firstId: 0 });
    expect(counted).toEqual({ key: [1], minute: [0], hour: [0], day: [2] });
  });

  it('counts nothing below firstId', async () => {
    const keys = new CapKeys();
    keys.add(1, 'marketing', '+8613900000001');
    const max = await t.db.pool.query<{ id: string }>('select max(id) as id from messages');
    const counted = await countRecentSends(t.db.pool, { keys, now, firstId: Number(max.rows[0]!.id) + 1 });
    expect(counted).toEqual({ key: [], minute: [], hour: [], day: [] });
  });

  it('turns sorts off for its statement alone: the transaction keeps its own setting', async () => {
    const keys = new CapKeys();
    keys.add(1, 'marketing', '+8613900000001');
    const client = await t.db.pool.connect();
    try {
      for (const setting of ['on', 'off']) {
        await client.query('begin');
        await client.query(`set local enable_sort = ${setting}`);
        const counted = await countRecentSends(client, { keys, now, firstId: 0 });
        expect(counted.day).toEqual([4]);
        const after = await client.query<{ v: string }>(`select current_setting('enable_sort') as v`);
        expect(after.rows[0]!.v).toBe(setting);
        await client.query('rollback');
      }
    } finally {
      client.release();
    }
  });
});

describe('list look-ups', () => {
  let t: Awaited<ReturnType<typeof createTestDatabase>>;
  let tenant: number;
  const listed = (i: number) => `+86137${String(i * 7).padStart(8, '0')}`;

  beforeAll(async () => {
    t = await createTestDatabase();
    tenant = (
      await t.db.pool.query<{ id: number }>(`insert into tenants (name) values ('lists') returning id`)
    ).rows[0]!.id;
    // Small lists, as most tenants have: the planner would scan them rather than use their index.
    await t.db.pool.query(
      `insert into tenant_blacklist (tenant_id, phone, reason, created_at)
       select $1, '+86137' || lpad((i * 7)::text, 8, '0'), 'complaint', now() from generate_series(1, 300) i`,
      [tenant],
    );
    await t.db.pool.query(
      `insert into tenant_allowlist (tenant_id, phone, created_at)
       select $1, '+86137' || lpad((i * 7)::text, 8, '0'), now() from generate_series(1, 300) i`,
      [tenant],
    );
    await t.db.pool.query(
      `insert into platform_blacklist (phone, reason, created_at) values ($1, 'complaint', now())`,
      [listed(1)],
    );
    await t.db.pool.query(
      `insert into opt_outs (tenant_id, phone, source, created_at) values ($1, $2, 'api', now())`,
      [tenant, listed(2)],
    );
    await t.db.pool.query('analyze tenant_blacklist, tenant_allowlist, platform_blacklist, opt_outs');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('probe every list by its index whatever its size, and find each hit', async () => {
    // 3,000 numbers, every seventh of the first 2,100 listed: a scan of a small list compared
    // each of its rows with each number (218 ms for 1,000 rows against 10,000 numbers).
    const phones = Array.from({ length: 3000 }, (_, i) => `+86137${String(i).padStart(8, '0')}`);
    const client = await t.db.pool.connect();
    const plans: string[] = [];
    const onNotice = (notice: { message?: string }) => plans.push(notice.message ?? '');
    client.on('notice', onNotice);
    try {
      await client.query(`load 'auto_explain'`);
      await client.query(`set auto_explain.log_min_duration = 0`);
      await client.query(`set auto_explain.log_nested_statements = on`);
      await client.query(`set client_min_messages = log`);
      const hits = await findListHits(client, { phones, tenantIds: [tenant] });
      const allowed = await findAllowlisted(client, { phones, tenantIds: [tenant] });
      const keys = new CapKeys();
      for (const phone of phones) keys.add(tenant, 'notification', phone);
      await countRecentSends(client, { keys, now: new Date(), firstId: 0 });
      await client.query(`set client_min_messages = notice`);
      expect(hits.get(listed(1))?.platform).toBe(true);
      expect([...(hits.get(listed(2))?.tenants.get(tenant) ?? [])].sort()).toEqual([
        'opt_out',
        'tenant_blacklist',
      ]);
      expect([...(hits.get(listed(3))?.tenants.get(tenant) ?? [])]).toEqual(['tenant_blacklist']);
      expect(hits.size).toBe(300);
      expect(allowed.get(tenant)?.size).toBe(300);
      const nested = plans.filter((p) => p.includes('Query Text:') && !p.includes('protection_'));
      expect(nested.length).toBeGreaterThanOrEqual(3);
      for (const plan of nested) {
        // Planned without the numbers' values (migration 0043): PostgreSQL 18 made a custom plan
        // per call, estimating each of a batch's 10,000 numbers (160 ms, for 2 ms of execution).
        // (PostgreSQL 18 logs the arguments' values on a line of their own.)
        const tree = plan.replace(/^Query Parameters:.*$/m, '');
        expect(tree).toMatch(/= ANY \(\$1\)/);
        expect(tree).not.toMatch(/\+86137/);
        if (plan.includes('messages m')) continue;
        expect(plan).not.toMatch(/Seq Scan/);
        expect(plan).toMatch(/Index Only Scan using (tenant_blacklist|tenant_allowlist)_pkey/);
      }
    } finally {
      client.off('notice', onNotice);
      client.release(new Error('auto_explain loaded: not for reuse'));
    }
  });
});
