// Contact imports through the HTTP API (multipart uploads via inject) and the import worker:
// CSV (UTF-8 with BOM, GBK detected) and XLSX, invalid and duplicate rows counted exactly and
// listed in the error file, progress readable while a job runs, a job resumed after its worker was
// killed mid-way (no duplicates, exact counts), bad files refused with nothing stored, the
// template, and tenant isolation.
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSettingsOf } from '../src/modules/contacts/contacts.start.ts';
import { createImportWorker, type ImportWorkerDeps } from '../src/modules/contacts/imports.worker.ts';
import { buildTestApp, newTenant } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let a: Awaited<ReturnType<typeof newTenant>>;
let b: Awaited<ReturnType<typeof newTenant>>;
let now = new Date('2026-11-30T08:00:00Z');
const clock = { now: () => now };
const MAX_BYTES = 2 * 1024 * 1024;
const silent = { info: () => {}, warn: () => {}, error: () => {} };

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, {
    clock,
    env: { HONGYAN_CONTACTS_IMPORT_MAX_BYTES: String(MAX_BYTES), HONGYAN_CONTACTS_IMPORT_CHUNK_ROWS: '50' },
  }));
  a = await newTenant(ctx, 'Imports A');
  b = await newTenant(ctx, 'Imports B');
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

function worker(overrides: Partial<ImportWorkerDeps> = {}) {
  return createImportWorker({
    pool: t.db.pool,
    nodeId: 'node-a',
    now: clock.now,
    settings: importSettingsOf(ctx.config),
    logger: silent,
    ...overrides,
  });
}

