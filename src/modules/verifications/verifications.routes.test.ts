// GET /v1/verifications through the HTTP API with real tenant keys: a tenant lists only its own
// verifications (another tenant's are never listed, and their ids answer 404 as messages do),
// pages with the cursor of GET /v1/messages, filters by status as a reader sees it (a pending code
// past its TTL is expired), number, purpose and time, never shows a code, and refuses a bad query
// with the documented codes. Time comes from a fake clock.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { loginAs, newMember, withSession } from '../accounts/accounts.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let tenantA: Awaited<ReturnType<typeof newTenant>>;
let tenantB: Awaited<ReturnType<typeof newTenant>>;
let now = new Date('2026-11-30T10:00:00Z');
const clock = { now: () => now };
const advance = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000));

interface Listed {
  id: string;
  to: string;
  purpose: string;
  status: string;
  code_length: number;
  message_id: string;
  created_at: string;
}
interface Page {
  data: Listed[];
  next_cursor: string | null;
}

/** What tenant A sent, in order: id, number, purpose and the code read from its message. */
const sentByA: { id: string; to: string; purpose: string; code: string; at: Date }[] = [];
let sentByB: { id: string; to: string }[] = [];

async function sendCode(auth: Record<string, string>, to: string, extra: object = {}) {
  const r = await app.inject({
    method: 'POST',
    url: '/v1/verifications',
    headers: auth,
    payload: { to, ...extra },
  });
  expect(r.statusCode, r.body).toBe(201);
  const body = r.json<{ id: string; to: string; purpose: string; message_id: string }>();
  const m = await t.db.pool.query<{ content: string }>('select content from messages where id = $1', [
    body.message_id,
  ]);
  const code = /(\d{4,8})/.exec(m.rows[0]!.content.replace(/^【[^】]*】/, ''))![1]!;
  return { ...body, code };
}

const list = (query: string, auth: Record<string, string> = tenantA.auth) =>
  app.inject({ method: 'GET', url: `/v1/verifications${query}`, headers: auth });

async function listed(query: string, auth: Record<string, string> = tenantA.auth): Promise<Page> {
  const r = await list(query, auth);
  expect(r.statusCode, r.body).toBe(200);
  return r.json<Page>();
}

async function approve(to: string, code: string) {
  const check = await app.inject({
    method: 'POST',
    url: '/v1/verifications/check',
    headers: tenantA.auth,
    payload: { to, purpose: 'login', code },
  });
  expect(check.json().status).toBe('approved');
}

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
  tenantA = await newTenant(ctx, 'A');
  tenantB = await newTenant(ctx, 'B');
  // Five codes of A a minute apart (two purposes, one short TTL that has run out by the end, the
  // first approved), two of B to A's numbers.
  const plan = [
    { to: '13800138101', purpose: 'login' },
    { to: '13800138102', purpose: 'login', ttl_seconds: 60 },
    { to: '13800138103', purpose: 'payment' },
    { to: '13800138104', purpose: 'login' },
    { to: '13800138105', purpose: 'login' },
  ];
  for (const p of plan) {
    const { to, ...extra } = p;
    const sent = await sendCode(tenantA.auth, to, extra);
    sentByA.push({ id: sent.id, to: sent.to, purpose: sent.purpose, code: sent.code, at: new Date(now) });
    if (sentByA.length === 1) await approve(to, sent.code);
    advance(60);
  }
  sentByB = [
    await sendCode(tenantB.auth, '13800138101', { purpose: 'login' }),
    await sendCode(tenantB.auth, '13800138103', { purpose: 'payment' }),
  ];
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

