// A group of single sends reaches its insert in one round trip: `begin`, the quota's balance lock
// (prefetch), the tenants' protection settings and the caps' locks and counts leave together on the
// transaction's pipelined connection (db/pool.ts, admission.ts, protection.admission.ts). Checked
// on the statements as they leave, through HTTP on a real PostgreSQL; and the verdicts that the
// settings decide after the count was sent (an uncapped type, an allowlisted number) are the ones
// the settings say, each row its own; and the lock order, balances first on every path, lets a
// tenant's batch and its single sends run together.
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { COUNT_BESIDE_MIN_ROWS } from '../compliance/protection/protection.admission.ts';
import { sendingTenant } from '../compliance/protection/protection.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];

/** A statement as it left: its text's start, and how many of its connection's were unanswered. */
interface Sent {
  text: string;
  unanswered: number;
}
const sentBy = new Map<pg.PoolClient, Sent[]>();

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db));
  // Every connection the pool hands out records its statements as they are sent.
  t.db.pool.on('acquire', (client) => {
    if (sentBy.has(client)) return;
    const log: Sent[] = [];
    sentBy.set(client, log);
    let unanswered = 0;
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const config = args[0] as string | { text?: string; name?: string };
      const text = typeof config === 'string' ? config : (config.text ?? config.name ?? '');
      log.push({ text: text.replace(/\s+/g, ' ').trim().slice(0, 400), unanswered });
      unanswered++;
      // pool.query passes a callback; everything else takes the promise.
      const last = args.length - 1;
      if (typeof args[last] === 'function') {
        const callback = args[last] as (...a: unknown[]) => void;
        args[last] = (...a: unknown[]) => {
          unanswered--;
          callback(...a);
        };
      }
      const result = query(...args);
      if (result instanceof Promise)
        void result.then(
          () => unanswered--,
          () => unanswered--,
        );
      return result;
    };
  });
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const send = (auth: Record<string, string>, body: Record<string, unknown>) =>
  app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: body,
  });

