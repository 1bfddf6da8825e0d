// The audience the campaigns module expands: groups and segments of one tenant, each contact
// once, in chunks, opted-out and blacklisted contacts left out unless asked; another tenant's
// group or segment is not found. On the real migrations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { expandAudience, countAudience, recordEngagement } from './contacts.repository.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
const now = new Date('2026-11-30T00:00:00Z');
let tenantA = 0;
let tenantB = 0;

async function tenant(name: string): Promise<number> {
  const { rows } = await t.db.pool.query<{ id: number }>(
    'insert into tenants (name) values ($1) returning id',
    [name],
  );
  return rows[0]!.id;
}

async function contact(tenantId: number, phone: string, tags: string[], fields: Record<string, string> = {}) {
  const { rows } = await t.db.pool.query<{ id: number }>(
    'insert into contacts (tenant_id, phone, tags, fields) values ($1, $2, $3, $4) returning id',
    [tenantId, phone, tags, fields],
  );
  return rows[0]!.id;
}

async function collect(
  it: AsyncIterable<{ phone: string }[]>,
): Promise<{ phones: string[]; chunks: number }> {
  const phones: string[] = [];
  let chunks = 0;
  for await (const chunk of it) {
    chunks++;
    phones.push(...chunk.map((m) => m.phone));
  }
  return { phones, chunks };
}

beforeAll(async () => {
  t = await createTestDatabase();
  tenantA = await tenant('A');
  tenantB = await tenant('B');
});
afterAll(async () => {
  await t.drop();
});

describe('expandAudience', () => {
  it('yields group members and segment matches once each, in chunks, without protected phones', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 25; i++)
      ids.push(await contact(tenantA, `+86138000000${String(i).padStart(2, '0')}`, i % 2 ? ['vip'] : []));
    await contact(tenantB, '+8613800000001', ['vip']);
    const { rows } = await t.db.pool.query<{ id: number }>(
      "insert into contact_groups (tenant_id, name) values ($1, 'g') returning id",
      [tenantA],
    );
    const groupId = rows[0]!.id;
    // Group: contacts 0..9; segment: tag vip (odd ones, 12 of them) -> union 0..9 + odd 11..23 = 10 + 7.
    await t.db.pool.query(
      'insert into contact_group_members (group_id, contact_id) select $1, unnest($2::bigint[])',
      [groupId, ids.slice(0, 10)],
    );
    const seg = await t.db.pool.query<{ id: number }>(
      "insert into contact_segments (tenant_id, name, filter) values ($1, 'vip', $2) returning id",
      [tenantA, { match: 'all', conditions: [{ type: 'tag', op: 'has', value: 'vip' }] }],
    );
    const segmentId = seg.rows[0]!.id;
    await t.db.pool.query(
      "insert into opt_outs (tenant_id, phone, source, created_at) values ($1, '+8613800000003', 'api', now())",
      [tenantA],
    );
    await t.db.pool.query(
      "insert into platform_blacklist (phone, reason, created_at) values ('+8613800000004', 'other', now())",
    );

    const all = await collect(
      expandAudience(t.db.pool, tenantA, { groupIds: [groupId], segmentIds: [segmentId], chunkSize: 4, now }),
    );
    expect(all.phones).toHaveLength(15);
    expect(new Set(all.phones).size).toBe(15);
    expect(all.phones).not.toContain('+8613800000003');
    expect(all.phones).not.toContain('+8613800000004');
    expect(all.chunks).toBe(4);
    expect(
      await countAudience(t.db.pool, tenantA, { groupIds: [groupId], segmentIds: [segmentId], now }),
    ).toBe(15);

    const withProtected = await collect(
      expandAudience(t.db.pool, tenantA, {
        groupIds: [groupId],
        segmentIds: [segmentId],
        excludeProtected: false,
        now,
      }),
    );
    expect(withProtected.phones).toHaveLength(17);
  });

  it("refuses another tenant's group or segment", async () => {
    const { rows } = await t.db.pool.query<{ id: number }>(
      "insert into contact_groups (tenant_id, name) values ($1, 'other') returning id",
      [tenantB],
    );
    await expect(
      collect(expandAudience(t.db.pool, tenantA, { groupIds: [rows[0]!.id] })),
    ).rejects.toMatchObject({
      code: 'contacts.group_not_found',
    });
  });

  it('selects not-engaged contacts from last_engaged_at', async () => {
    const t2 = await tenant('C');
    await contact(t2, '+8613900000001', []);
    await contact(t2, '+8613900000002', []);
    await contact(t2, '+8613900000003', []);
    await recordEngagement(t.db.pool, [
      { tenantId: t2, phone: '+8613900000001', at: new Date(now.getTime() - 40 * 86_400_000) },
      { tenantId: t2, phone: '+8613900000002', at: new Date(now.getTime() - 2 * 86_400_000) },
    ]);
    const seg = await t.db.pool.query<{ id: number }>(
      "insert into contact_segments (tenant_id, name, filter) values ($1, 'dormant', $2) returning id",
      [t2, { match: 'all', conditions: [{ type: 'not_engaged', days: 30 }] }],
    );
    const got = await collect(expandAudience(t.db.pool, t2, { segmentIds: [seg.rows[0]!.id], now }));
    expect(got.phones.sort()).toEqual(['+8613900000001', '+8613900000003']);
  });
});
