// Phone numbers in API views follow `messages.read_full_numbers`: a viewer reads recipients and
// repliers as 138****8000 (+86138****8000 as stored); a sender, an owner and the bearer key read them in full.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { loginAs, newMember, withSession } from './accounts.testkit.ts';
import { allows } from './permissions.models.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let tenant: Awaited<ReturnType<typeof newTenant>>;
let messageId: string;
const sessions: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  t = await createTestDatabase();
  let ctx;
  ({ app, ctx } = await buildTestApp(t.db));
  tenant = await newTenant(ctx, 'Masked');
  for (const role of ['viewer', 'sender', 'owner'] as const) {
    const m = await newMember(t.db, tenant.tenantId, `${role}@m.cn`, role);
    sessions[role] = withSession((await loginAs(app, m.email, m.password)).browser!);
  }
  const sent = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: tenant.auth,
    payload: { to: '13800138000', content: 'hello' },
  });
  messageId = sent.json().id;
  await t.db.pool.query(
    `insert into inbound_messages (tenant_id, sender, destination, content) values ($1, '13900139000', '10690001', 'TD')`,
    [tenant.tenantId],
  );
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const get = async (url: string, headers: Record<string, string>) => {
  const res = await app.inject({ method: 'GET', url, headers });
  expect(res.statusCode).toBe(200);
  return res.json();
};

describe('phone numbers in API views', () => {
  it('the permission table gives full numbers to owner, admin, developer and sender, not to viewer or finance', () => {
    const see = (role: 'owner' | 'admin' | 'developer' | 'sender' | 'viewer' | 'finance') =>
      allows({ kind: 'member', tenantId: 1, role }, 'messages.read_full_numbers');
    expect([see('owner'), see('admin'), see('developer'), see('sender')]).toEqual([true, true, true, true]);
    expect([see('viewer'), see('finance')]).toEqual([false, false]);
  });

  it('a viewer reads the recipient masked in GET /v1/messages and GET /v1/messages/:id', async () => {
    const list = await get('/v1/messages', sessions.viewer!);
    expect(list.data.map((m: { to: string }) => m.to)).toEqual(['+86138****8000']);
    expect((await get(`/v1/messages/${messageId}`, sessions.viewer!)).to).toBe('+86138****8000');
  });

  it("a viewer reads the replier's number masked in GET /v1/replies, the tenant's own number in full", async () => {
    const replies = await get('/v1/replies', sessions.viewer!);
    expect(replies.data[0]).toMatchObject({ from: '139****9000', to: '10690001' });
  });

  it('a sender, an owner and the bearer key read full numbers', async () => {
    for (const headers of [sessions.sender!, sessions.owner!, tenant.auth]) {
      expect((await get('/v1/messages', headers)).data[0].to).toBe('+8613800138000');
      expect((await get(`/v1/messages/${messageId}`, headers)).to).toBe('+8613800138000');
      expect((await get('/v1/replies', headers)).data[0].from).toBe('13900139000');
    }
  });
});
