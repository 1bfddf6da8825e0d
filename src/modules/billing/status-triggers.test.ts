// The statement-level triggers on messages (billing, webhooks) against the plan that stalled
// receipts in CI: PL/pgSQL planned their join of new_rows with old_rows once per connection, with
// the first call's row counts, so after a one-row statement a 3,000-row one ran a nested loop of
// 3,000 x 3,000 over transition tables (minutes at 20,000 rows). The plans are read from
// auto_explain on the connection that runs the statements: not a timing, the plan itself.
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { claimNextMessages, recordSentMessages } from '../dispatch/dispatch.sql.ts';
import { applySinglePartReceipts } from '../receipts/receipts.sql.ts';
import { reconcile } from './reconcile.ts';

const COUNT = 3001;
const NODE = 'trigger-plans';
const LONG_DEADLINES = { verificationSeconds: 1e6, notificationSeconds: 1e6, marketingSeconds: 1e6 };

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

/** One connection whose every statement, nested ones included, reports its plan. */
async function explainingClient() {
  const client = new pg.Client({ connectionString: t.url });
  await client.connect();
  const plans: string[] = [];
  client.on('notice', (n) => {
    if (n.message?.includes('plan:')) plans.push(n.message);
  });
  await client.query(`load 'auto_explain'`);
  await client.query(`set auto_explain.log_min_duration = 0`);
  await client.query(`set auto_explain.log_nested_statements = on`);
  await client.query(`set client_min_messages = log`);
  return { client, plans };
}

/** The plans of the triggers' queries that join the two transition tables. */
const transitionJoins = (plans: string[]) => plans.filter((p) => /new_rows n join old_rows o/.test(p));

/** The largest row estimate of a transition table scan in a plan. */
function largestTuplestoreEstimate(plan: string): number {
  const estimates = [...plan.matchAll(/Named Tuplestore Scan\s+\(cost=\S+ rows=(\d+)/g)];
  return Math.max(0, ...estimates.map((m) => Number(m[1])));
}

describe('status triggers on messages', () => {
  it('join new_rows and old_rows without a nested loop after a one-row first call, and charge exactly once', async () => {
    const tenant = await newTenant(ctx, 'trigger plans');
    const recipients = Array.from({ length: COUNT }, (_, i) => ({
      to: `+86139${String(i).padStart(8, '0')}`,
    }));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: { ...tenant.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ content: '【鸿雁】账单提醒', type: 'notification', recipients }),
    });
    expect(res.statusCode).toBe(202);
    expect(res.json().accepted).toBe(COUNT);

    const now = new Date();
    const claimed = await claimNextMessages(t.db.pool, {
      nodeId: NODE,
      limit: COUNT,
      perTenant: COUNT,
      now,
      deadlines: LONG_DEADLINES,
      maxAttempts: 5,
    });
    expect(claimed).toHaveLength(COUNT);
    const ids = claimed.map((m) => m.id).sort((a, b) => a - b);
    const { client, plans } = await explainingClient();
    try {
      const sent = (id: number) => ({
        id,
        channelId: 1,
        sourceAddr: '106900',
        carrierIds: [`c-${id}`],
        duplicateRisk: false,
      });
      // The first call of the connection has one row; the plan it made was the one kept.
      await recordSentMessages(client, { nodeId: NODE, now, results: ids.slice(0, 1).map(sent) });
      await recordSentMessages(client, { nodeId: NODE, now, results: ids.slice(1).map(sent) });
      const receipt = (id: number, i: number) => ({
        messageId: id,
        partNo: 0,
        state: i % 5 === 0 ? ('undelivered' as const) : ('delivered' as const),
        errorCode: i % 5 === 0 ? 'smpp.stat.UNDELIV' : null,
        doneAt: now,
      });
      await applySinglePartReceipts(client, { now, rows: ids.slice(0, 1).map(receipt) });
      await applySinglePartReceipts(client, { now, rows: ids.map(receipt).slice(1) });

      // The two statements of 3,000 rows were planned for 3,000 rows (not for the first call's
      // one), and so join the transition tables on the id by hash (a nested loop would have the
      // id in its Join Filter, and rescan one table per row of the other).
      const large = transitionJoins(plans).filter((p) => largestTuplestoreEstimate(p) >= COUNT - 1);
      expect(large).toHaveLength(2);
      for (const plan of large) expect(plan).toMatch(/(Hash|Merge) Cond: \((n\.id = o\.id|o\.id = n\.id)\)/);
    } finally {
      await client.end();
    }

    const { rows } = await t.db.pool.query<{ kind: string; n: number }>(
      `select kind, count(*)::int as n from billing_ledger where tenant_id = $1 and message_id is not null
        group by kind order by kind`,
      [tenant.tenantId],
    );
    const refunds = Math.ceil(COUNT / 5);
    expect(rows).toEqual([
      { kind: 'capture', n: COUNT },
      { kind: 'refund', n: refunds },
      { kind: 'reserve', n: COUNT },
    ]);
    const r = await reconcile({ db: t.db.pool });
    expect(r.differences).toEqual([]);
    expect(r.consistent).toBe(true);
  }, 120_000);
});