/** A multipart/form-data body: text fields and one file. */
function multipart(fields: Record<string, string>, file?: { name: string; content: Buffer; type?: string }) {
  const boundary = `----hongyan${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    chunks.push(
      Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
    );
  }
  if (file) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${file.name}"\r\ncontent-type: ${file.type ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      file.content,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

async function upload(
  fields: Record<string, string>,
  file?: { name: string; content: Buffer },
  who: { auth: Record<string, string> } = a,
) {
  const body = multipart(fields, file);
  return app.inject({
    method: 'POST',
    url: '/v1/contacts/imports',
    headers: { ...who.auth, ...body.headers },
    payload: body.payload,
  });
}

const get = (url: string, who: { auth: Record<string, string> } = a) =>
  app.inject({ method: 'GET', url, headers: who.auth });

async function runToEnd(w = worker()) {
  while (await w.runOnce());
}

async function storedChunks(): Promise<number> {
  const { rows } = await t.db.pool.query<{ n: number }>(
    'select count(*)::int as n from contact_import_chunks',
  );
  return rows[0]!.n;
}

describe('contact imports', () => {
  it('imports a UTF-8 CSV with BOM into a group: invalid and duplicate rows counted and listed row by row', async () => {
    const group = await app.inject({
      method: 'POST',
      url: '/v1/contacts/groups',
      headers: a.auth,
      payload: { name: 'csv' },
    });
    const csv = [
      '手机号,姓名,城市,标签',
      '13800000001,张三,上海,vip',
      '+86 138-0000-0002,李四,北京,"vip,new"',
      '12345,坏号,广州,',
      '8613800000001,张三又来,上海,',
      ',没号码,深圳,',
      '13800000003,王五,"杭州, 西湖",',
      'abc,字母,上海,',
      '138 0000 0002,重复,北京,',
    ].join('\r\n');
    const res = await upload(
      {
        mapping: JSON.stringify({ fields: { city: '城市' }, add_tags: ['imported'] }),
        group_id: group.json().id,
      },
      { name: 'contacts.csv', content: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv)]) },
    );
    expect(res.statusCode, res.body).toBe(202);
    const job = res.json();
    expect(job).toMatchObject({ state: 'running', rows_read: 0, format: 'csv' });

    await runToEnd();
    const done = (await get(`/v1/contacts/imports/${job.id}`)).json();
    expect(done).toMatchObject({
      state: 'completed',
      rows_read: 8,
      accepted: 3,
      invalid: 3,
      duplicates: 2,
      percent: 100,
    });

    const contacts = (await get(`/v1/contacts?group_id=${group.json().id}`)).json().data;
    expect(contacts.map((c: { phone: string }) => c.phone)).toEqual([
      '+8613800000001',
      '+8613800000002',
      '+8613800000003',
    ]);
    expect(contacts[0]).toMatchObject({ name: '张三', fields: { city: '上海' }, tags: ['vip', 'imported'] });
    expect(contacts[1].tags).toEqual(['vip', 'new', 'imported']);
    expect(contacts[2].fields.city).toBe('杭州, 西湖');

    const errors = await get(`/v1/contacts/imports/${job.id}/errors`);
    expect(errors.statusCode).toBe(200);
    const lines = errors.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).toBe('row,phone,reason,detail');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual([
      '4,12345,invalid',
      '5,+8613800000001,duplicate',
      '6,,missing_phone',
      '8,abc,invalid',
      '9,+8613800000002,duplicate',
    ]);
    expect(await storedChunks()).toBe(0);
  });

  it('reads a GBK CSV (detected) with its Chinese intact', async () => {
    // 手机号,姓名 / 13900000001,张三 / 13900000002,李四 in GBK.
    const gbk = Buffer.concat([
      Buffer.from([0xca, 0xd6, 0xbb, 0xfa, 0xba, 0xc5, 0x2c, 0xd0, 0xd5, 0xc3, 0xfb]),
      Buffer.from('\n13900000001,'),
      Buffer.from([0xd5, 0xc5, 0xc8, 0xfd]),
      Buffer.from('\n13900000002,'),
      Buffer.from([0xc0, 0xee, 0xcb, 0xc4]),
      Buffer.from('\n'),
    ]);
    expect(new TextDecoder('gbk').decode(gbk)).toBe('手机号,姓名\n13900000001,张三\n13900000002,李四\n');
    const res = await upload({}, { name: 'gbk.csv', content: gbk });
    expect(res.statusCode, res.body).toBe(202);
    await runToEnd();
    expect((await get(`/v1/contacts/imports/${res.json().id}`)).json()).toMatchObject({
      state: 'completed',
      accepted: 2,
    });
    const names = (await get('/v1/contacts?phone=1390000000'))
      .json()
      .data.map((c: { name: string }) => c.name);
    expect(names).toEqual(['张三', '李四']);
  });

  it('imports XLSX with numeric phone cells, invalid and duplicate rows counted', async () => {
    const wb = new ExcelJS.Workbook();
    const sheet = wb.addWorksheet('名单');
    sheet.addRow(['Mobile', 'Name', 'Level']);
    sheet.addRow([13700000001, 'A', 'gold']);
    sheet.addRow(['13700000002', 'B', 1]);
    sheet.addRow([1370000, 'short', '']);
    sheet.addRow([13700000001, 'A twice', '']);
    sheet.addRow([{ richText: [{ text: '1370000' }, { text: '0003' }] }, 'rich', 'x']);
    const content = Buffer.from(await wb.xlsx.writeBuffer());
    const res = await upload(
      { mapping: JSON.stringify({ phone: 'Mobile', name: 'Name' }) },
      { name: 'list.xlsx', content },
    );
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().format).toBe('xlsx');
    await runToEnd();
    expect((await get(`/v1/contacts/imports/${res.json().id}`)).json()).toMatchObject({
      state: 'completed',
      rows_read: 5,
      accepted: 3,
      invalid: 1,
      duplicates: 1,
    });
    const list = (await get('/v1/contacts?phone=1370000000')).json().data;
    expect(
      list.map((c: { phone: string; fields: Record<string, string> }) => [c.phone, c.fields.Level ?? null]),
    ).toEqual([
      ['+8613700000001', 'gold'],
      ['+8613700000002', '1'],
      ['+8613700000003', 'x'],
    ]);
  });

  it('reports progress while running, and a job killed mid-way resumes on another worker with exact counts', async () => {
    // 4,000 rows (some 150 KB): every 10th row invalid, every 7th a repeat of the row before.
    const lines = ['phone,name,note'];
    const expected = { invalid: 0, duplicates: 0, accepted: 0 };
    let previous = '';
    for (let i = 0; i < 4000; i++) {
      let phone: string;
      if (i % 10 === 9) {
        phone = `99${i}`;
        expected.invalid++;
      } else if (i % 7 === 6 && previous !== '') {
        phone = previous;
        expected.duplicates++;
      } else {
        phone = `135${String(i).padStart(8, '0')}`;
        expected.accepted++;
      }
      if (!phone.startsWith('99')) previous = phone;
      lines.push(`${phone},name ${i},${'x'.repeat(20)}`);
    }
    const res = await upload({}, { name: 'big.csv', content: Buffer.from(lines.join('\n')) });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;

    let seen: { state: string; rows_read: number; percent: number } | undefined;
    const first = worker({
      nodeId: 'node-dies',
      afterChunk: async ({ rowsRead }) => {
        if (rowsRead === 1500) {
          seen = (await get(`/v1/contacts/imports/${id}`)).json();
          first.kill();
        }
      },
    });
    expect(await first.runOnce()).toBe(false);
    expect(seen).toMatchObject({ state: 'running', rows_read: 1500 });
    expect(seen!.percent).toBeGreaterThan(0);
    expect(seen!.percent).toBeLessThan(100);
    // The killed worker's lease still holds the job: another node does not take it before it runs out.
    const second = worker({ nodeId: 'node-b' });
    expect(await second.runOnce()).toBe(false);
    expect((await get(`/v1/contacts/imports/${id}`)).json()).toMatchObject({
      state: 'running',
      rows_read: 1500,
    });

    now = new Date(now.getTime() + ctx.config.contactsImportLeaseSeconds * 1000 + 1000);
    await runToEnd(second);
    const done = (await get(`/v1/contacts/imports/${id}`)).json();
    expect(done).toMatchObject({ state: 'completed', rows_read: 4000, percent: 100, ...expected });
    const { rows } = await t.db.pool.query<{ n: number }>(
      "select count(*)::int as n from contacts where tenant_id = $1 and phone like '+86135%'",
      [a.tenantId],
    );
    expect(rows[0]!.n).toBe(expected.accepted);
    const errorLines = (await get(`/v1/contacts/imports/${id}/errors`)).body.trim().split('\r\n').length - 1;
    expect(errorLines).toBe(expected.invalid + expected.duplicates);
  });

  it('refuses bad uploads with a clear 4xx and stores nothing', async () => {
    const before = (await get('/v1/contacts/imports')).json().data.length;
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
    const cases: [Awaited<ReturnType<typeof upload>>, number, string][] = [
      [await upload({}, { name: 'photo.png', content: png }), 415, 'contacts.import_file_type'],
      [
        await upload({}, { name: 'old.xls', content: Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 1, 2, 3]) }),
        415,
        'contacts.import_file_type',
      ],
      [await upload({}, { name: 'empty.csv', content: Buffer.alloc(0) }), 400, 'contacts.import_empty'],
      [
        await upload({}, { name: 'nophone.csv', content: Buffer.from('name,city\nA,B\n') }),
        400,
        'contacts.invalid_import',
      ],
      [
        await upload(
          { mapping: '{not json' },
          { name: 'a.csv', content: Buffer.from('phone\n13800000001\n') },
        ),
        400,
        'contacts.invalid_import',
      ],
      [
        await upload(
          { mapping: '{"phone":"手机"}' },
          { name: 'a.csv', content: Buffer.from('phone\n13800000001\n') },
        ),
        400,
        'contacts.invalid_import',
      ],
      [await upload({}), 400, 'contacts.invalid_import'],
      [
        await upload(
          {},
          { name: 'huge.csv', content: Buffer.from(`phone\n${'13800000001\n'.repeat(MAX_BYTES / 12 + 10)}`) },
        ),
        413,
        'contacts.import_too_large',
      ],
      [
        await upload({ encoding: 'latin1' }, { name: 'a.csv', content: Buffer.from('phone\n13800000001\n') }),
        400,
        'contacts.invalid_import',
      ],
    ];
    for (const [res, status, code] of cases) {
      expect({ status: res.statusCode, code: res.json().error?.code }).toEqual({ status, code });
    }
    const notMultipart = await app.inject({
      method: 'POST',
      url: '/v1/contacts/imports',
      headers: a.auth,
      payload: { file: 'x' },
    });
    expect(notMultipart.statusCode).toBe(400);
    expect((await get('/v1/contacts/imports')).json().data.length).toBe(before);
    expect(await storedChunks()).toBe(0);
  });

  it('an XLSX without a phone column ends failed with the reason; nothing imported', async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('s').addRow(['name', 'city']);
    wb.getWorksheet('s')!.addRow(['A', 'B']);
    const res = await upload({}, { name: 'x.xlsx', content: Buffer.from(await wb.xlsx.writeBuffer()) });
    expect(res.statusCode, res.body).toBe(202);
    await runToEnd();
    const job = (await get(`/v1/contacts/imports/${res.json().id}`)).json();
    expect(job).toMatchObject({ state: 'failed', rows_read: 0, accepted: 0 });
    expect(job.failure_reason).toContain('no phone column');

    const broken = await upload(
      {},
      { name: 'broken.xlsx', content: Buffer.from('PK\u0003\u0004 this is not a zip') },
    );
    expect(broken.statusCode, broken.body).toBe(202);
    await runToEnd();
    const failed = (await get(`/v1/contacts/imports/${broken.json().id}`)).json();
    expect(failed.state).toBe('failed');
    expect(failed.failure_reason).toMatch(/could not be read/);
  });

  it('serves a template (CSV and XLSX) that imports once filled in', async () => {
    const csv = await get('/v1/contacts/imports/template?format=csv');
    expect(csv.statusCode).toBe(200);
    expect(csv.body.replace(/^\uFEFF/, '').trim()).toBe('手机号,姓名,标签');
    const xlsx = await get('/v1/contacts/imports/template?format=xlsx');
    expect(xlsx.statusCode).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    const sheet = wb.worksheets[0]!;
    expect((sheet.getRow(1).values as unknown[]).slice(1)).toEqual(['手机号', '姓名', '标签']);
    sheet.addRow(['13600000001', '模板', 'from-template']);
    const res = await upload({}, { name: 'filled.xlsx', content: Buffer.from(await wb.xlsx.writeBuffer()) });
    expect(res.statusCode, res.body).toBe(202);
    await runToEnd();
    expect((await get(`/v1/contacts/imports/${res.json().id}`)).json()).toMatchObject({
      state: 'completed',
      accepted: 1,
    });
    expect((await get('/v1/contacts?tag=from-template')).json().data[0]).toMatchObject({
      phone: '+8613600000001',
      name: '模板',
    });
  });

  it("another tenant's imports are 404, and its group cannot be a target", async () => {
    const mine = (await get('/v1/contacts/imports')).json().data[0];
    expect((await get(`/v1/contacts/imports/${mine.id}`, b)).statusCode).toBe(404);
    expect((await get(`/v1/contacts/imports/${mine.id}/errors`, b)).statusCode).toBe(404);
    expect((await get('/v1/contacts/imports', b)).json().data).toHaveLength(0);
    const group = (await get('/v1/contacts/groups')).json().data[0];
    const res = await upload(
      { group_id: group.id },
      { name: 'a.csv', content: Buffer.from('phone\n13800000001\n') },
      b,
    );
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('contacts.group_not_found');
  });
});
