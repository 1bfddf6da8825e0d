// Named (prepared) statements for the hot paths. node-postgres parses and plans a named statement
// once per connection and afterwards only binds and executes it; PostgreSQL may then also reuse a
// generic plan. For the claim's recursive CTE, planning took longer than executing a small claim
// (1.7 ms against 1.2 ms, EXPLAIN ANALYZE, 2026-11-30), and single sends make many small claims.
// One name per statement text: node-postgres refuses a known name with a different text.
import type pg from 'pg';

export function prepared(name: string, text: string, values: unknown[] = []): pg.QueryConfig {
  return { name, text, values };
}
