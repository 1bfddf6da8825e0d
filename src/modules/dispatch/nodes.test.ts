// A node's fence (nodes.ts): alive for three quarters of nodeDeadAfterMs after the start of its
// last successful beat, by its own monotonic clock; a beat after a lapse, or after its lock was
// lost, starts a new epoch and recovers the node's claims before it is alive again.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { createNodeLiveness, listLiveNodes, NODE_LOCK_CLASS, recoverAfterLapse } from './nodes.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

describe('node fence', () => {
  it('is alive until three quarters of deadAfterMs after its last beat began, then lapses into a new epoch', async () => {
    let clock = 1_000;
    const lapses: number[] = [];
    const logged: { msg: string; epoch?: number; lockLost?: boolean; sinceAliveMs?: number }[] = [];
    const liveness = createNodeLiveness({
      pool: t.db.pool,
      node: { nodeId: 'fenced', roles: ['worker'], hostname: 'h', pid: 1 },
      logger: pino({ level: 'warn' }, { write: (line: string) => logged.push(JSON.parse(line)) }),
      deadAfterMs: 10_000,
      monotonicMs: () => clock,
      onLapse: async () => {
        // Still not alive while its claims are recovered: nothing is claimed or sent meanwhile.
        expect(liveness.alive).toBe(false);
        lapses.push(liveness.epoch);
      },
    });
    try {
      expect(liveness.alive).toBe(false);
      await liveness.beat();
      expect([liveness.alive, liveness.epoch]).toEqual([true, 0]);
      expect(await listLiveNodes(t.db.pool, { deadAfterMs: 10_000 })).toContain('fenced');
      // Beats within the window: the same epoch, alive throughout.
      clock += 7_000;
      expect(liveness.alive).toBe(true);
      await liveness.beat();
      clock += 7_400;
      expect(liveness.alive).toBe(true);
      clock += 100;
      // 7.5 s after the last beat began: peers could take it for dead 2.5 s later.
      expect(liveness.alive).toBe(false);
      // Stopped for a minute, then a beat: a new epoch, its claims recovered first.
      clock += 60_000;
      await liveness.beat();
      expect([liveness.alive, liveness.epoch, lapses]).toEqual([true, 1, [1]]);
      // Its lock connection killed (peers saw the lock free at once): not alive, and the beat that
      // takes the lock again starts another epoch, however soon.
      await t.db.pool.query(
        `select pg_terminate_backend(pid) from pg_locks
          where locktype = 'advisory' and classid::bigint = $1 and granted and pid <> pg_backend_pid()
            and database = (select oid from pg_database where datname = current_database())`,
        [NODE_LOCK_CLASS],
      );
      // The loss is seen when the connection reports it, or at the latest by the next beat's query.
      for (let i = 0; i < 100 && liveness.alive; i++) await new Promise((r) => setTimeout(r, 10));
      clock += 10;
      await liveness.beat().catch(async () => {
        expect(liveness.alive).toBe(false);
        await liveness.beat();
      });
      expect([liveness.alive, liveness.epoch, lapses]).toEqual([true, 2, [1, 2]]);
      // Each lapse says how long the node had not been alive: a minute after its fence lapsed,
      // then none (the lock was lost while the fence still held).
      const lapseLogs = logged.filter((l) => l.msg.startsWith('this node may have been taken for dead'));
      expect(
        lapseLogs.map(({ epoch, lockLost, sinceAliveMs }) => ({ epoch, lockLost, sinceAliveMs })),
      ).toEqual([
        { epoch: 1, lockLost: false, sinceAliveMs: 60_000 },
        { epoch: 2, lockLost: true, sinceAliveMs: 0 },
      ]);
    } finally {
      await liveness.close();
    }
  });

  it('stays out of its epoch while the recovery of its claims fails, and tries again at the next beat', async () => {
    let clock = 0;
    let failing = true;
    const liveness = createNodeLiveness({
      pool: t.db.pool,
      node: { nodeId: 'fenced-2', roles: ['worker'], hostname: 'h', pid: 1 },
      logger: pino({ level: 'silent' }),
      deadAfterMs: 1_000,
      monotonicMs: () => clock,
      onLapse: async () => {
        if (failing) throw new Error('database unavailable');
      },
    });
    try {
      await liveness.beat();
      clock += 5_000;
      await expect(liveness.beat()).rejects.toThrow('database unavailable');
      expect(liveness.alive).toBe(false);
      failing = false;
      await liveness.beat();
      expect(liveness.alive).toBe(true);
      // Each lapse found is an epoch: the failed recovery's and the one that succeeded.
      expect(liveness.epoch).toBe(2);
    } finally {
      await liveness.close();
    }
  });

  it('after a lapse writes the submit results it holds before it recovers its claims, waiting a bounded time', async () => {
    const order: string[] = [];
    let write!: () => void;
    const recovering = recoverAfterLapse({
      writeHeldResults: () =>
        new Promise<void>((resolve) => {
          write = () => {
            order.push('results written');
            resolve();
          };
        }),
      recoverOwnClaims: async () => {
        order.push('claims recovered');
        return 3;
      },
      waitMs: 60_000,
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    write();
    expect(await recovering).toBe(3);
    expect(order).toEqual(['results written', 'claims recovered']);
    // A recorder that cannot write holds the node back no longer than the wait (else this hangs).
    const stuck = await recoverAfterLapse({
      writeHeldResults: () => new Promise(() => {}),
      recoverOwnClaims: async () => 1,
      waitMs: 50,
    });
    expect(stuck).toBe(1);
  });
});
