// The message views find a Verify code's message through verification_sends.message_id (migration
// 0038), not through the send's time: a send recorded at another instant than its message's
// created_at still has its code masked in GET /v1/messages and GET /v1/messages/{id}. Before
// 0038 the look-up matched sent_at to created_at, and these codes were shown in clear. The
// reference is a foreign key: a send cannot name a message that does not exist.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let tenant: Awaited<ReturnType<typeof newTenant>>;
const now = new Date('2026-11-30T10:00:00Z');

/** Sends a code; answers its message id, the code (from the stored row) and the stored content. */
async function sendCode(to: string) {
  const r = await app.inject({
    method: 'POST',
    url: '/v1/verifications',
    headers: tenant.auth,
    payload: { to, purpose: 'login' },
  });
  expect(r.statusCode, r.body).toBe(201);
  const id = r.json<{ message_id: string }>().message_id;
  const stored = await t.db.pool.query<{ content: string }>('select content from messages where id = $1', [
    id,
  ]);
  const content = stored.rows[0]!.content;
  return { id, content, code: /(\d{6})/.exec(content)![1]! };
}

beforeAll(async () => {
  t = await createTestDatabase();
  let ctx;
  ({ app, ctx } = await buildTestApp(t.db, { clock: { now: () => now } }));
  tenant = await newTenant(ctx, 'Sends');
});

afterAll(async () => {
  await app?.close();
  await t?.drop();
});

describe("a Verify code's message found by its id", () => {
  it('masks the code when the send was recorded at another instant than the message', async () => {
    const sent = await sendCode('13800138601');
    const moved = await t.db.pool.query(
      `update verification_sends set sent_at = sent_at + interval '1 millisecond' where message_id = $1`,
      [sent.id],
    );
    expect(moved.rowCount).toBe(1);
    const times = await t.db.pool.query<{ same: boolean }>(
      `select s.sent_at = m.created_at as same
         from verification_sends s join messages m on m.id = s.message_id where s.message_id = $1`,
      [sent.id],
    );
    expect(times.rows).toEqual([{ same: false }]);

    const masked = sent.content.replace(sent.code, '******');
    expect(masked).not.toBe(sent.content);
    const detail = await app.inject({ method: 'GET', url: `/v1/messages/${sent.id}`, headers: tenant.auth });
    expect(detail.statusCode, detail.body).toBe(200);
    expect(detail.json<{ content: string }>().content).toBe(masked);
    const list = await app.inject({ method: 'GET', url: '/v1/messages?limit=10', headers: tenant.auth });
    expect(list.statusCode, list.body).toBe(200);
    const listed = list
      .json<{ data: { id: string; content: string }[] }>()
      .data.find((m) => m.id === sent.id);
    expect(listed?.content).toBe(masked);
  });

  it('refuses a send that names no message', async () => {
    const sent = await sendCode('13800138602');
    const missing = (await t.db.pool.query<{ id: string }>('select max(id) + 1000 as id from messages'))
      .rows[0]!.id;
    await expect(
      t.db.pool.query(
        `insert into verification_sends (verification_id, tenant_id, prefix, message_id, sent_at)
         select verification_id, tenant_id, prefix, $2, sent_at from verification_sends where message_id = $1`,
        [sent.id, missing],
      ),
    ).rejects.toMatchObject({ code: '23503', constraint: 'verification_sends_message' });
  });
});
