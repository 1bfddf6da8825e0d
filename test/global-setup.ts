// One PostgreSQL for the whole run: DATABASE_URL when set (CI runs both ways), else an embedded
// server in a temporary folder. The real migrations are applied once to a template database;
// each test file then clones its own database from it (graphile worker's test helpers do this).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { type EmbeddedServer, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export default async function setup(project: TestProject) {
  let embedded: EmbeddedServer | null = null;
  let tmp: string | null = null;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hy-'));
    // The account that runs PostgreSQL when we are root must be able to enter the folder.
    chmodSync(tmp, 0o755);
    embedded = await startEmbeddedPostgres({ dataDir: tmp });
    adminUrl = embedded.adminConnectionString;
  }
  const template = `hongyan_tpl_${process.pid}_${Date.now().toString(36)}`;
  try {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${template}`);
    await admin.end();
    const pool = new pg.Pool({ connectionString: withDatabase(adminUrl, template), max: 1 });
    await migrate(pool);
    await pool.end();
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', template);

  return async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    const dbs = await client.query<{ datname: string }>(
      `select datname from pg_database where datname like $1 or datname = $2`,
      [`hy_test_${process.pid}_%`, template],
    );
    for (const { datname } of dbs.rows) {
      await client.query(`drop database if exists ${datname} with (force)`).catch(() => {});
    }
    await client.end();
    await embedded?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  };
}
