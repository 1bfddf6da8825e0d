// A submit result written with the receipt that overtook it (recordSubmitResults): the message
// goes from `sending` to its final state in one update, and what the two updates did before still
// happens — billing charges or refunds once, a tenant subscribed to message.status gets `sent`
// and then the final state, the same payloads as the two-update path, in that order.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { reconcile } from '../billing/reconcile.ts';
import { applySinglePartReceipts } from '../receipts/receipts.sql.ts';
import { claimNextMessages, recordSubmitResults, type SentResult } from './dispatch.sql.ts';

const NODE = 'early-receipts';
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

describe('a submit result written with its early receipt', () => {
  it('charges once and emits sent before the final state, as the two updates did', async () => {
    const pool = t.db.pool;
    const tenant = await newTenant(ctx, 'early receipts');
    await pool.query(
      `insert into webhook_endpoints (tenant_id, url, events, secret_sealed)
       values ($1, 'https://example.test/hook', '{message.status}', 'x')`,
      [tenant.tenantId],
    );
    const channel = await pool.query<{ id: number }>(
      `insert into channels (name, host, port, system_id) values ('early', '127.0.0.1', 2775, 'x') returning id`,
    );
    const channelId = channel.rows[0]!.id;
    // Five single sends: delivered early, undelivered early, no receipt yet, and two that take
    // the two-update path (sent, then a receipt) to compare with.
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: { ...tenant.auth, 'content-type': 'application/json' },
        payload: JSON.stringify({
          to: `+86139000000${10 + i}`,
          content: '【鸿雁】账单提醒',
          type: 'notification',
        }),
      });
      expect(res.statusCode, res.body).toBe(202);
    }
    const now = new Date(Date.now() + 1000);
    const doneAt = new Date(now.getTime() - 10);
    const claimed = await claimNextMessages(pool, {
      nodeId: NODE,
      limit: 10,
      perTenant: 10,
      now,
      deadlines: LONG_DEADLINES,
      maxAttempts: 5,
    });
    expect(claimed).toHaveLength(5);
    const [a, b, c, d, e] = claimed.map((m) => m.id).sort((x, y) => x - y) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const result = (id: number, receipt?: SentResult['receipt']): SentResult => ({
      id,
      channelId,
      sourceAddr: '106900',
      carrierIds: [`cid-${id}`],
      duplicateRisk: false,
      ...(receipt ? { receipt } : {}),
    });
    const written = await recordSubmitResults(pool, {
      nodeId: NODE,
      now,
      slot: 3,
      results: [
        result(a, { state: 'delivered', errorCode: null, doneAt }),
        result(b, { state: 'undelivered', errorCode: 'carrier.UNDELIV.034', doneAt }),
        result(c),
        result(d),
        result(e),
      ],
    });
    expect(written.recorded).toBe(5);
    expect(written.receiptsWritten.sort((x, y) => x - y)).toEqual([a, b]);
    // The two-update path, for comparison: d delivered, e undelivered, receipts a moment later.
    await applySinglePartReceipts(pool, {
      now,
      rows: [
        { messageId: d, partNo: 0, state: 'delivered', errorCode: null, doneAt },
        { messageId: e, partNo: 0, state: 'undelivered', errorCode: 'carrier.UNDELIV.034', doneAt },
      ],
    });

    const rows = await pool.query(
      `select id, status, error_code, sent_at, done_at, parts_delivered, parts_failed
         from messages where id = any($1::bigint[]) order by id`,
      [[a, b, c, d, e]],
    );
    const timeline = (status: string, errorCode: string | null, done: boolean) => ({
      status,
      error_code: errorCode,
      sent_at: now,
      done_at: done ? doneAt : null,
      parts_delivered: status === 'delivered' ? 1 : 0,
      parts_failed: status === 'undelivered' ? 1 : 0,
    });
    expect(rows.rows.map(({ id: _, ...r }) => r)).toEqual([
      timeline('delivered', null, true),
      timeline('undelivered', 'carrier.UNDELIV.034', true),
      timeline('sent', null, false),
      timeline('delivered', null, true),
      timeline('undelivered', 'carrier.UNDELIV.034', true),
    ]);

    // Billing: each message charged or given back exactly once; the ledger adds up.
    const ledger = await pool.query<{ message_id: number; kinds: string[] }>(
      `select message_id, array_agg(kind order by id) as kinds from billing_ledger
        where message_id = any($1::bigint[]) group by message_id order by message_id`,
      [[a, b, c, d, e]],
    );
    expect(ledger.rows.map((r) => r.kinds)).toEqual([
      ['reserve', 'capture'],
      // The carrier took it: captured, then refunded, as the two updates wrote it.
      ['reserve', 'capture', 'refund'],
      ['reserve', 'capture'],
      ['reserve', 'capture'],
      ['reserve', 'capture', 'refund'],
    ]);
    const check = await reconcile({ db: pool });
    expect(check.differences).toEqual([]);

    // Webhooks: sent, then the final state, in delivery order; payloads as the two-update path's.
    const events = await pool.query<{ message_id: number; event_id: number; data: Record<string, unknown> }>(
      `select message_id::int, event_id::int, payload -> 'data' as data from webhook_deliveries
        where message_id = any($1::bigint[]) order by id`,
      [[a, b, c, d, e]],
    );
    const of = (id: number) => events.rows.filter((r) => r.message_id === id);
    const statuses = (id: number) => of(id).map((r) => r.data.status);
    expect(statuses(a)).toEqual(['sent', 'delivered']);
    expect(statuses(b)).toEqual(['sent', 'undelivered']);
    expect(statuses(c)).toEqual(['sent']);
    expect(statuses(d)).toEqual(['sent', 'delivered']);
    expect(statuses(e)).toEqual(['sent', 'undelivered']);
    for (const id of [a, b]) {
      const [sent, final] = of(id);
      expect(sent!.event_id).toBeLessThan(final!.event_id);
    }
    const comparable = (r: { data: Record<string, unknown> }) => {
      const { message_id: _m, to: _t, at: _a, ...rest } = r.data;
      return rest;
    };
    expect(of(a).map(comparable)).toEqual(of(d).map(comparable));
    expect(of(b).map(comparable)).toEqual(of(e).map(comparable));
    expect(of(a)[0]!.data.at).toBe(of(c)[0]!.data.at);

    // Counted as applied receipts, in the slot given.
    const counters = await pool.query(
      'select received::int, applied::int, duplicate::int from receipt_counters where channel_id = $1 and slot = 3',
      [channelId],
    );
    expect(counters.rows).toEqual([{ received: 2, applied: 2, duplicate: 0 }]);
  });
});
