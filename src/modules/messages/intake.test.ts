// Group commit under a bad row: PostgreSQL refusing one row must not fail the others in its group.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { createIntake, isRowDataError } from './intake.ts';
import type { NewMessageRow } from './messages.repository.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let tenantA: number;
let tenantB: number;

beforeAll(async () => {
  t = await createTestDatabase();
  const { app, ctx } = await buildTestApp(t.db);
  tenantA = (await newTenant(ctx, 'A')).tenantId;
  tenantB = (await newTenant(ctx, 'B')).tenantId;
  await app.close();
});
afterAll(async () => {
  await t.drop();
});

const row = (tenantId: number, content: string): NewMessageRow => ({
  tenantId,
  batchId: null,
  type: 'notification',
  priority: 1,
  recipient: '+8613800138000',
  content,
  encoding: 'gsm7',
  parts: 1,
  clientRef: null,
  sendAt: null,
});

/** The pool, counting statements and the rows each one carried. */
function countingPool(pool: pg.Pool) {
  const statements: number[] = [];
  const counted = {
    query: (text: string, values: unknown[][]) => {
      statements.push(values[0]!.length);
      return pool.query(text, values);
    },
  } as unknown as pg.Pool;
  return { pool: counted, statements };
}

describe('createIntake', () => {
  it("fails only the row PostgreSQL refuses; another tenant's rows in the same group are stored", async () => {
    const { pool, statements } = countingPool(t.db.pool);
    const intake = createIntake({ pool });
    const good = Array.from({ length: 31 }, (_, i) => row(tenantB, `good ${i}`));
    // Written in one tick, so all 32 share the first statement; the NUL sits in the middle.
    const results = await Promise.allSettled([
      ...good.slice(0, 16).map((r) => intake.insert(r)),
      intake.insert(row(tenantA, 'bad\u0000row')),
      ...good.slice(16).map((r) => intake.insert(r)),
    ]);
    expect(statements[0]).toBe(32);
    const bad = results[16]!;
    expect(bad.status).toBe('rejected');
    expect((bad as PromiseRejectedResult).reason.code).toBe('22021');
    const accepted = results.filter((_, i) => i !== 16);
    for (const [i, r] of accepted.entries()) {
      expect({ i, status: r.status }).toEqual({ i, status: 'fulfilled' });
    }
    const ids = accepted.map((r) => (r as PromiseFulfilledResult<{ id: number }>).value.id);
    const stored = await t.db.pool.query<{ id: number; tenant_id: number; content: string }>(
      'select id, tenant_id, content from messages where id = any($1::bigint[]) order by id',
      [ids],
    );
    // Each good request got the id of its own row.
    const byId = new Map(stored.rows.map((r) => [Number(r.id), r.content]));
    expect(ids.map((id) => byId.get(Number(id)))).toEqual(good.map((r) => r.content));
    // Halving: about 2·log2(32) extra statements, not one per row.
    expect(statements.length).toBeLessThanOrEqual(1 + 2 * Math.log2(32));
  });

  it('fails the whole group at once, with no retries, when the error is not about a row', async () => {
    const lost = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    let calls = 0;
    const pool = {
      query: async () => {
        calls++;
        throw lost;
      },
    } as unknown as pg.Pool;
    const intake = createIntake({ pool });
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => intake.insert(row(tenantB, `m${i}`))));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(calls).toBe(1);
  });
});

describe('isRowDataError', () => {
  it('is true for data exceptions, constraint violations and row limits only', () => {
    expect(isRowDataError({ code: '22021' })).toBe(true);
    expect(isRowDataError({ code: '23503' })).toBe(true);
    expect(isRowDataError({ code: '54000' })).toBe(true);
    expect(isRowDataError({ code: '57P01' })).toBe(false);
    expect(isRowDataError({ code: '57014' })).toBe(false);
    expect(isRowDataError(new Error('x'))).toBe(false);
    expect(isRowDataError(null)).toBe(false);
  });
});

describe('createIntake with a DirectClaimer', () => {
  it('writes what the grant allows claimed, adopts those rows after the commit, and reports a failed write', async () => {
    const grants: number[] = [];
    const adopted: { ids: number[]; failed: boolean | undefined }[] = [];
    const claimer = {
      reserve: (wanted: number) => {
        grants.push(wanted);
        return { nodeId: 'intake-node', room: 2, epoch: 7, sendingAt: '2026-11-30T08:00:00.000123Z' };
      },
      adopt: (_grant: unknown, rows: ReadonlyArray<{ message: { id: number } }>, failed?: boolean) =>
        adopted.push({ ids: rows.map((r) => r.message.id), failed }),
    };
    const intake = createIntake({ pool: t.db.pool, claimer: () => claimer });
    const stored = await Promise.all(
      ['d1', 'd2', 'd3'].map((content) => intake.insert(row(tenantA, content))),
    );
    expect(grants).toEqual([3]);
    expect(stored.map((m) => m.status)).toEqual(['sending', 'sending', 'queued']);
    expect(adopted).toEqual([{ ids: [stored[0]!.id, stored[1]!.id], failed: undefined }]);
    // The claimed rows carry the grant's instant, to the microsecond, and nothing else does.
    const marked = await t.db.pool.query<{ id: number }>(
      `select id from messages where sending_at = '2026-11-30T08:00:00.000123Z'::timestamptz order by id`,
    );
    expect(marked.rows.map((r) => r.id)).toEqual([stored[0]!.id, stored[1]!.id]);
    // A write that throws: its grant comes back marked failed, whatever it claimed.
    const failing = createIntake({
      pool: {
        query: async () => {
          throw Object.assign(new Error('connection lost'), { code: '08006' });
        },
      } as unknown as pg.Pool,
      claimer: () => claimer,
      now: () => new Date('2026-12-01T00:00:00Z'),
    });
    await expect(failing.insert(row(tenantB, 'lost'))).rejects.toThrow('connection lost');
    expect(adopted[1]).toEqual({ ids: [], failed: true });
  });
});

describe("createIntake's groups", () => {
  it("never starts a tenant's group while another of its groups is in flight; other tenants go beside", async () => {
    const writes: { tenants: number[]; release: () => void }[] = [];
    const pool = {
      query: (_text: string, values: unknown[][]) =>
        new Promise((resolve) => {
          const tenants = values[0] as number[];
          writes.push({
            tenants,
            release: () =>
              resolve({
                rows: tenants.map((_, i) => ({
                  id: writes.length * 100 + i,
                  status: 'queued',
                  created_at: new Date(),
                  recipient: (values[4] as string[])[i],
                })),
              }),
          });
        }),
    } as unknown as pg.Pool;
    const settle = () => new Promise((r) => setTimeout(r, 5));
    const intake = createIntake({ pool });
    const first = [intake.insert(row(1, 'a1')), intake.insert(row(1, 'a2'))];
    await settle();
    // Tenant 1's group is in flight: its next rows wait, tenant 2's go in a group beside it.
    const second = [intake.insert(row(1, 'a3')), intake.insert(row(2, 'b1')), intake.insert(row(1, 'a4'))];
    await settle();
    expect(writes.map((w) => w.tenants)).toEqual([[1, 1], [2]]);
    writes[0]!.release();
    await Promise.all(first);
    await settle();
    // Tenant 1's waiting rows, together, once its first group committed.
    expect(writes.map((w) => w.tenants)).toEqual([[1, 1], [2], [1, 1]]);
    writes[1]!.release();
    writes[2]!.release();
    await Promise.all(second);
  });
});
