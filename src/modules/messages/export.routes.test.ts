// GET /v1/messages/export: owners and admins only, the filters of GET /v1/messages, the tenant's own
// rows, a cap per request, and one audit row per export.
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { loginAs, newMember, withSession } from '../accounts/accounts.testkit.ts';
import { TENANT_ROLES } from '../accounts/permissions.models.ts';
import { EXPORT_COLUMNS } from './export.models.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let tenant: Awaited<ReturnType<typeof newTenant>>;
const sessions: Record<string, Record<string, string>> = {};
const ids: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db));
  tenant = await newTenant(ctx, 'Exporter');
  for (const role of TENANT_ROLES) {
    const m = await newMember(t.db, tenant.tenantId, `${role}@x.cn`, role);
    sessions[role] = withSession((await loginAs(app, m.email, m.password)).browser!);
  }
  for (const [to, content, client_ref] of [
    ['13800138000', 'first, "quoted"'],
    ['13800138001', 'second'],
    // Content now starts with its signature 【…】, so the formula to defuse is in client_ref.
    ['13800138000', 'third', '=cmd'],
  ]) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: tenant.auth,
      payload: { to, content, ...(client_ref === undefined ? {} : { client_ref }) },
    });
    ids.push(res.json().id);
  }
  const other = await newTenant(ctx, 'Other');
  await app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: other.auth,
    payload: { to: '13800138000', content: 'not yours' },
  });
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const exportAs = (headers: Record<string, string>, query = '') =>
  app.inject({ method: 'GET', url: `/v1/messages/export${query}`, headers });

const auditRows = async () =>
  (
    await t.db.pool.query(
      `select actor, tenant_id, after from audit_log where action = 'messages.exported' order by id`,
    )
  ).rows;

describe('GET /v1/messages/export', () => {
  it("streams the owner's own messages as CSV with full numbers, newest first, quoted and defused", async () => {
    const res = await exportAs(sessions.owner!);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = res.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'id,to,type,status,parts,client_ref,batch_id,created_at,updated_at,error_code,content',
    );
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 2))).toEqual([
      [ids[2], '+8613800138000'],
      [ids[1], '+8613800138001'],
      [ids[0], '+8613800138000'],
    ]);
    expect(lines[1]!).toContain(",'=cmd,");
    expect(lines[1]!.endsWith(',【鸿雁】third')).toBe(true);
    expect(lines[3]!.endsWith(',"【鸿雁】first, ""quoted"""')).toBe(true);
    expect(res.body).not.toContain('not yours');
  });

  it('applies the filters of GET /v1/messages and audits each export with its filters and row count', async () => {
    const before = (await auditRows()).length;
    const res = await exportAs(sessions.admin!, '?phone=13800138000');
    expect(res.statusCode, res.body).toBe(200);
    expect(
      res.body
        .trimEnd()
        .split('\r\n')
        .slice(1)
        .map((l) => l.split(',')[0]),
    ).toEqual([ids[2], ids[0]]);
    const rows = await auditRows();
    expect(rows.length).toBe(before + 1);
    expect(rows.at(-1)).toMatchObject({
      tenant_id: tenant.tenantId,
      actor: expect.stringMatching(/^member:\d+$/),
      after: { filters: { phone: '13800138000' }, rows: 2, full_numbers: true, capped: false },
    });
  });

  it('exports the same rows as XLSX with format=xlsx, and audits the format', async () => {
    const res = await exportAs(sessions.owner!, '?format=xlsx&phone=13800138000');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    );
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
    const rows: unknown[][] = [];
    workbook.worksheets[0]!.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
    expect(rows[0]).toEqual([...EXPORT_COLUMNS]);
    expect(rows.slice(1).map((r) => [r[0], r[1], r[5]])).toEqual([
      [ids[2], '+8613800138000', '=cmd'],
      [ids[0], '+8613800138000', undefined],
    ]);
    expect((await auditRows()).at(-1)).toMatchObject({
      after: { filters: { phone: '13800138000' }, format: 'xlsx', rows: 2 },
    });
  });

  it('answers a bad filter with a JSON error and no audit row', async () => {
    const before = (await auditRows()).length;
    const res = await exportAs(sessions.owner!, '?phone=not-a-phone');
    expect([res.statusCode, res.json().error.code]).toEqual([400, 'messages.invalid_recipient']);
    expect((await auditRows()).length).toBe(before);
  });

  it('refuses (403) the roles without messages.export and the bearer key, and audits nothing for them', async () => {
    const before = (await auditRows()).length;
    for (const [who, headers] of [
      ...(['developer', 'sender', 'finance', 'viewer'] as const).map((r) => [r, sessions[r]!] as const),
      ['bearer key', tenant.auth] as const,
    ]) {
      const res = await exportAs(headers);
      expect({ who, status: res.statusCode, code: res.json().error?.code }).toEqual({
        who,
        status: 403,
        code: 'auth.forbidden',
      });
    }
    expect((await auditRows()).length).toBe(before);
  });

  it('stops at HONGYAN_EXPORT_MAX_ROWS rows, newest first, and records the cap in the audit row', async () => {
    const capped = await buildTestApp(t.db, { env: { HONGYAN_EXPORT_MAX_ROWS: '2' } });
    try {
      const res = await capped.app.inject({
        method: 'GET',
        url: '/v1/messages/export',
        headers: sessions.owner!,
      });
      expect(
        res.body
          .trimEnd()
          .split('\r\n')
          .slice(1)
          .map((l) => l.split(',')[0]),
      ).toEqual([ids[2], ids[1]]);
      expect((await auditRows()).at(-1)).toMatchObject({ after: { rows: 2, capped: true } });
    } finally {
      await capped.app.close();
    }
  });
});
