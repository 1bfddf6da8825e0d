import { type EmbeddedServer, startEmbeddedPostgres } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import { createDb, type Db } from '../db/pool.ts';
import type { Config } from './config.ts';

export interface Database {
  db: Db;
  embedded: EmbeddedServer | null;
  connectionString: string;
  close(): Promise<void>;
}

/**
 * Connects to DATABASE_URL, or to the embedded server under the data folder (starting it when no
 * other process runs it), and applies pending migrations under the migration lock.
 */
export async function openDatabase({
  config,
  ownEmbedded,
  log = () => {},
  poolSize = config.dbPoolSize,
}: {
  config: Config;
  /** The `start` command owns the embedded server (and adopts one a crash left running). */
  ownEmbedded: boolean;
  log?: (msg: string) => void;
  poolSize?: number;
}): Promise<Database> {
  let embedded: EmbeddedServer | null = null;
  let connectionString = config.databaseUrl;
  if (connectionString === null) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, ownIfRunning: ownEmbedded, log });
    connectionString = embedded.connectionString;
  }
  const db = createDb({ connectionString, max: poolSize });
  try {
    await migrate(db.pool, log);
  } catch (error) {
    await db.close();
    await embedded?.stop();
    throw error;
  }
  return {
    db,
    embedded,
    connectionString,
    async close() {
      await db.close();
      await embedded?.stop();
    },
  };
}
