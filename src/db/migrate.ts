// Migration runner: numbered plain .sql files applied in order, each in its own transaction, under
// a session advisory lock so that two nodes starting together cannot both migrate (graphile
// worker's `migrate.ts` does the same).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
// Arbitrary constant: the advisory lock key for "migrating Hongyan's schema".
const MIGRATION_LOCK = 7_246_150_112;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}-.+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(path.join(dir, file), 'utf8'),
    }));
}

export async function migrate(pool: pg.Pool, log: (msg: string) => void = () => {}): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`create table if not exists hongyan_migrations (
      version integer primary key, name text not null, applied_at timestamptz not null default now())`);
    const done = new Set(
      (await client.query<{ version: number }>('select version from hongyan_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    for (const m of listMigrations()) {
      if (done.has(m.version)) continue;
      await client.query('begin');
      try {
        await client.query(m.sql);
        await client.query('insert into hongyan_migrations (version, name) values ($1, $2)', [
          m.version,
          m.name,
        ]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw new Error(`migration ${m.version}-${m.name} failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
      applied.push(m.version);
      log(`applied migration ${m.version}-${m.name}`);
    }
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
  return applied;
}

/** Whether every migration this build knows has been applied (for /readyz). */
export async function pendingMigrations(pool: pg.Pool): Promise<number> {
  const known = listMigrations().map((m) => m.version);
  const exists = await pool.query<{ t: string | null }>(
    "select to_regclass('hongyan_migrations')::text as t",
  );
  if (!exists.rows[0]?.t) return known.length;
  const done = new Set(
    (await pool.query<{ version: number }>('select version from hongyan_migrations')).rows.map(
      (r) => r.version,
    ),
  );
  return known.filter((v) => !done.has(v)).length;
}
