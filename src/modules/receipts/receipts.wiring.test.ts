// Wiring: the real worker against our simulator with each id style, receipts before and right
// after the response, and an outcome the carrier decides per message (recipients ending in 8 or 9
// fail), so that each message must end with exactly its own outcome. Independent SMSCs (the npm
// `smpp` package) are exercised by the end-to-end tests in test/.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { loadConfig } from '../../app/config.ts';
import { startHongyan } from '../../app/start.ts';
import { createAccountsRepository } from '../accounts/accounts.repository.ts';
import { createTenant } from '../accounts/accounts.usecases.ts';
import { creditForTests } from '../billing/billing.testkit.ts';
import { grantSending } from '../compliance/signatures/signatures.usecases.ts';
import { fastProfile } from '../simulator/test-helpers.ts';
import type { IdFormat } from '../simulator/simulator.models.ts';
import { type RunningSimulator, startSimulator } from '../simulator/simulator.ts';
import { LEARN_MIN_VOTES } from './receipts.models.ts';
import { readReceiptCounts } from './receipts.sql.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let simulator: RunningSimulator;
let key: string;

const styles: { name: string; idFormat: IdFormat; convention: string }[] = [
  { name: 'seq', idFormat: 'sequential', convention: 'as-is' },
  { name: 'hexdec', idFormat: 'hex-resp-decimal-receipt', convention: 'hex-resp-decimal-receipt' },
  { name: 'dechex', idFormat: 'decimal-resp-hex-receipt', convention: 'decimal-resp-hex-receipt' },
  { name: 'learn', idFormat: 'sequential', convention: 'auto' },
];

beforeAll(async () => {
  t = await createTestDatabase();
  simulator = await startSimulator({
    port: 0,
    logger: pino({ level: 'silent' }),
    profiles: styles.map((s) =>
      fastProfile(s.name, {
        idFormat: s.idFormat,
        receiptBeforeResponseRate: 0.3,
        receiptLatencyMs: { min: 0, median: 0, max: 2 },
        undeliveredSuffixes: ['8', '9'],
      }),
    ),
  });
  for (const s of styles) {
    await t.db.pool.query(
      `insert into channels (name, host, port, system_id, password, window_size, max_tps, enabled, id_convention)
       values ($1, '127.0.0.1', $2, $1, 'x', 200, 100000, false, $3)`,
      [s.name, simulator.port, s.convention],
    );
  }
  const created = await createTenant({ name: 'wiring', repository: createAccountsRepository(t.db.kysely) });
  await creditForTests(t.db.pool, created.tenant.id);
  await grantSending({ db: t.db.pool, tenantId: created.tenant.id, signatures: ['鸿雁'], freeText: true });
  key = created.apiKey.key;
}, 60_000);

afterAll(async () => {
  await simulator?.close();
  await t?.drop();
});

/** Runs Hongyan with only this channel bound, sends `count` messages, waits until all are final. */
async function sendThrough(channel: string, count: number, prefix: string) {
  await t.db.pool.query(`update channels set enabled = (name = $1), is_default = (name = $1)`, [channel]);
  const config = loadConfig({
    env: {
      DATABASE_URL: t.url,
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_SIMULATOR: 'off',
      HONGYAN_LOG_LEVEL: 'silent',
      HONGYAN_PARKED_RECEIPTS_INTERVAL_MS: '200',
    },
    configFile: null,
  });
  const hongyan = await startHongyan({
    config,
    roles: ['api', 'worker'],
    installSignalHandlers: false,
    json: true,
  });
  try {
    const recipients = Array.from({ length: count }, (_, i) => ({
      to: `${prefix}${String(i).padStart(4, '0')}`,
    }));
    const res = await fetch(`${hongyan.httpUrl}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: `wiring ${channel}`, recipients }),
    });
    const body = (await res.json()) as { id: string };
    if (res.status !== 202)
      throw new Error(`POST /v1/batches answered ${res.status}: ${JSON.stringify(body)}`);
    const batchId = Number(body.id);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const open = await t.db.pool.query<{ n: number }>(
        `select count(*)::int as n from messages where batch_id = $1 and status in ('queued', 'sending', 'sent')`,
        [batchId],
      );
      if (open.rows[0]!.n === 0) break;
      if (Date.now() > deadline) throw new Error(`${open.rows[0]!.n} messages not final on ${channel}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const rows = await t.db.pool.query<{ recipient: string; status: string; error_code: string | null }>(
      'select recipient, status, error_code from messages where batch_id = $1 order by id',
      [batchId],
    );
    return rows.rows;
  } finally {
    await hongyan.stop();
  }
}

describe('each message gets exactly its own outcome through the real worker', () => {
  for (const [i, s] of styles.entries()) {
    it(`${s.idFormat} ids on a channel set to ${s.convention}`, async () => {
      const rows = await sendThrough(s.name, 600, `+861380${i}00`);
      expect(rows).toHaveLength(600);
      for (const m of rows) {
        const fails = /[89]$/.test(m.recipient);
        expect({ to: m.recipient, status: m.status }).toEqual({
          to: m.recipient,
          status: fails ? 'undelivered' : 'delivered',
        });
        if (fails) expect(m.error_code).toMatch(/^carrier\.UNDELIV/);
      }
      const channel = await t.db.pool.query<{ id: number; id_convention_learned: string | null }>(
        'select id, id_convention_learned from channels where name = $1',
        [s.name],
      );
      const counts = (await readReceiptCounts(t.db.pool)).find((c) => c.channelId === channel.rows[0]!.id)!;
      expect(counts).toMatchObject({ applied: 600, duplicate: 0, expired: 0, waiting: 0 });
      if (s.convention === 'auto') {
        // The first receipts waited parked until the convention was learned (from at least
        // LEARN_MIN_VOTES of them); the later ones were applied by it as they came.
        expect(channel.rows[0]!.id_convention_learned).toBe('as-is');
        expect(counts.parked).toBeGreaterThanOrEqual(LEARN_MIN_VOTES);
        expect(counts.parked).toBeLessThan(600);
      }
    }, 90_000);
  }
});
