// Where the embedded PostgreSQL keeps its cluster and its socket, and which account runs it.
//
// PostgreSQL refuses to run as root, so as root the server runs as the `postgres` account (or a
// `hongyan` system account we create). That account must be able to walk the path to the cluster:
// PostgreSQL chdir()s to its data folder by absolute path, so a folder opened by root before it
// drops privileges does not help. A clone under /root (0700) or a `mktemp -d` folder is out of its
// reach, and changing the permissions of folders outside the data folder is not ours to do. There
// the cluster moves to a folder the account can reach, /var/lib/hongyan/<id>/pg, and <data>/pg
// becomes a symbolic link to it, so that the data folder still says where its database is. The
// cluster folder records its data folder in `data-folder`, for the way back.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class EmbeddedPostgresError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EmbeddedPostgresError';
  }
}

export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

/** Where clusters of data folders the service account cannot reach are kept. */
export const RELOCATED_ROOT = '/var/lib/hongyan';
const ORIGIN_FILE = 'data-folder';

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
export function resolveRunAs(): RunAs | null {
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

/** Whether `account` can enter `dir` (every parent searchable) and, with `write`, create in it. */
export function accountReaches(dir: string, account: RunAs, { write = true } = {}): boolean {
  const test = write ? 'test -w "$0" && test -x "$0"' : 'test -x "$0"';
  const result = spawnSync('/bin/sh', ['-c', test, dir], { uid: account.uid, gid: account.gid });
  return result.status === 0;
}

function ensureDir(dir: string, owner: RunAs | null, mode: number): void {
  mkdirSync(dir, { recursive: true, mode });
  if (owner) chownSync(dir, owner.uid, owner.gid);
}

/** Unix socket paths are limited to ~107 bytes; fall back to a short folder under the temp dir. */
export function socketDirFor(dataDir: string): string {
  const preferred = path.join(dataDir, 'run');
  if (Buffer.byteLength(path.join(preferred, '.s.PGSQL.5432')) <= 100) return preferred;
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `hongyan-${hash}`);
}

/**
 * The folder name under RELOCATED_ROOT for a data folder: its path made readable (so an operator
 * listing /var/lib/hongyan sees whose cluster is whose) and a random suffix, so that a data folder
 * deleted and made again at the same path gets a new, empty cluster rather than the old one.
 */
export function relocatedName(dataDir: string, suffix: string): string {
  const readable = dataDir
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(-40)
    .replace(/^[-.]+/, '');
  return `${readable || 'data'}-${suffix}`;
}

export interface ClusterLayout {
  /** The cluster folder the server is given (-D): a path the service account can walk. */
  pgdata: string;
  /** Folder of the server's Unix socket. */
  socketDir: string;
  /** Set when the cluster lives outside the data folder, <data>/pg linking to it. */
  relocatedTo: string | null;
}

/** A relocated cluster is a link <data>/pg → <root>/<id>/pg whose <id> folder names its data folder. */
function readRelocation(link: string): string | null {
  let stat;
  try {
    stat = lstatSync(link);
  } catch {
    return null;
  }
  if (!stat.isSymbolicLink()) return null;
  const target = path.resolve(path.dirname(link), readlinkSync(link));
  if (!existsSync(path.join(path.dirname(target), ORIGIN_FILE))) {
    // A link the operator made (the cluster on another disk): followed like a folder, as before.
    return existsSync(target) ? null : missingCluster(link, target);
  }
  return target;
}

/** Anything at <data>/pg but nothing or an empty folder is a cluster (or an error to report). */
function hasCluster(link: string): boolean {
  try {
    return !lstatSync(link).isDirectory() || readdirSync(link).length > 0;
  } catch {
    return false;
  }
}

function lexists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function missingCluster(link: string, target: string): never {
  throw new EmbeddedPostgresError(
    `${link} points to ${target}, which does not exist: the embedded database is gone. ` +
      `Restore that folder from a backup, or remove ${link} to start with a new, empty database.`,
  );
}

/**
 * Finds (or, on a first start, chooses and creates) the cluster folder and the socket folder of
 * the data folder `dataDir`, owned by `runAs` when we are root.
 */
export function prepareClusterLayout(dataDir: string, runAs: RunAs | null): ClusterLayout {
  mkdirSync(dataDir, { recursive: true });
  const link = path.join(dataDir, 'pg');
  const relocated = readRelocation(link);
  if (relocated !== null) {
    if (!existsSync(relocated)) missingCluster(link, relocated);
    const socketDir = path.join(path.dirname(relocated), 'run');
    ensureDir(socketDir, runAs, 0o700);
    return { pgdata: relocated, socketDir, relocatedTo: relocated };
  }
  if (runAs && !hasCluster(link) && !accountReaches(dataDir, runAs, { write: false })) {
    // An empty folder is what a start before this rule existed left behind.
    if (existsSync(link)) rmdirSync(link);
    return relocateCluster(dataDir, runAs);
  }
  const socketDir = socketDirFor(dataDir);
  ensureDir(link, runAs, 0o700);
  ensureDir(socketDir, runAs, 0o700);
  if (runAs) {
    for (const dir of [link, socketDir]) {
      if (!accountReaches(dir, runAs)) {
        throw new EmbeddedPostgresError(
          `The "${runAs.name}" account that runs the embedded PostgreSQL cannot reach ${dir}. ` +
            'Make every parent folder searchable (chmod o+x), choose another HONGYAN_DATA_DIR, or set DATABASE_URL.',
        );
      }
    }
  }
  return { pgdata: link, socketDir, relocatedTo: null };
}

function relocateCluster(dataDir: string, runAs: RunAs): ClusterLayout {
  const realData = realpathSync(dataDir);
  const home = path.join(RELOCATED_ROOT, relocatedName(realData, randomBytes(3).toString('hex')));
  const pgdata = path.join(home, 'pg');
  const socketDir = path.join(home, 'run');
  try {
    mkdirSync(RELOCATED_ROOT, { recursive: true, mode: 0o755 });
    mkdirSync(home, { mode: 0o755 });
    writeFileSync(path.join(home, ORIGIN_FILE), `${realData}\n`);
    ensureDir(pgdata, runAs, 0o700);
    ensureDir(socketDir, runAs, 0o700);
  } catch (error) {
    throw new EmbeddedPostgresError(
      `The "${runAs.name}" account that runs the embedded PostgreSQL cannot reach ${dataDir}, and ` +
        `a cluster folder could not be made in ${RELOCATED_ROOT}. Make every parent folder of the data ` +
        'folder searchable (chmod o+x), choose another HONGYAN_DATA_DIR, or set DATABASE_URL.',
      { cause: error },
    );
  }
  if (!accountReaches(pgdata, runAs) || !accountReaches(socketDir, runAs)) {
    throw new EmbeddedPostgresError(
      `The "${runAs.name}" account cannot reach ${home}; make ${RELOCATED_ROOT} searchable, or set DATABASE_URL.`,
    );
  }
  // The link is made last: until it exists, a failed first start leaves the data folder as it was.
  symlinkSync(pgdata, path.join(dataDir, 'pg'));
  const runLink = path.join(dataDir, 'run');
  if (!lexists(runLink)) symlinkSync(socketDir, runLink); // psql "…?host=$PWD/data/run" still works
  return { pgdata, socketDir, relocatedTo: pgdata };
}
