// Planner statistics kept up with a growing table, without waiting for autovacuum.
//
// Why (issue 6, where the time of a single send went): the hot statements are prepared, and after
// five runs PostgreSQL may keep a generic plan built from the table's statistics at that moment.
// On a fresh install `messages` is empty then, so receipt matching was planned as a nested loop
// over a sequential scan of `messages` — fine for 10 rows, 2 million rows read per call at 12,000
// messages (8.2 s of 17 s of PostgreSQL CPU in a 10,000-message run of bench/singles-cpu.ts); the
// claim and the receipt update had the same kind of plan. Such a plan is only replaced when the
// table's statistics change (ANALYZE invalidates the cached plans that use it). Autovacuum analyzes
// a table once 10 % of it changed, but looks at most once a minute per database, and not at all
// when an operator turned it off on a shared server; a benchmark, a test or the first minutes of a
// new install run whole on the empty table's plans.
//
// So the worker looks every few seconds at the change counters of this schema's tables and
// analyzes each table that has changed more rows than it held at its last analysis (or 1,000
// rows, if it was small or never analyzed): about each doubling while a table grows, rarely once
// it is large (where autovacuum's 10 % rule takes over). ANALYZE reads a sample (30,000 rows at
// the default statistics target), not the table. Each runs with a short lock timeout: a table
// being vacuumed or analyzed by someone else is skipped until the next look.
import type pg from 'pg';

/** How often the worker looks at the change counters. */
export const STATISTICS_INTERVAL_MS = 5_000;

/** A table is analyzed once it has changed more than this many rows, or more rows than it held. */
export const MIN_CHANGED_ROWS = 1_000;

/** How long ANALYZE waits for its lock before the table is left for the next look. */
const LOCK_TIMEOUT_MS = 200;

/** The tables of the current schema due an ANALYZE (see the header), most changed first. */
export async function tablesDueAnalyze(db: Pick<pg.Pool, 'query'>, minChanged = MIN_CHANGED_ROWS) {
  const result = await db.query<{ relname: string }>(
    `select s.relname
       from pg_stat_user_tables s join pg_class c on c.oid = s.relid
      where s.schemaname = current_schema()
        and s.n_mod_since_analyze > greatest($1::float8, c.reltuples)
      order by s.n_mod_since_analyze desc`,
    [minChanged],
  );
  return result.rows.map((r) => r.relname);
}

/**
 * Analyzes the tables due it (tablesDueAnalyze), each in its own short transaction; a table whose
 * lock is not granted within LOCK_TIMEOUT_MS is skipped. Returns the tables analyzed.
 */
export async function analyzeGrownTables(pool: pg.Pool, minChanged = MIN_CHANGED_ROWS): Promise<string[]> {
  const due = await tablesDueAnalyze(pool, minChanged);
  const analyzed: string[] = [];
  for (const table of due) {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query(`set local lock_timeout = ${LOCK_TIMEOUT_MS}`);
      await client.query(`analyze ${client.escapeIdentifier(table)}`);
      await client.query('commit');
      analyzed.push(table);
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      // 55P03 lock_not_available: vacuumed or analyzed by someone else right now; next look.
      if ((error as { code?: string }).code !== '55P03') throw error;
    } finally {
      client.release();
    }
  }
  return analyzed;
}
