// The worker's planner statistics keeper against a real PostgreSQL: a table that grew is analyzed
// (and a cached plan made while it was empty is replaced), one that did not is left alone.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase } from '../../test/helpers/db.ts';
import { analyzeGrownTables, tablesDueAnalyze } from './statistics.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

describe('planner statistics', () => {
  it('analyzes a table once it changed more rows than it held, and replaces the plan made while it was empty', async () => {
    const pool = t.db.pool;
    await pool.query('create table grown (id bigint primary key, tag text not null)');
    await pool.query('create table quiet (id bigint primary key)');
    await pool.query('insert into quiet select g from generate_series(1, 10) g');
    await pool.query('analyze grown');
    await pool.query('analyze quiet');

    // A prepared statement planned generically while `grown` was empty: a sequential scan.
    const client = await pool.connect();
    try {
      await client.query('prepare find(bigint) as select tag from grown where id = $1');
      await client.query('set plan_cache_mode = force_generic_plan');
      const plan = async () =>
        (await client.query('explain execute find(1)')).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(await plan()).toMatch(/Seq Scan on grown/);

      // The change counters reach pg_stat_user_tables when the writing backend next goes idle,
      // within about a second; one that found the statistics locked then (a busy server) waits
      // 10 s before it tries again, unless told to flush at once (PostgreSQL 15+).
      const writer = await pool.connect();
      try {
        await writer.query(`insert into grown select g, 'x' from generate_series(1, 20000) g`);
        await writer.query('select pg_stat_force_next_flush()');
      } finally {
        writer.release();
      }
      await vi.waitFor(async () => expect(await tablesDueAnalyze(pool)).toContain('grown'), {
        timeout: 30_000,
        interval: 200,
      });
      expect(await tablesDueAnalyze(pool)).not.toContain('quiet');

      const analyzed = await analyzeGrownTables(pool);
      expect(analyzed).toContain('grown');
      expect(analyzed).not.toContain('quiet');
      const { rows } = await pool.query(`select reltuples::int as n from pg_class where relname = 'grown'`);
      expect(rows[0].n).toBe(20000);
      // ANALYZE invalidated the cached plan: the same prepared statement now probes the index.
      expect(await plan()).toMatch(/Index Scan using grown_pkey/);
      // Nothing changed since: nothing is due.
      expect(await tablesDueAnalyze(pool)).not.toContain('grown');
    } finally {
      client.release();
    }
  });
});
