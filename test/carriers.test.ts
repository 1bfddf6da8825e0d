// Carriers that misbehave, each in one way, through the whole pipeline: receipts before the
// submit_sm_resp with ids in hex in one place and decimal in the other, dropped connections,
// full queues, a rate limit, rejections, and handsets that reply. Plus the receipt window on a
// fake clock. The carrier decides each message's outcome from its number (endings 8 and 9 are
// unknown subscribers), so every test checks that each message got its own outcome.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/app/config.ts';
import { createContext } from '../src/app/context.ts';
import { type RunningHongyan, startHongyan } from '../src/app/start.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { creditForTests } from '../src/modules/billing/billing.testkit.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import { startWorker, type Worker } from '../src/modules/dispatch/worker.ts';
import { retryParkedReceipts } from '../src/modules/receipts/receipt-matching.ts';
import { BUILT_IN_PROFILES, type SimulatorProfile } from '../src/modules/simulator/simulator.models.ts';
import { type RunningSimulator, startSimulator } from '../src/modules/simulator/simulator.ts';
import { createTestDatabase } from './helpers/db.ts';

const base = BUILT_IN_PROFILES.find((p) => p.name === 'default')!;
const profiles: SimulatorProfile[] = [
  {
    ...base,
    name: 'quirky',
    receiptBeforeResponseRate: 0.5,
    idFormat: 'hex-resp-decimal-receipt',
    disconnectAfterSubmits: 250,
    queueFullRate: 0.05,
    receiptLatencyMs: { min: 1, median: 20, max: 100 },
    undeliveredSuffixes: ['8', '9'],
  },
  {
    ...base,
    name: 'limited',
    throttleAboveTps: 300,
    receiptLatencyMs: { min: 1, median: 5, max: 20 },
    undeliveredSuffixes: ['9'],
  },
  {
    ...base,
    name: 'rejecting',
    rejectRate: 0.2,
    rejectStatuses: [0x0b],
    undeliveredSuffixes: ['9'],
  },
  {
    ...base,
    name: 'chatty',
    replyRate: 1,
    replies: ['TD'],
    replyLatencyMs: { min: 10, median: 30, max: 80 },
  },
];

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let simulator: RunningSimulator;
let hongyan: RunningHongyan;
let workerDb: Db;
let worker: Worker;
let key: string;

async function api(method: string, route: string, body?: unknown) {
  const res = await fetch(`${hongyan.httpUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function useChannel(name: string) {
  await t.db.pool.query(
    `update channels set enabled = (name = $1), is_default = (name = $1), updated_at = now()`,
    [name],
  );
  // The worker re-reads channels every 50 ms here (HONGYAN_CHANNEL_SYNC_INTERVAL_MS): wait until
  // that channel alone is bound.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const cs = worker.connectors();
    if (cs.length === 1 && cs[0]!.name === name && cs[0]!.isReady) return cs[0]!;
    if (Date.now() > deadline) throw new Error(`channel ${name} not bound alone`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Each message of the batch with the outcome the carrier decided for its number. */
async function outcomes(batchId: string) {
  const r = await t.db.pool.query<{ recipient: string; status: string; error_code: string | null }>(
    'select recipient, status, error_code from messages where batch_id = $1 order by id',
    [Number(batchId)],
  );
  return r.rows;
}

const ownOutcome = (recipient: string, undelivered: string[]) =>
  undelivered.some((s) => recipient.endsWith(s))
    ? { status: 'undelivered', error_code: 'carrier.UNDELIV.001' }
    : { status: 'delivered', error_code: null };

async function waitBatch(id: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const b = (await api('GET', `/v1/batches/${id}`)).body;
    const open = ['queued', 'sending', 'sent', 'held'].reduce((n, s) => n + (b.counts[s] ?? 0), 0);
    if (open === 0) return b;
    if (Date.now() > deadline) throw new Error(`batch not final: ${JSON.stringify(b.counts)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  t = await createTestDatabase();
  simulator = await startSimulator({ port: 0, logger: pino({ level: 'silent' }), profiles, windowSize: 200 });
  for (const name of ['quirky', 'limited', 'rejecting', 'chatty', 'split']) {
    await t.db.pool.query(
      `insert into channels (name, host, port, system_id, password, window_size, max_tps, source_addr, enabled, bind_mode, id_convention)
       values ($1, '127.0.0.1', $2, $1, 'x', 50, 100000, '106900', false, $3, $4)`,
      [
        name,
        simulator.port,
        name === 'split' ? 'transmitter_receiver' : 'transceiver',
        name === 'quirky' ? 'hex-resp-decimal-receipt' : 'as-is',
      ],
    );
  }
  const config = loadConfig({
    env: {
      DATABASE_URL: t.url,
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_SIMULATOR: 'off',
      HONGYAN_LOG_LEVEL: 'silent',
      HONGYAN_CHANNEL_SYNC_INTERVAL_MS: '50',
    },
    configFile: null,
  });
  hongyan = await startHongyan({
    config,
    roles: ['api'],
    installSignalHandlers: false,
    json: true,
  });
  // The worker of the same process, started here so that the tests can see its channels.
  workerDb = createDb({ connectionString: t.url, max: 20 });
  worker = await startWorker({
    ctx: createContext({ config, db: workerDb, logger: pino({ level: 'silent' }) }),
    nodeId: 'carriers-worker',
    roles: ['worker'],
  });
  const created = await createTenant({ name: 'carriers', repository: createAccountsRepository(t.db.kysely) });
  await creditForTests(t.db.pool, created.tenant.id);
  await grantSending({ db: t.db.pool, tenantId: created.tenant.id, signatures: ['鸿雁'], freeText: true });
  key = created.apiKey.key;
}, 60_000);

afterAll(async () => {
  await hongyan?.stop();
  await worker?.stop();
  await workerDb?.close();
  await simulator?.close();
  await t?.drop();
});

const recipients = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({ to: `${prefix}${String(i).padStart(4, '0')}` }));

