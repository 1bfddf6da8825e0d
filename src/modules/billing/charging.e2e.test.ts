// Charging through the real process: Hongyan (API and worker) sends over a real SMPP bind to our
// simulator, which refuses some submits, and delivers, expires or fails the rest at random (and
// fails every recipient ending in 9). Each message must then carry the charge of its own outcome:
// delivered → reserve and capture; undelivered or expired by receipt → captured then refunded;
// refused at submission → reserve and refund; the balance is the credit minus the parts of
// delivered messages, and `hongyan billing reconcile --json` says consistent.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { loadConfig } from '../../app/config.ts';
import { startHongyan } from '../../app/start.ts';
import { CommandStatus } from '../../smpp/constants.ts';
import { createAccountsRepository } from '../accounts/accounts.repository.ts';
import { createTenant } from '../accounts/accounts.usecases.ts';
import { grantSending } from '../compliance/signatures/signatures.usecases.ts';
import { fastProfile } from '../simulator/test-helpers.ts';
import { type RunningSimulator, startSimulator } from '../simulator/simulator.ts';
import { runBillingCommand } from './billing.cli.ts';
import { creditTenant, getBalance } from './ledger.usecases.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let simulator: RunningSimulator;
let key: string;
let tenantId: number;
const CREDIT = 5_000;

beforeAll(async () => {
  t = await createTestDatabase();
  simulator = await startSimulator({
    port: 0,
    logger: pino({ level: 'silent' }),
    profiles: [
      fastProfile('mixed', {
        idFormat: 'sequential',
        deliveryRate: 0.6,
        expiredRate: 0.2,
        rejectRate: 0.1,
        rejectStatuses: [CommandStatus.ESME_RINVDSTADR],
        receiptBeforeResponseRate: 0.2,
        receiptLatencyMs: { min: 0, median: 1, max: 3 },
        undeliveredSuffixes: ['9'],
      }),
    ],
  });
  await t.db.pool.query(
    `insert into channels (name, host, port, system_id, password, window_size, max_tps, is_default)
     values ('mixed', '127.0.0.1', $1, 'mixed', 'x', 200, 100000, true)`,
    [simulator.port],
  );
  const created = await createTenant({ name: 'charged', repository: createAccountsRepository(t.db.kysely) });
  tenantId = created.tenant.id;
  key = created.apiKey.key;
  await grantSending({ db: t.db.pool, tenantId, signatures: ['鸿雁'], freeText: true });
  await creditTenant({
    db: t.db.pool,
    tenantId,
    parts: CREDIT,
    expiresAt: new Date('2100-01-01T00:00:00Z'),
    reason: 'e2e',
    actor: 'test',
  });
}, 60_000);

afterAll(async () => {
  await simulator?.close();
  await t?.drop();
});

const LONG = '您的订单已发货，请注意查收。'.repeat(8); // with 【鸿雁】: 2 UCS-2 parts

describe('through the real worker and a real SMPP bind', () => {
  it('each message is charged by its own outcome, and reconcile is consistent', async () => {
    const config = loadConfig({
      env: {
        DATABASE_URL: t.url,
        HONGYAN_HTTP_PORT: '0',
        HONGYAN_SIMULATOR: 'off',
        HONGYAN_LOG_LEVEL: 'silent',
      },
      configFile: null,
    });
    const hongyan = await startHongyan({
      config,
      roles: ['api', 'worker'],
      installSignalHandlers: false,
      json: true,
    });
    const batchIds: number[] = [];
    try {
      for (const [k, content] of [
        [0, '【鸿雁】短信通知'],
        [1, `【鸿雁】${LONG}`],
      ] as const) {
        const recipients = Array.from({ length: 300 }, (_, i) => ({
          to: `+86138${k}${String(i).padStart(7, '0')}`,
        }));
        const res = await fetch(`${hongyan.httpUrl}/v1/batches`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ content, recipients }),
        });
        const body = (await res.json()) as { id: string; accepted: number };
        expect(body.accepted).toBe(300);
        batchIds.push(Number(body.id));
      }
      // Polls the database (not a timed assertion): done when every message is final.
      const deadline = Date.now() + 90_000;
      for (;;) {
        const open = await t.db.pool.query<{ n: number }>(
          `select count(*)::int as n from messages where tenant_id = $1 and status in ('queued', 'sending', 'sent')`,
          [tenantId],
        );
        if (open.rows[0]!.n === 0) break;
        if (Date.now() > deadline) throw new Error(`${open.rows[0]!.n} messages not final`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await hongyan.stop();
    }

    const { rows } = await t.db.pool.query<{
      id: number;
      recipient: string;
      status: string;
      parts: number;
      kinds: string[];
    }>(
      `select m.id, m.recipient, m.status, m.parts,
              array(select l.kind from billing_ledger l where l.message_id = m.id order by l.id) as kinds
         from messages m where m.tenant_id = $1 order by m.id`,
      [tenantId],
    );
    expect(rows).toHaveLength(600);
    const expectedKinds: Record<string, string[]> = {
      delivered: ['reserve', 'capture'],
      undelivered: ['reserve', 'capture', 'refund'],
      expired: ['reserve', 'capture', 'refund'],
      rejected: ['reserve', 'refund'],
    };
    let spent = 0;
    for (const m of rows) {
      // The carrier fails every recipient ending in 9 that it does not refuse at submission.
      if (m.recipient.endsWith('9') && m.status !== 'rejected')
        expect({ id: m.id, status: m.status }).toEqual({ id: m.id, status: 'undelivered' });
      expect({ id: m.id, status: m.status, kinds: m.kinds }).toEqual({
        id: m.id,
        status: m.status,
        kinds: expectedKinds[m.status] ?? ['a known final status'],
      });
      if (m.status === 'delivered') spent += m.parts;
    }
    // The run went through every outcome it checks, and both sizes of message.
    expect(new Set(rows.map((m) => m.status))).toEqual(new Set(Object.keys(expectedKinds)));
    expect(new Set(rows.map((m) => m.parts))).toEqual(new Set([1, 2]));
    const balance = await getBalance({ db: t.db.pool, tenantId });
    expect({ available: balance.available, reserved: balance.reserved }).toEqual({
      available: CREDIT - spent,
      reserved: 0,
    });

    let printed = '';
    const code = await runBillingCommand({
      sub: 'reconcile',
      values: { json: true },
      pool: t.db.pool,
      out: (value) => (printed = JSON.stringify(value)),
    });
    expect(code).toBe(0);
    expect(JSON.parse(printed)).toMatchObject({ consistent: true, messages_checked: 600, differences: [] });
  }, 150_000);
});