describe('admission in one round trip', () => {
  it('sends begin, the balance lock, the settings and the caps count together, then the insert', async () => {
    const a = await sendingTenant(ctx, t.db, 'pipelined');
    // The process's caches warm first (the caps' first id, a minute; the price table, 5 s): a
    // group that finds them cold reads them in a round trip of its own.
    expect((await send(a.auth, { to: '+8613800999999', content: 'hello' })).statusCode).toBe(202);
    for (const log of sentBy.values()) log.length = 0;
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        send(a.auth, { to: `+8613800${String(i).padStart(6, '0')}`, content: 'hello', type: 'notification' }),
      ),
    );
    for (const res of answers) expect(res.statusCode, res.body).toBe(202);
    // Each group's transaction, from its begin to its commit.
    const transactions: Sent[][] = [];
    for (const log of sentBy.values()) {
      let current: Sent[] | null = null;
      for (const s of log) {
        if (s.text === 'begin') current = [];
        current?.push(s);
        if (s.text === 'commit' && current) {
          if (current.some((x) => x.text.startsWith('insert into messages'))) transactions.push(current);
          current = null;
        }
      }
    }
    expect(transactions.length).toBeGreaterThan(0);
    for (const tx of transactions) {
      const insert = tx.findIndex((s) => s.text.startsWith('insert into messages'));
      const before = tx.slice(0, insert).map((s) => s.text);
      expect(before[0]).toBe('begin');
      expect(before.some((s) => s.includes('billing_lock_balances'))).toBe(true);
      expect(before.some((s) => s.includes('protection_settings'))).toBe(true);
      expect(before.some((s) => s.includes('protection_lock_and_count'))).toBe(true);
      // The balance lock leaves first after begin: the lock order of every group.
      expect(before[1]).toContain('billing_lock_balances');
      // Everything before the insert left while begin was still unanswered: one round trip.
      tx.slice(1, insert).forEach((s) => expect(s.unanswered, s.text).toBeGreaterThan(0));
      // The insert waited for their answers (it needs the verdicts).
      expect(tx[insert]!.unanswered).toBe(0);
    }
  });

  it('lets the settings decide after the count was sent: an uncapped type and an allowlisted number are not capped', async () => {
    const a = await sendingTenant(ctx, t.db, 'speculated');
    await t.db.pool.query(
      `insert into protection_settings (tenant_id, settings, updated_at)
       values ($1, '{"caps":{"notification":{"day":1},"verification":{"minute":null,"hour":null,"day":null}}}', now())`,
      [a.tenantId],
    );
    const allowed = '+8613900000001';
    await t.db.pool.query(
      `insert into tenant_allowlist (tenant_id, phone, created_at) values ($1, $2, now())`,
      [a.tenantId, allowed],
    );
    const capped = '+8613900000002';
    const uncapped = '+8613900000003';
    const requests = [
      { to: capped, type: 'notification' },
      { to: capped, type: 'notification' },
      { to: allowed, type: 'notification' },
      { to: allowed, type: 'notification' },
      { to: uncapped, type: 'verification' },
      { to: uncapped, type: 'verification' },
      { to: uncapped, type: 'verification' },
    ];
    // Sent together (one or more groups): the capped number's second send is the refused one,
    // whichever group it falls in.
    const answers = await Promise.all(requests.map((r) => send(a.auth, { ...r, content: 'hello' })));
    const codes = answers.map((res) => (res.statusCode === 202 ? 'accepted' : res.json().error.code));
    expect(codes.filter((c, i) => requests[i]!.to === capped).sort()).toEqual([
      'accepted',
      'limit.recipient_frequency',
    ]);
    requests.forEach((r, i) => {
      if (r.to !== capped) expect(codes[i], `${r.type} to ${r.to}`).toBe('accepted');
    });
    const stored = await t.db.pool.query<{ recipient: string; n: number }>(
      'select recipient, count(*)::int as n from messages where tenant_id = $1 group by recipient order by recipient',
      [a.tenantId],
    );
    expect(stored.rows).toEqual([
      { recipient: allowed, n: 2 },
      { recipient: capped, n: 1 },
      { recipient: uncapped, n: 3 },
    ]);
  });

  it('a batch and single sends of one tenant to the same numbers run together without a deadlock', async () => {
    const a = await sendingTenant(ctx, t.db, 'lock-order');
    const numbers = Array.from(
      { length: COUNT_BESIDE_MIN_ROWS + 200 },
      (_, i) => `+86137${String(i).padStart(8, '0')}`,
    );
    const batch = app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: { ...a.auth, 'content-type': 'application/json' },
      payload: {
        content: '【鸿雁】您的订单已发货',
        type: 'notification',
        recipients: numbers.map((to) => ({ to })),
      },
    });
    const singles = numbers
      .filter((_, i) => i % 40 === 0)
      .map((to) => send(a.auth, { to, content: 'hello', type: 'notification' }));
    const [b, ...s] = await Promise.all([batch, ...singles]);
    expect(b.statusCode, b.body).toBe(202);
    expect(b.json().accepted).toBe(numbers.length);
    for (const res of s) expect(res.statusCode, res.body).toBe(202);
    const stored = await t.db.pool.query<{ n: number }>(
      'select count(*)::int as n from messages where tenant_id = $1',
      [a.tenantId],
    );
    expect(stored.rows[0]!.n).toBe(numbers.length + s.length);
    // Charged once per part each, no more: the reservations match the messages.
    const reserved = await t.db.pool.query<{ n: number }>(
      `select count(*)::int as n from billing_ledger where tenant_id = $1 and kind = 'reserve'`,
      [a.tenantId],
    );
    expect(reserved.rows[0]!.n).toBe(numbers.length + s.length);
  });
});
