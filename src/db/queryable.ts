// pg's `query(text, params)` over a Kysely instance or transaction, so that the hand-written
// statements of a module (and the audit helper) run on the same connection, in the same
// transaction, as the Kysely queries around them.
import { CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';

export function queryableOf<DB>(kysely: Kysely<DB>): Pick<pg.Pool, 'query'> {
  return {
    query: async (text: string, params: unknown[] = []) => {
      const r = await kysely.executeQuery(CompiledQuery.raw(text, params));
      return { rows: r.rows, rowCount: Number(r.numAffectedRows ?? r.rows.length) };
    },
  } as unknown as Pick<pg.Pool, 'query'>;
}

/** Runs `fn` in the caller's transaction when there is one, else in a new one. */
export function inTransaction<DB, T>(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}
