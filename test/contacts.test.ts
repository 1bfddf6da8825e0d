// Contacts through the HTTP API: CRUD, search, bulk upsert answered row by row, groups and
// segments (fields, tags, engagement), opted-out and blacklisted contacts marked, export in CSV and
// XLSX, and tenant isolation (another tenant's ids are 404).
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let a: Awaited<ReturnType<typeof newTenant>>;
let b: Awaited<ReturnType<typeof newTenant>>;
const now = new Date('2026-11-30T08:00:00Z');
const clock = { now: () => now };

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
  a = await newTenant(ctx, 'Contacts A');
  b = await newTenant(ctx, 'Contacts B');
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const call = (
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
  who: { auth: Record<string, string> } = a,
) =>
  app.inject({
    method,
    url,
    headers: who.auth,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

describe('contacts', () => {
  it('creates, reads, changes and deletes a contact; the phone is stored as E.164 and unique', async () => {
    const created = await call('POST', '/v1/contacts', {
      phone: '138 0013 8001',
      name: '张三',
      fields: { city: '上海', level: 3 },
      tags: ['vip', 'vip', ' new '],
    });
    expect(created.statusCode, created.body).toBe(201);
    const c = created.json();
    expect(c).toMatchObject({
      phone: '+8613800138001',
      name: '张三',
      fields: { city: '上海', level: '3' },
      tags: ['vip', 'new'],
    });
    expect(c.opted_out).toBe(false);

    const again = await call('POST', '/v1/contacts', { phone: '+86 13800138001' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('contacts.phone_taken');

    const bad = await call('POST', '/v1/contacts', { phone: '12345' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('contacts.invalid_phone');

    const patched = await call('PATCH', `/v1/contacts/${c.id}`, {
      fields: { vip_since: '2024' },
      tags: ['gold'],
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      fields: { city: '上海', level: '3', vip_since: '2024' },
      tags: ['gold'],
    });
    const replaced = await call('PATCH', `/v1/contacts/${c.id}`, {
      fields: { only: 'x' },
      fields_mode: 'replace',
    });
    expect(replaced.json().fields).toEqual({ only: 'x' });

    expect((await call('GET', `/v1/contacts/${c.id}`)).json().name).toBe('张三');
    expect((await call('DELETE', `/v1/contacts/${c.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/v1/contacts/${c.id}`)).statusCode).toBe(404);
  });

  it('bulk upsert answers each row: created, updated, invalid, duplicate; an existing contact keeps what a row omits', async () => {
    const first = await call('POST', '/v1/contacts/bulk', {
      contacts: [
        { phone: '13900000001', name: 'A', fields: { city: '北京' }, tags: ['t1'] },
        { phone: '13900000002', name: 'B' },
      ],
    });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ created: 2, updated: 0, invalid: 0, duplicates: 0 });

    const second = await call('POST', '/v1/contacts/bulk', {
      contacts: [
        { phone: '+8613900000001', fields: { level: 'gold' } },
        { phone: 'not a phone' },
        { phone: '13900000003', name: 'C' },
        { phone: '139-0000-0003', name: 'C again' },
        { phone: '13900000004', fields: { 'bad key!': 'x' } },
      ],
    });
    expect(second.statusCode, second.body).toBe(200);
    const body = second.json();
    expect(body).toMatchObject({ created: 1, updated: 1, invalid: 2, duplicates: 1 });
    expect(body.results.map((r: { status: string }) => r.status)).toEqual([
      'updated',
      'invalid',
      'created',
      'duplicate',
      'invalid',
    ]);
    expect(body.results[1].error.code).toBe('contacts.invalid_phone');
    expect(body.results[4].error.code).toBe('contacts.invalid_contact');
    const one = await call('GET', '/v1/contacts?phone=13900000001');
    expect(one.json().data).toHaveLength(1);
    expect(one.json().data[0]).toMatchObject({
      name: 'A',
      fields: { city: '北京', level: 'gold' },
      tags: ['t1'],
    });

    const tooMany = await call('POST', '/v1/contacts/bulk', {
      contacts: Array.from({ length: 1001 }, (_, i) => ({ phone: `1370000${String(i).padStart(4, '0')}` })),
    });
    expect(tooMany.statusCode).toBe(413);
    expect(tooMany.json().error.code).toBe('contacts.bulk_too_large');
    expect((await call('GET', '/v1/contacts?phone=13700000000')).json().data).toHaveLength(0);
  });

  it('lists a page at a time and searches by phone digits, tag and field', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({
      phone: `1360000${String(i).padStart(4, '0')}`,
      tags: i % 3 === 0 ? ['three'] : [],
      fields: { parity: i % 2 === 0 ? 'even' : 'odd' },
    }));
    expect((await call('POST', '/v1/contacts/bulk', { contacts: rows })).json().created).toBe(30);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = await call('GET', `/v1/contacts?phone=1360000&limit=7${after ? `&after=${after}` : ''}`);
      expect(page.statusCode, page.body).toBe(200);
      seen.push(...page.json().data.map((c: { phone: string }) => c.phone));
      after = page.json().next_after;
    } while (after);
    expect(seen).toHaveLength(30);
    expect(new Set(seen).size).toBe(30);
    expect((await call('GET', '/v1/contacts?tag=three&limit=500')).json().data).toHaveLength(10);
    expect(
      (await call('GET', '/v1/contacts?field=parity&value=odd&phone=1360000&limit=500')).json().data,
    ).toHaveLength(15);
  });

  it('marks opted-out and blacklisted contacts, keeps them listed, and leaves them out of what marketing may reach', async () => {
    await call('POST', '/v1/contacts/bulk', {
      contacts: [{ phone: '13500000001' }, { phone: '13500000002' }, { phone: '13500000003' }],
    });
    await t.db.pool.query(
      "insert into opt_outs (tenant_id, phone, source, created_at) values ($1, '+8613500000001', 'reply', now())",
      [a.tenantId],
    );
    await t.db.pool.query(
      "insert into tenant_blacklist (tenant_id, phone, reason, created_at) values ($1, '+8613500000002', 'complaint', now())",
      [a.tenantId],
    );
    const list = (await call('GET', '/v1/contacts?phone=1350000000')).json().data as {
      phone: string;
      opted_out: boolean;
      blacklisted: boolean;
    }[];
    expect(list.map((c) => [c.phone, c.opted_out, c.blacklisted])).toEqual([
      ['+8613500000001', true, false],
      ['+8613500000002', false, true],
      ['+8613500000003', false, false],
    ]);
    const seg = await call('POST', '/v1/contacts/segments', {
      name: 'the 135s',
      filter: { match: 'all', conditions: [{ type: 'field', key: 'none', op: 'missing' }] },
    });
    expect(seg.statusCode, seg.body).toBe(201);
  });

  it('groups: add and remove members; segments on fields, tags and engagement', async () => {
    const group = await call('POST', '/v1/contacts/groups', { name: '会员' });
    expect(group.statusCode, group.body).toBe(201);
    const gid = group.json().id;
    expect((await call('POST', '/v1/contacts/groups', { name: '会员' })).json().error.code).toBe(
      'contacts.name_taken',
    );
    const upsert = await call('POST', '/v1/contacts/bulk', {
      group_id: gid,
      contacts: [
        { phone: '13300000001', fields: { city: '上海' }, tags: ['vip'] },
        { phone: '13300000002', fields: { city: '北京' }, tags: ['vip'] },
        { phone: '13300000003', fields: { city: '上海' } },
      ],
    });
    const ids = upsert.json().results.map((r: { id: string }) => r.id);
    expect((await call('GET', `/v1/contacts/groups/${gid}`)).json().members).toBe(3);
    const removed = await call('POST', `/v1/contacts/groups/${gid}/members/remove`, {
      contact_ids: [ids[2]],
    });
    expect(removed.json()).toMatchObject({ changed: 1, group: { members: 2 } });
    expect((await call('GET', `/v1/contacts?group_id=${gid}`)).json().data).toHaveLength(2);

    // 13300000001 engaged 40 days ago, 13300000002 yesterday, 13300000003 never.
    await t.db.pool.query(
      `update contacts set last_engaged_at = case phone when '+8613300000001' then $2::timestamptz - interval '40 days'
         when '+8613300000002' then $2::timestamptz - interval '1 day' end where tenant_id = $1 and phone like '+86133%'`,
      [a.tenantId, now],
    );
    const dormant = await call('POST', '/v1/contacts/segments', {
      name: 'dormant shanghai',
      filter: {
        match: 'all',
        conditions: [
          { type: 'field', key: 'city', op: 'eq', value: '上海' },
          { type: 'not_engaged', days: 30 },
        ],
      },
    });
    expect(dormant.statusCode, dormant.body).toBe(201);
    const got = await call('GET', `/v1/contacts?segment_id=${dormant.json().id}`);
    expect(got.json().data.map((c: { phone: string }) => c.phone)).toEqual([
      '+8613300000001',
      '+8613300000003',
    ]);
    const vip = await call('POST', '/v1/contacts/segments', {
      name: 'vip engaged',
      filter: {
        match: 'all',
        conditions: [
          { type: 'tag', op: 'has', value: 'vip' },
          { type: 'engaged', days: 7 },
        ],
      },
    });
    expect((await call('GET', `/v1/contacts/segments/${vip.json().id}`)).json()).toMatchObject({
      contacts: 1,
      marketable: 1,
    });

    const bad = await call('POST', '/v1/contacts/segments', {
      name: 'bad',
      filter: { match: 'all', conditions: [{ type: 'not_engaged', days: 0 }] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('contacts.invalid_segment');
  });

  it('exports CSV and XLSX with every field as a column', async () => {
    const csv = await call('GET', '/v1/contacts/export?tag=vip');
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).toContain('field:city');
    expect(
      lines
        .slice(1)
        .map((l) => l.split(',')[0])
        .sort(),
    ).toEqual(['+8613300000001', '+8613300000002']);

    const xlsx = await call('GET', '/v1/contacts/export?tag=vip&format=xlsx');
    expect(xlsx.statusCode).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    const sheet = wb.worksheets[0]!;
    expect(sheet.rowCount).toBe(3);
    const header = (sheet.getRow(1).values as unknown[]).slice(1);
    const cityCol = header.indexOf('field:city') + 1;
    const cities = [2, 3].map((r) => String(sheet.getRow(r).getCell(cityCol).value)).sort();
    expect(cities).toEqual(['上海', '北京'].sort());
  });

  it("another tenant's contacts, groups and segments are 404 and never listed", async () => {
    const mine = (await call('GET', '/v1/contacts?limit=1')).json().data[0];
    const group = (await call('GET', '/v1/contacts/groups')).json().data[0];
    const segment = (await call('GET', '/v1/contacts/segments')).json().data[0];
    expect((await call('GET', `/v1/contacts/${mine.id}`, undefined, b)).statusCode).toBe(404);
    expect((await call('PATCH', `/v1/contacts/${mine.id}`, { name: 'x' }, b)).statusCode).toBe(404);
    expect((await call('DELETE', `/v1/contacts/${mine.id}`, undefined, b)).statusCode).toBe(404);
    expect((await call('GET', `/v1/contacts/groups/${group.id}`, undefined, b)).statusCode).toBe(404);
    expect((await call('GET', `/v1/contacts?group_id=${group.id}`, undefined, b)).statusCode).toBe(404);
    expect((await call('GET', `/v1/contacts/segments/${segment.id}`, undefined, b)).statusCode).toBe(404);
    expect((await call('DELETE', `/v1/contacts/segments/${segment.id}`, undefined, b)).statusCode).toBe(404);
    const add = await call(
      'POST',
      `/v1/contacts/groups/${group.id}/members/add`,
      { contact_ids: [mine.id] },
      b,
    );
    expect(add.statusCode).toBe(404);
    const bulkIntoTheirs = await call(
      'POST',
      '/v1/contacts/bulk',
      { group_id: group.id, contacts: [{ phone: '13200000001' }] },
      b,
    );
    expect(bulkIntoTheirs.statusCode).toBe(404);
    expect((await call('GET', '/v1/contacts', undefined, b)).json().data).toHaveLength(0);
    expect((await call('GET', `/v1/contacts/${mine.id}`)).statusCode).toBe(200);
  });
});