describe('GET /v1/verifications', () => {
  it("lists the tenant's own verifications, newest first, and never another tenant's", async () => {
    const a = await listed('');
    expect(a.data.map((v) => v.id)).toEqual(sentByA.map((s) => s.id).reverse());
    expect(a.next_cursor).toBeNull();
    const b = await listed('', tenantB.auth);
    expect(b.data.map((v) => v.id)).toEqual(sentByB.map((s) => s.id).reverse());
    // The same number filtered by the other tenant finds only that tenant's own.
    const bOnA = await listed('?phone=13800138101', tenantB.auth);
    expect(bOnA.data.map((v) => v.id)).toEqual([sentByB[0]!.id]);
    const aOnB = await listed('?phone=13800138103');
    expect(aOnB.data.map((v) => v.id)).toEqual([sentByA[2]!.id]);
  });

  it("answers another tenant's verification by id 404, as GET /v1/messages/:id does", async () => {
    const theirs = await app.inject({
      method: 'GET',
      url: `/v1/verifications/${sentByB[0]!.id}`,
      headers: tenantA.auth,
    });
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json().error.code).toBe('verifications.not_found');
    const message = await app.inject({
      method: 'GET',
      url: `/v1/messages/${(await listed('', tenantB.auth)).data[0]!.message_id}`,
      headers: tenantA.auth,
    });
    expect(message.statusCode).toBe(404);
    const mine = await app.inject({
      method: 'GET',
      url: `/v1/verifications/${sentByA[0]!.id}`,
      headers: tenantA.auth,
    });
    expect(mine.statusCode).toBe(200);
  });

  it('never shows a code, only its length', async () => {
    const r = await list('');
    for (const s of sentByA) expect(r.body).not.toContain(s.code);
    const first = r.json<Page>().data[0]!;
    expect(Object.keys(first)).not.toContain('code');
    expect(first.code_length).toBe(6);
  });

  it('pages with next_cursor until the last page, each verification once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await listed(
        `?limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((v) => v.id));
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual(sentByA.map((s) => s.id).reverse());
    // Exactly a page's worth has no next page.
    expect((await listed('?limit=5')).next_cursor).toBeNull();
  });

  it('filters by status as a reader sees it, by number, purpose and time range', async () => {
    const ids = (page: Page) => page.data.map((v) => v.id);
    const [first, second, third, fourth, fifth] = sentByA.map((s) => s.id);
    expect(ids(await listed('?status=approved'))).toEqual([first]);
    // The second code's TTL ran out: it is stored pending, and listed as expired.
    expect(ids(await listed('?status=expired'))).toEqual([second]);
    expect((await listed('?status=expired')).data[0]!.status).toBe('expired');
    expect(ids(await listed('?status=pending'))).toEqual([fifth, fourth, third]);
    expect(ids(await listed('?status=max_attempts'))).toEqual([]);
    // A national number and its E.164 form are the same filter.
    expect(ids(await listed('?phone=13800138104'))).toEqual([fourth]);
    expect(ids(await listed(`?phone=${encodeURIComponent('+8613800138104')}`))).toEqual([fourth]);
    expect(ids(await listed('?purpose=payment'))).toEqual([third]);
    expect(ids(await listed('?purpose=login&status=pending'))).toEqual([fifth, fourth]);
    // created_after is inclusive, created_before exclusive (as GET /v1/messages).
    const after = encodeURIComponent(sentByA[1]!.at.toISOString());
    const before = encodeURIComponent(sentByA[3]!.at.toISOString());
    expect(ids(await listed(`?created_after=${after}&created_before=${before}`))).toEqual([third, second]);
  });

  it('masks numbers for a role without messages.read_full_numbers, as GET /v1/messages does', async () => {
    const viewer = await newMember(t.db, tenantA.tenantId, 'viewer@otp.cn', 'viewer');
    const session = withSession((await loginAs(app, viewer.email, viewer.password)).browser!);
    const masked = await listed('?phone=13800138104', session);
    expect(masked.data.map((v) => v.to)).toEqual(['+86138****8104']);
    const messages = await app.inject({
      method: 'GET',
      url: '/v1/messages?phone=13800138104',
      headers: session,
    });
    expect(messages.json().data[0].to).toBe('+86138****8104');
    expect((await listed('?phone=13800138104')).data[0]!.to).toBe('+8613800138104');
  });

  it('refuses a bad query with the documented codes', async () => {
    const cases: [string, number, string][] = [
      ['?status=sent', 400, 'request.invalid'],
      ['?limit=0', 400, 'request.invalid'],
      ['?limit=501', 400, 'request.invalid'],
      ['?created_after=yesterday', 400, 'request.invalid'],
      ['?purpose=a%20b', 400, 'request.invalid'],
      ['?batch_id=1', 400, 'request.invalid'],
      ['?cursor=bm90LWEtY3Vyc29y', 400, 'messages.invalid_cursor'],
      ['?phone=abc', 400, 'messages.invalid_recipient'],
    ];
    for (const [query, status, code] of cases) {
      const r = await list(query);
      expect([query, r.statusCode, r.json().error?.code]).toEqual([query, status, code]);
    }
    const anonymous = await app.inject({ method: 'GET', url: '/v1/verifications' });
    expect(anonymous.statusCode).toBe(401);
  });
});
