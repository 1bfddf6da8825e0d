// GET /v1/billing/ledger: a tenant reads its own ledger rows, newest first, a page at a time by
// cursor, optionally of one kind; another tenant's rows never show; a bad cursor is refused with
// its code; a member without billing.read gets 403.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { loginAs, newMember, withSession } from '../accounts/accounts.testkit.ts';
import { creditTenant } from './ledger.usecases.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db));
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

let seq = 0;
/** A tenant that can send (its API key) and its owner's session, which reads the ledger. */
async function shopWithOwner(name: string) {
  const shop = await newTenant(ctx, name);
  const m = await newMember(t.db, shop.tenantId, `owner${++seq}@ledger.shop`, 'owner');
  return { ...shop, owner: withSession((await loginAs(app, m.email, m.password)).browser!) };
}

const ledger = (headers: Record<string, string>, query = '') =>
  app.inject({ method: 'GET', url: `/v1/billing/ledger${query}`, headers });

describe('GET /v1/billing/ledger', () => {
  it("pages the tenant's own rows newest first by cursor, filters by kind, and shows no other tenant's", async () => {
    const shop = await shopWithOwner('Ledger shop');
    const other = await shopWithOwner('Other shop');
    const expiresAt = new Date(Date.now() + 30 * 86_400_000);
    for (const parts of [10, 20, 30])
      await creditTenant({
        db: t.db.pool,
        tenantId: shop.tenantId,
        parts,
        expiresAt,
        reason: `top-up ${parts}`,
        actor: 'test',
      });
    await creditTenant({
      db: t.db.pool,
      tenantId: other.tenantId,
      parts: 99,
      expiresAt,
      reason: 'not yours',
      actor: 'test',
    });
    const sent = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: shop.auth,
      payload: { to: '+8613800138000', content: '【鸿雁】您的订单已发货' },
    });
    expect(sent.statusCode, sent.body).toBe(202);

    const all = await ledger(shop.owner, '?limit=500');
    expect(all.statusCode, all.body).toBe(200);
    const rows = all.json().data as {
      id: string;
      kind: string;
      available_delta: number;
      reason: string | null;
    }[];
    // The test kit's credit, three top-ups and the message's reservation.
    expect(rows.map((r) => r.kind)).toEqual(['reserve', 'credit', 'credit', 'credit', 'credit']);
    expect(rows[0]).toMatchObject({
      kind: 'reserve',
      available_delta: -1,
      reserved_delta: 1,
      units: 1,
      message_id: (sent.json() as { id: string }).id,
    });
    expect(rows.slice(1, 4).map((r) => [r.available_delta, r.reason])).toEqual([
      [30, 'top-up 30'],
      [20, 'top-up 20'],
      [10, 'top-up 10'],
    ]);
    expect(rows.some((r) => r.reason === 'not yours')).toBe(false);
    expect(all.json().next_cursor).toBeNull();

    const first = await ledger(shop.owner, '?limit=2');
    expect(first.json().data.map((r: { id: string }) => r.id)).toEqual(rows.slice(0, 2).map((r) => r.id));
    const second = await ledger(shop.owner, `?limit=2&cursor=${first.json().next_cursor}`);
    expect(second.json().data.map((r: { id: string }) => r.id)).toEqual(rows.slice(2, 4).map((r) => r.id));
    const third = await ledger(shop.owner, `?limit=2&cursor=${second.json().next_cursor}`);
    expect(third.json().data.map((r: { id: string }) => r.id)).toEqual(rows.slice(4).map((r) => r.id));
    expect(third.json().next_cursor).toBeNull();

    const credits = await ledger(shop.owner, '?kind=credit');
    expect(credits.json().data).toHaveLength(4);
    const theirs = await ledger(other.owner);
    expect(theirs.json().data.map((r: { reason: string }) => r.reason)).toEqual([
      'not yours',
      'test kit credit',
    ]);
  });

  it('refuses a bad cursor or kind with its code, and a member without billing.read', async () => {
    const shop = await shopWithOwner('Cursor shop');
    const bad = await ledger(shop.owner, '?cursor=bm90LWEtY3Vyc29y');
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'billing.invalid_cursor']);
    expect((await ledger(shop.owner, '?kind=gift')).statusCode).toBe(400);

    const m = await newMember(t.db, shop.tenantId, 'dev@ledger.shop', 'developer');
    const session = withSession((await loginAs(app, m.email, m.password)).browser!);
    const refused = await ledger(session);
    expect(refused.statusCode, refused.body).toBe(403);
  });
});
