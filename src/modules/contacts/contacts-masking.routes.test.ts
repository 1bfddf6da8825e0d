// Contacts' numbers follow `messages.read_full_numbers` as messages and replies do: a viewer reads
// them as 138****8000 (the list, one contact, an import's error file); a sender and the bearer key
// read them in full.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { loginAs, newMember, withSession } from '../accounts/accounts.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let tenant: Awaited<ReturnType<typeof newTenant>>;
let contactId: string;
let importId: string;
const sessions: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  t = await createTestDatabase();
  let ctx;
  ({ app, ctx } = await buildTestApp(t.db));
  tenant = await newTenant(ctx, 'Masked contacts');
  for (const role of ['viewer', 'sender'] as const) {
    const m = await newMember(t.db, tenant.tenantId, `${role}@c.cn`, role);
    sessions[role] = withSession((await loginAs(app, m.email, m.password)).browser!);
  }
  const created = await app.inject({
    method: 'POST',
    url: '/v1/contacts',
    headers: tenant.auth,
    payload: { phone: '13800138000', name: '张三' },
  });
  expect(created.statusCode).toBe(201);
  contactId = created.json().id;
  // An import that refused one row, as the import worker records it.
  const job = await t.db.pool.query<{ id: string }>(
    `insert into contact_imports (tenant_id, state, file_name, format, mapping, file_bytes)
     values ($1, 'completed', 'c.csv', 'csv', '{}', 10) returning id`,
    [tenant.tenantId],
  );
  importId = String(job.rows[0]!.id);
  await t.db.pool.query(
    `insert into contact_import_errors (import_id, row_number, reason, raw_phone) values ($1, 2, 'duplicate', '13900139000')`,
    [importId],
  );
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

async function get(url: string, headers: Record<string, string>) {
  const res = await app.inject({ method: 'GET', url, headers });
  expect(res.statusCode).toBe(200);
  return res;
}

describe("contacts' numbers by role", () => {
  it('a viewer reads them masked in the list, one contact and the error file of an import', async () => {
    const viewer = sessions.viewer!;
    expect((await get('/v1/contacts', viewer)).json().data).toEqual([
      expect.objectContaining({ id: contactId, phone: '+86138****8000', name: '张三' }),
    ]);
    expect((await get(`/v1/contacts/${contactId}`, viewer)).json().phone).toBe('+86138****8000');
    const errors = (await get(`/v1/contacts/imports/${importId}/errors`, viewer)).body;
    expect(errors).toContain('139****9000');
    expect(errors).not.toContain('13900139000');
  });

  it('a sender and the bearer key read them in full', async () => {
    for (const headers of [sessions.sender!, tenant.auth]) {
      expect((await get('/v1/contacts', headers)).json().data[0].phone).toBe('+8613800138000');
      expect((await get(`/v1/contacts/${contactId}`, headers)).json().phone).toBe('+8613800138000');
      expect((await get(`/v1/contacts/imports/${importId}/errors`, headers)).body).toContain('13900139000');
    }
  });
});
