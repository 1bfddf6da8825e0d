// A contact import of a large CSV, end to end in one process: the multipart upload through
// Fastify's inject (stored in the database in 1 MiB pieces), then the import worker reading it
// back, normalising every number and committing contacts, error rows and progress chunk by chunk.
// Prints the upload time, rows/s of the import, and the process's peak RSS (the file is streamed:
// memory should not grow with the row count).
//
//   npm run bench -- --contacts-import [--messages ROWS]     (default 1,000,000 rows)
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/contacts-import.ts
//
// DATABASE_URL names a server where a bench database may be created (dropped at the end).
// 1 % of the rows are invalid numbers and 1 % repeat an earlier number.
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { CountryCode } from 'libphonenumber-js/max';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/app/config.ts';
import { createContext } from '../src/app/context.ts';
import { migrate } from '../src/db/migrate.ts';
import { createDb } from '../src/db/pool.ts';
import { buildHttpServer } from '../src/http/server.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { createImportWorker } from '../src/modules/contacts/imports.worker.ts';

function csvOf(rows: number): Buffer {
  const lines = ['手机号,姓名,城市,等级'];
  const cities = ['上海', '北京', '广州', '深圳', '杭州'];
  for (let i = 0; i < rows; i++) {
    const phone =
      i % 100 === 99
        ? `12${i}`
        : i % 100 === 98
          ? `1390${String(i - 1).padStart(7, '0')}`
          : `1390${String(i).padStart(7, '0')}`;
    lines.push(`${phone},客户${i},${cities[i % 5]},${i % 3}`);
  }
  return Buffer.from(`\uFEFF${lines.join('\r\n')}\r\n`);
}

function multipart(file: Buffer) {
  const boundary = `----bench${randomBytes(8).toString('hex')}`;
  return {
    payload: Buffer.concat([
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="bench.csv"\r\ncontent-type: text/csv\r\n\r\n`,
      ),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

export async function runContactsImportBench({ rows = 1_000_000 }: { rows?: number } = {}): Promise<void> {
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `hy_bench_contacts_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = createDb({ connectionString: url.toString(), max: 10 });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  try {
    await migrate(db.pool);
    const config = loadConfig({ env: { HONGYAN_LOG_LEVEL: 'silent' }, configFile: null });
    const ctx = createContext({ config, db, logger: pino({ level: 'silent' }) });
    const app = await buildHttpServer(ctx);
    const { apiKey } = await createTenant({ name: 'bench contacts', repository: ctx.accounts });
    let file: Buffer | null = csvOf(rows);
    const fileMb = file.length / 1024 / 1024;
    const body = multipart(file);
    file = null;
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/contacts/imports',
      headers: { authorization: `Bearer ${apiKey.key}`, ...body.headers },
      payload: body.payload,
    });
    const uploadMs = performance.now() - t0;
    if (res.statusCode !== 202) throw new Error(`upload refused: ${res.statusCode} ${res.body}`);
    const id = Number(res.json().id);
    peakRss = process.memoryUsage().rss;
    const worker = createImportWorker({
      pool: db.pool,
      nodeId: 'bench',
      now: () => new Date(),
      settings: {
        leaseMs: config.contactsImportLeaseSeconds * 1000,
        chunkRows: config.contactsImportChunkRows,
        maxRows: Math.max(rows, config.contactsImportMaxRows),
        defaultRegion: config.defaultRegion as CountryCode,
      },
      logger: { info: () => {}, warn: () => {}, error: () => {} },
    });
    const t1 = performance.now();
    await worker.runOnce();
    const importMs = performance.now() - t1;
    const { rows: jobRows } = await db.pool.query('select * from contact_imports where id = $1', [id]);
    const job = jobRows[0];
    console.log(
      `contacts import: ${rows.toLocaleString('en')} rows, ${fileMb.toFixed(1)} MB CSV (UTF-8 with BOM)`,
    );
    console.log(`  upload (multipart, stored in 1 MiB pieces): ${(uploadMs / 1000).toFixed(1)} s`);
    console.log(
      `  import: ${(importMs / 1000).toFixed(1)} s, ${Math.round((rows * 1000) / importMs).toLocaleString('en')} rows/s` +
        ` (state ${job.state}: accepted ${job.accepted}, invalid ${job.invalid}, duplicates ${job.duplicates})`,
    );
    console.log(
      `  peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MB during the import (${(rssBefore / 1024 / 1024).toFixed(0)} MB after building the request body)`,
    );
    await app.close();
  } finally {
    clearInterval(sampler);
    await db.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runContactsImportBench({ rows: Number(process.env.BENCH_ROWS ?? 1_000_000) });
}
