import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { databaseUrl } from '../../test/helpers/db.ts';
import { listMigrations, migrate, pendingMigrations } from './migrate.ts';

describe('migrate', () => {
  it('applies every migration once when two nodes start at the same moment', async () => {
    const adminUrl = inject('pgAdminUrl');
    const parentPid = inject('pgTemplate').split('_')[2];
    const name = `hy_test_${parentPid}_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const a = new pg.Pool({ connectionString: databaseUrl(adminUrl, name), max: 2 });
    const b = new pg.Pool({ connectionString: databaseUrl(adminUrl, name), max: 2 });
    // pool.end() can resolve while a client is still closing; the forced drop below then ends that
    // connection, and a pool without an error listener would throw it as an uncaught exception.
    for (const pool of [a, b]) pool.on('error', () => {});
    try {
      expect(await pendingMigrations(a)).toBe(listMigrations().length);
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      expect([...ra, ...rb].sort((x, y) => x - y)).toEqual(listMigrations().map((m) => m.version));
      expect(await pendingMigrations(b)).toBe(0);
      const rows = await a.query('select count(*)::int as n from hongyan_migrations');
      expect(rows.rows[0].n).toBe(listMigrations().length);
    } finally {
      await a.end();
      await b.end();
      await admin.query(`drop database ${name} with (force)`);
      await admin.end();
    }
  });
});
