// The billing trigger on messages against the plans that stalled receipts in CI, and against the
// planning that cost every message statement 3 ms: PL/pgSQL plans the trigger's query once per
// connection, with the first call's row counts, so after a one-row statement a 3,000-row one must
// still be index probes of the ledger per row (not a nested loop over transition tables, not a
// scan of the whole ledger); and a statement that charges nothing (a receipt that only confirms)
// must not run the query at all (migration 0034). The plans are read from auto_explain on the
// connection that runs the statements: not a timing, the plan itself.
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { claimNextMessages, recordSentMessages } from '../dispatch/dispatch.sql.ts';
import { applySinglePartReceipts } from '../receipts/receipts.sql.ts';
import { TEST_CREDIT_PARTS } from './billing.testkit.ts';
import { expireLots, getBalance } from './ledger.usecases.ts';
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
  await client.query(`set auto_explain.log_analyze = on`);
  await client.query(`set client_min_messages = log`);
  return { client, plans };
}

/** The plans of the billing trigger's charging query (not its precheck). */
const chargingPlans = (plans: string[]) => plans.filter((p) => /insert into billing_balance_deltas/.test(p));

/** The rows a plan actually read from the transition table new_rows. */
function newRowsRead(plan: string): number {
  const m = /Named Tuplestore Scan\s+\(cost=[^)]*\)\s+\(actual time=\S+ rows=([\d.]+)/.exec(plan);
  return m ? Number(m[1]) : -1;
}

describe('status triggers on messages', () => {
  it('charge by index probes per row after a one-row first call, skip statements that charge nothing, and charge exactly once', async () => {
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
      const receipts = ids.map(receipt);
      await applySinglePartReceipts(client, { now, rows: receipts.slice(0, 1) });
      const before = chargingPlans(plans).length;
      // Receipts that only confirm (sent -> delivered) charge nothing: the query does not run.
      const delivered = receipts.slice(1).filter((r) => r.state === 'delivered');
      await applySinglePartReceipts(client, { now, rows: delivered });
      expect(chargingPlans(plans)).toHaveLength(before);
      await applySinglePartReceipts(client, {
        now,
        rows: receipts.slice(1).filter((r) => r.state !== 'delivered'),
      });

      // Two recorder statements (1 and 3,000 rows) and two receipt statements (1 and 600 rows) ran
      // the charging query, on the plan made for the first call's one row: a row of new_rows is an
      // index probe of the ledger, never a scan of it or a join with old_rows.
      const charging = chargingPlans(plans);
      expect(charging.map(newRowsRead)).toEqual([1, COUNT - 1, 1, Math.ceil(COUNT / 5) - 1]);
      for (const plan of charging) {
        expect(plan).toMatch(/Index Scan using billing_ledger_message/);
        expect(plan).not.toMatch(/Seq Scan on billing_ledger|old_rows/);
      }
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

  it('capture and refund never wait for the balance row; their deltas count at once and fold exactly', async () => {
    const tenant = await newTenant(ctx, 'unlocked captures');
    const res = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: { ...tenant.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({
        content: '【鸿雁】账单提醒',
        type: 'notification',
        recipients: Array.from({ length: 10 }, (_, i) => ({ to: `+86137${String(i).padStart(8, '0')}` })),
      }),
    });
    expect(res.statusCode).toBe(202);
    const now = new Date();
    const claimed = await claimNextMessages(t.db.pool, {
      nodeId: NODE,
      limit: 10,
      perTenant: 10,
      now,
      deadlines: LONG_DEADLINES,
      maxAttempts: 5,
    });
    const ids = claimed.filter((m) => m.tenantId === tenant.tenantId).map((m) => m.id);
    expect(ids).toHaveLength(10);

    // Admission of another batch holds the tenant's balance row for its whole insert.
    const admission = new pg.Client({ connectionString: t.url });
    await admission.connect();
    try {
      await admission.query('begin');
      await admission.query('select 1 from billing_balances where tenant_id = $1 for update', [
        tenant.tenantId,
      ]);
      // Neither the recorder's capture nor a receipt's refund waits for it.
      await recordSentMessages(t.db.pool, {
        nodeId: NODE,
        now,
        results: ids.map((id) => ({
          id,
          channelId: 1,
          sourceAddr: '106900',
          carrierIds: [`u-${id}`],
          duplicateRisk: false,
        })),
      });
      await applySinglePartReceipts(t.db.pool, {
        now,
        rows: ids.map((id, i) => ({
          messageId: id,
          partNo: 0,
          state: i < 2 ? ('undelivered' as const) : ('delivered' as const),
          errorCode: i < 2 ? 'smpp.stat.UNDELIV' : null,
          doneAt: now,
        })),
      });
    } finally {
      await admission.query('rollback');
      await admission.end();
    }

    // The balance row still holds the reservations; what the tenant reads already does not.
    const row = await t.db.pool.query(
      'select available, reserved from billing_balances where tenant_id = $1',
      [tenant.tenantId],
    );
    expect(row.rows[0]).toEqual({ available: TEST_CREDIT_PARTS - 10, reserved: 10 });
    // What GET /v1/billing/balance and `hongyan billing balance` read.
    const balance = await getBalance({ db: t.db.pool, tenantId: tenant.tenantId });
    expect(balance).toMatchObject({ available: TEST_CREDIT_PARTS - 8, reserved: 0 });
    expect(balance.lots.reduce((sum, l) => sum + l.parts_left, 0)).toBe(TEST_CREDIT_PARTS - 8);
    expect((await reconcile({ db: t.db.pool })).consistent).toBe(true);

    // The sweep folds them: the row says the same, and no delta is left to fold twice.
    await expireLots({ db: t.db.pool });
    const folded = await t.db.pool.query(
      'select available, reserved from billing_balances where tenant_id = $1',
      [tenant.tenantId],
    );
    expect(folded.rows[0]).toEqual({ available: TEST_CREDIT_PARTS - 8, reserved: 0 });
    const left = await t.db.pool.query(
      'select count(*)::int as n from billing_balance_deltas where tenant_id = $1',
      [tenant.tenantId],
    );
    expect(left.rows[0].n).toBe(0);
    await expireLots({ db: t.db.pool });
    expect(
      (
        await t.db.pool.query('select available from billing_balances where tenant_id = $1', [
          tenant.tenantId,
        ])
      ).rows[0],
    ).toEqual({ available: TEST_CREDIT_PARTS - 8 });
    const r = await reconcile({ db: t.db.pool });
    expect(r.differences).toEqual([]);
  });
});