describe('misbehaving carriers', () => {
  it('matches early receipts across hex and decimal ids, survives disconnects and full queues', async () => {
    const connector = await useChannel('quirky');
    const batch = await api('POST', '/v1/batches', {
      content: 'quirky carrier',
      recipients: recipients(1000, '1380000'),
    });
    await waitBatch(batch.body.id, 60_000);
    for (const m of await outcomes(batch.body.id))
      expect({ recipient: m.recipient, status: m.status, error_code: m.error_code }).toEqual({
        recipient: m.recipient,
        ...ownOutcome(m.recipient, ['8', '9']),
      });
    expect(simulator.stats().disconnects).toBeGreaterThan(0);
    expect(simulator.stats().queueFull).toBeGreaterThan(0);
    // A full queue is push-back like throttling: counted, and resubmitted rather than failed.
    expect(connector.throttleStats.throttled).toBeGreaterThan(0);
    // Receipts still parked belong to submissions whose answer was lost in a disconnect (the
    // message was resent, marked duplicate_risk, under a new carrier id): none of them may match.
    const client = await t.db.pool.connect();
    try {
      await client.query('begin');
      const retried = await retryParkedReceipts(client, {
        now: new Date(),
        windowHours: 72,
        limit: 100_000,
        readingsOf: () => ['hex-resp-decimal-receipt'],
      });
      await client.query('rollback');
      expect(retried.applied).toBe(0);
    } finally {
      client.release();
    }
    const risky = await t.db.pool.query(
      'select count(*)::int as n from messages where duplicate_risk and batch_id = $1',
      [Number(batch.body.id)],
    );
    expect(risky.rows[0].n).toBeGreaterThan(0);
  }, 90_000);

  it('slows to a carrier’s rate limit: throttling counted, the rate fell, every message its own outcome', async () => {
    const connector = await useChannel('limited');
    const before = simulator.stats().throttled;
    const batch = await api('POST', '/v1/batches', {
      content: 'limited carrier',
      recipients: recipients(1200, '1350000'),
    });
    await waitBatch(batch.body.id, 60_000);
    // Throttled submits were resubmitted until taken: none failed or expired for it.
    for (const m of await outcomes(batch.body.id))
      expect({ recipient: m.recipient, status: m.status, error_code: m.error_code }).toEqual({
        recipient: m.recipient,
        ...ownOutcome(m.recipient, ['9']),
      });
    const throttled = simulator.stats().throttled - before;
    expect(throttled).toBeGreaterThan(0);
    const stats = connector.throttleStats;
    expect(stats.throttled).toBe(throttled);
    // From the channel's 100,000 submits/s down to near the carrier's 300.
    expect(stats.cuts).toBeGreaterThan(0);
    expect(stats.rateTps).toBeLessThan(1000);
  }, 60_000);

  it('records rejections and failed receipts with the carrier’s codes', async () => {
    await useChannel('rejecting');
    const batch = await api('POST', '/v1/batches', {
      content: 'rejecting carrier',
      recipients: recipients(300, '1390000'),
    });
    const done = await waitBatch(batch.body.id);
    // Rejections are drawn at random (20 %); every other message has its number's outcome.
    expect(done.counts.rejected).toBeGreaterThan(20);
    expect(done.counts.undelivered).toBeGreaterThan(0);
    for (const m of await outcomes(batch.body.id)) {
      const expected =
        m.status === 'rejected'
          ? { status: 'rejected', error_code: 'smpp.ESME_RINVDSTADR' }
          : ownOutcome(m.recipient, ['9']);
      expect({ recipient: m.recipient, status: m.status, error_code: m.error_code }).toEqual({
        recipient: m.recipient,
        ...expected,
      });
    }
    const list = await api('GET', `/v1/messages?batch_id=${batch.body.id}&status=undelivered&limit=1`);
    expect(list.body.data[0].error.code).toBe('carrier.UNDELIV.001');
  }, 60_000);

  it('stores replies and links them to the tenant by the number they were sent to', async () => {
    await useChannel('chatty');
    const sent = await api('POST', '/v1/messages', { to: '+8613700001111', content: '【鸿雁】回复TD退订' });
    const deadline = Date.now() + 15_000;
    let replies: any[] = [];
    while (Date.now() < deadline) {
      replies = (await api('GET', '/v1/replies')).body.data;
      if (replies.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(replies[0]).toMatchObject({ from: '+8613700001111', content: 'TD' });
    const message = (await api('GET', `/v1/messages/${sent.body.id}`)).body;
    expect(message.status).toBe('delivered');
    expect(replies[0].to).toMatch(/^106900\d+/);
  }, 30_000);
});

describe('bind modes', () => {
  it('sends on a transmitter bind and takes receipts on a separate receiver bind', async () => {
    const bindsBefore = simulator.stats().binds;
    await useChannel('split');
    expect(simulator.stats().binds - bindsBefore).toBe(2);
    const batch = await api('POST', '/v1/batches', {
      content: 'split binds',
      recipients: recipients(100, '1360000'),
    });
    const done = await waitBatch(batch.body.id);
    expect(done.counts).toEqual({ delivered: 100 });
  }, 30_000);
});

describe('the receipt window', () => {
  it('turns a sent message with no final receipt into unknown after 72 hours (fake clock)', async () => {
    const row = await t.db.pool.query<{ id: number }>(
      `insert into messages (tenant_id, type, priority, recipient, content, encoding, parts, status, sent_at, channel_id, carrier_message_id)
       values (1, 'notification', 1, '+8613800000000', 'lost receipt', 'gsm7', 1, 'sent', now(), 1, 'never') returning id`,
    );
    const config = loadConfig({
      env: { DATABASE_URL: t.url, HONGYAN_LOG_LEVEL: 'silent' },
      configFile: null,
    });
    const clock = { now: () => new Date(Date.now() + 71 * 3600_000) };
    const ctx = createContext({ config, db: t.db, logger: pino({ level: 'silent' }), clock });
    let worker = await startWorker({ ctx, nodeId: 'clock-71h', roles: ['worker'] });
    await new Promise((r) => setTimeout(r, 300));
    await worker.stop();
    const after71 = await t.db.pool.query('select status from messages where id = $1', [row.rows[0]!.id]);
    expect(after71.rows[0].status).toBe('sent');
    clock.now = () => new Date(Date.now() + 73 * 3600_000);
    worker = await startWorker({ ctx, nodeId: 'clock-73h', roles: ['worker'] });
    await new Promise((r) => setTimeout(r, 300));
    await worker.stop();
    const after73 = await t.db.pool.query('select status, error_code from messages where id = $1', [
      row.rows[0]!.id,
    ]);
    expect(after73.rows[0]).toEqual({ status: 'unknown', error_code: 'receipts.window_elapsed' });
  });
});
