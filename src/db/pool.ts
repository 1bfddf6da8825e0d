import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

// bigint (int8) columns come back as strings by default; our ids fit in 2^53 for any realistic
// deployment horizon, and numbers keep JSON and arithmetic simple.
pg.types.setTypeParser(20, (v) => Number(v));

export interface Db {
  pool: pg.Pool;
  kysely: Kysely<Database>;
  close(): Promise<void>;
}

export function createDb({ connectionString, max = 20 }: { connectionString: string; max?: number }): Db {
  const pool = new pg.Pool({
    connectionString,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    // Statements issued without waiting for the previous one's answer leave at once (pg's pipeline
    // mode, https://node-postgres.com/features/pipelining) instead of queueing in the client: a
    // transaction's `begin` and its first statements, or an admission step's lock sent beside
    // another step's reads (messages/admission.ts), cost one round trip instead of one each. Code
    // that awaits each statement is unchanged. Not for cursors or COPY, which we do not use.
    pipeline: true,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {});
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    pool,
    kysely,
    async close() {
      await kysely.destroy();
    },
  };
}

/** Runs `fn` in one transaction on a client of its own: committed if it resolves, rolled back if not. */
export async function withTransaction<T>(
  pool: Pick<pg.Pool, 'connect'>,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    // Pipelined (see createDb): fn's first statements follow `begin` in the same round trip. Had
    // it failed, so would they ("current transaction is aborted"), and the error comes out here.
    const begun = client.query('begin');
    begun.catch(() => {}); // awaited below, after fn's own statements
    const result = await fn(client);
    await begun;
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
