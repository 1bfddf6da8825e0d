// End to end through real sockets: HTTP → PostgreSQL → dispatcher → SMPP → carrier simulator →
// delivery receipt → stored, with the roles of `hongyan start` running in this process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/app/config.ts';
import { type RunningHongyan, startHongyan } from '../src/app/start.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { creditForTests } from '../src/modules/billing/billing.testkit.ts';
import { createTestDatabase } from './helpers/db.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let hongyan: RunningHongyan;
let db: Db;
let key: string;
let tenantId: number;

async function api(method: string, route: string, body?: unknown, apiKey = key) {
  const res = await fetch(`${hongyan.httpUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  t = await createTestDatabase();
  const config = loadConfig({
    env: {
      DATABASE_URL: t.url,
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_SIMULATOR_PORT: '0',
      HONGYAN_LOG_LEVEL: 'silent',
    },
    configFile: null,
  });
  hongyan = await startHongyan({
    config,
    roles: ['api', 'worker', 'simulator'],
    installSignalHandlers: false,
    json: true,
  });
  db = createDb({ connectionString: t.url, max: 3 });
  const created = await createTenant({ name: 'e2e', repository: createAccountsRepository(db.kysely) });
  await creditForTests(db.pool, created.tenant.id);
  await grantSending({ db: db.pool, tenantId: created.tenant.id, signatures: ['鸿雁'], freeText: true });
  key = created.apiKey.key;
  tenantId = created.tenant.id;
});

afterAll(async () => {
  await hongyan?.stop();
  await db?.close();
  await t?.drop();
});

describe('the pipeline', () => {
  // How fast is measured by the benchmark (verification p99 behind a backlog), not asserted here.
  it('delivers a verification code, every state timestamped in order', async () => {
    const sent = await api('POST', '/v1/messages', {
      to: '+8613800138000',
      content: '【鸿雁】您的验证码是 123456，5分钟内有效',
      type: 'verification',
    });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ parts: 1 });
    // `sending` when the node's dispatcher claimed it as it was written (directClaims, below).
    expect(['queued', 'sending']).toContain(sent.body.status);
    const done = await waitFor(async () => {
      const r = await api('GET', `/v1/messages/${sent.body.id}`);
      return r.body.status === 'delivered' && r.body;
    });
    expect(done.events.map((e: { status: string }) => e.status)).toEqual([
      'accepted',
      'queued',
      'sending',
      'sent',
      'delivered',
    ]);
    const times = done.events.map((e: { at: string }) => Date.parse(e.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(done.carrier_message_id).toBeTruthy();
    expect(done.duplicate_risk).toBe(false);
  });

  it('claims single sends due now as they are written, each delivered with its own outcome', async () => {
    // A message through first: the dispatcher has claimed since, and found the queue drained.
    const first = await api('POST', '/v1/messages', { to: '+8613800138100', content: '【鸿雁】先行' });
    await waitFor(
      async () => (await api('GET', `/v1/messages/${first.body.id}`)).body.status === 'delivered',
    );
    const sends = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api('POST', '/v1/messages', {
          to: `+86138001382${String(i).padStart(2, '0')}`,
          content: `【鸿雁】直发${i}`,
        }),
      ),
    );
    expect(sends.map((s) => s.status)).toEqual(sends.map(() => 202));
    const ids = sends.map((s) => Number(s.body.id));
    const rows = await waitFor(async () => {
      const r = await db.pool.query(
        `select id, status, recipient, content, claimed_by, attempts, duplicate_risk, carrier_message_id,
                date_trunc('milliseconds', sending_at) = created_at as claimed_at_write,
                queued_at = created_at as queued_at_write
           from messages where id = any($1::bigint[]) order by id`,
        [ids],
      );
      return r.rows.every((m) => m.status === 'delivered') && r.rows;
    });
    // Written `sending`, in one statement with its claim: the answer says so, and the row's
    // sending_at is in its created_at's millisecond (the claim's own instant; a claim's is later).
    const direct = rows.filter((m) => m.claimed_at_write);
    expect(direct.length).toBeGreaterThan(0);
    for (const s of sends.filter((x) => direct.some((m) => String(m.id) === x.body.id)))
      expect(s.body.status).toBe('sending');
    for (const m of rows) {
      expect(m.queued_at_write).toBe(true);
      expect(m.attempts).toBe(1);
      expect(m.duplicate_risk).toBe(false);
      expect(m.claimed_by).toBeTruthy();
    }
    // Each its own carrier id, and each text went to its own recipient.
    expect(new Set(rows.map((m) => m.carrier_message_id)).size).toBe(20);
    rows.forEach((m) => expect(m.content).toBe(`【鸿雁】直发${Number(m.recipient.slice(-2))}`));
    const events = (await api('GET', `/v1/messages/${direct[0]!.id}`)).body.events.map(
      (e: { status: string }) => e.status,
    );
    expect(events).toEqual(['accepted', 'queued', 'sending', 'sent', 'delivered']);
  });

  it('delivers a long message as concatenated parts, and a batch with variables', async () => {
    const long = await api('POST', '/v1/messages', {
      to: '13800138001',
      content: `【鸿雁】${'长'.repeat(200)}`,
    });
    expect(long.body.parts).toBe(4);
    const batch = await api('POST', '/v1/batches', {
      content: '【鸿雁】{name}，您的订单{order}已发货',
      recipients: Array.from({ length: 300 }, (_, i) => ({
        to: `1390000${String(i).padStart(4, '0')}`,
        vars: { name: `客户${i}`, order: `NO${i}` },
      })),
    });
    expect(batch.body.accepted).toBe(300);
    await waitFor(
      async () => (await api('GET', `/v1/batches/${batch.body.id}`)).body.counts.delivered === 300,
    );
    await waitFor(async () => (await api('GET', `/v1/messages/${long.body.id}`)).body.status === 'delivered');
    const parts = await db.pool.query('select count(*)::int as n from message_parts where message_id = $1', [
      Number(long.body.id),
    ]);
    expect(parts.rows[0].n).toBe(4);
  });

  it('holds a scheduled message until its time, then delivers it', async () => {
    const sendAt = new Date(Date.now() + 1500).toISOString();
    const r = await api('POST', '/v1/messages', { to: '13800138002', content: 'scheduled', send_at: sendAt });
    expect(r.body.status).toBe('held');
    await new Promise((res) => setTimeout(res, 500));
    expect((await api('GET', `/v1/messages/${r.body.id}`)).body.status).toBe('held');
    const done = await waitFor(async () => {
      const m = (await api('GET', `/v1/messages/${r.body.id}`)).body;
      return m.status === 'delivered' && m;
    });
    const sending = done.events.find((e: { status: string }) => e.status === 'sending');
    expect(Date.parse(sending.at)).toBeGreaterThanOrEqual(Date.parse(sendAt));
  });

  it('slows down on a throttling carrier and still delivers everything', async () => {
    // A second channel to the same simulator, with the throttling profile (200 TPS), as default.
    await db.pool.query('update channels set is_default = false');
    await db.pool.query(
      `insert into channels (name, host, port, system_id, password, window_size, max_tps, is_default)
       values ('throttled', '127.0.0.1', $1, 'throttle', 'x', 50, 2000, true)`,
      [hongyan.simulatorPort],
    );
    await db.pool.query(`update channels set enabled = false where name = 'simulator'`);
    await new Promise((r) => setTimeout(r, 5500)); // the worker re-reads channels every 5 s
    const batch = await api('POST', '/v1/batches', {
      content: 'throttled',
      recipients: Array.from({ length: 400 }, (_, i) => ({ to: `1370000${String(i).padStart(4, '0')}` })),
    });
    await waitFor(
      async () => (await api('GET', `/v1/batches/${batch.body.id}`)).body.counts.delivered === 400,
      20_000,
    );
    const failed = await db.pool.query(
      `select count(*)::int as n from messages where batch_id = $1 and status <> 'delivered'`,
      [Number(batch.body.id)],
    );
    expect(failed.rows[0].n).toBe(0);
    await db.pool.query(`update channels set enabled = true, is_default = (name = 'simulator')`);
    await db.pool.query(`delete from channels where name = 'throttled'`);
  }, 40_000);

  it('keeps tenants apart', async () => {
    const other = await createTenant({ name: 'other', repository: createAccountsRepository(db.kysely) });
    const mine = await api('POST', '/v1/messages', { to: '13800138003', content: 'mine' });
    expect((await api('GET', `/v1/messages/${mine.body.id}`, undefined, other.apiKey.key)).status).toBe(404);
    expect(tenantId).not.toBe(other.tenant.id);
  });
});
