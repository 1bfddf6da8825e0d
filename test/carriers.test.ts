// Carriers that misbehave, each in one way, through the whole pipeline: receipts before the
// submit_sm_resp with ids in hex in one place and decimal in the other, dropped connections,
// full queues, rejections, and handsets that reply. Plus the receipt window on a fake clock.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/app/config.ts';
import { createContext } from '../src/app/context.ts';
import { type RunningHongyan, startHongyan } from '../src/app/start.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { startWorker } from '../src/modules/dispatch/worker.ts';
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
  },
  {
    ...base,
    name: 'rejecting',
    rejectRate: 0.2,
    rejectStatuses: [0x0b],
    deliveryRate: 0.8,
    expiredRate: 0.1,
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
  // The worker re-reads channels every 5 s; wait until only that channel is bound.
  await new Promise((r) => setTimeout(r, 5500));
}

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
  for (const name of ['quirky', 'rejecting', 'chatty', 'split']) {
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
    },
    configFile: null,
  });
  hongyan = await startHongyan({
    config,
    roles: ['api', 'worker'],
    installSignalHandlers: false,
    json: true,
  });
  key = (await createTenant({ name: 'carriers', repository: createAccountsRepository(t.db.kysely) })).apiKey
    .key;
}, 60_000);

afterAll(async () => {
  await hongyan?.stop();
  await simulator?.close();
  await t?.drop();
});

const recipients = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({ to: `${prefix}${String(i).padStart(4, '0')}` }));

describe('misbehaving carriers', () => {
  it('matches early receipts across hex and decimal ids, survives disconnects and full queues', async () => {
    await useChannel('quirky');
    const batch = await api('POST', '/v1/batches', {
      content: 'quirky carrier',
      recipients: recipients(1000, '1380000'),
    });
    const done = await waitBatch(batch.body.id, 60_000);
    expect(done.counts).toEqual({ delivered: 1000 });
    expect(simulator.stats().disconnects).toBeGreaterThan(0);
    expect(simulator.stats().queueFull).toBeGreaterThan(0);
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

  it('records rejections and failed receipts with the carrier’s codes', async () => {
    await useChannel('rejecting');
    const batch = await api('POST', '/v1/batches', {
      content: 'rejecting carrier',
      recipients: recipients(300, '1390000'),
    });
    const done = await waitBatch(batch.body.id);
    expect(done.counts.rejected).toBeGreaterThan(20);
    expect(done.counts.delivered).toBeGreaterThan(100);
    const list = await api('GET', `/v1/messages?batch_id=${batch.body.id}&status=rejected&limit=1`);
    expect(list.body.data[0].error.code).toBe('smpp.ESME_RINVDSTADR');
    const undelivered = await api('GET', `/v1/messages?batch_id=${batch.body.id}&status=undelivered&limit=1`);
    if (undelivered.body.data.length > 0)
      expect(undelivered.body.data[0].error.code).toMatch(/^carrier\.UNDELIV/);
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
