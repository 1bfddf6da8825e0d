// Through the real process: `hongyan start` roles (API, worker, carrier simulator) on a database of
// its own, messages sent over HTTP, status changes made by the dispatcher and the simulator's
// receipts, webhooks POSTed to a receiver on a real socket. A second sender in this process claims
// from the same outbox at the same time, as a second node would.
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.ts';
import { type RunningHongyan, startHongyan } from '../../app/start.ts';
import { createDb, type Db } from '../../db/pool.ts';
import { createAccountsRepository } from '../accounts/accounts.repository.ts';
import { createTenant } from '../accounts/accounts.usecases.ts';
import { creditForTests } from '../billing/billing.testkit.ts';
import { grantSending } from '../compliance/signatures/signatures.usecases.ts';
import { lazyKeyRing, loadKeyRing } from '../../shared/secrets.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { verifySignature } from './webhooks.models.ts';
import { deliverySettingsOf } from './webhooks.start.ts';
import { createWebhookSender } from './webhooks.worker.ts';

interface Post {
  path: string;
  signature: string;
  body: string;
  events: { id: string; type: string; data: { message_id: string; status: string } }[];
}

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let hongyan: RunningHongyan;
let db: Db;
let key: string;
let receiver: http.Server;
let base: string;
const posts: Post[] = [];
let config: ReturnType<typeof loadConfig>;

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

async function waitFor(fn: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  t = await createTestDatabase();
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      posts.push({
        path: req.url ?? '',
        signature: String(req.headers['x-hy-signature']),
        body,
        events: JSON.parse(body).events,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  config = loadConfig({
    env: {
      DATABASE_URL: t.url,
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_SIMULATOR_PORT: '0',
      HONGYAN_LOG_LEVEL: 'silent',
      HONGYAN_DATA_DIR: `${process.env.TMPDIR ?? '/tmp'}/hy-webhooks-${process.pid}`,
      HONGYAN_WEBHOOK_ALLOW_RANGES: '127.0.0.1/32',
      HONGYAN_WEBHOOK_INTERVAL_MS: '20',
      HONGYAN_WEBHOOK_BATCH_MAX: '7',
      HONGYAN_BATCH_COMPLETION_INTERVAL_MS: '100',
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
  const created = await createTenant({ name: 'hooks', repository: createAccountsRepository(db.kysely) });
  await creditForTests(db.pool, created.tenant.id);
  await grantSending({ db: db.pool, tenantId: created.tenant.id, signatures: ['鸿雁'], freeText: true });
  key = created.apiKey.key;
});

afterAll(async () => {
  await hongyan?.stop();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
  await db?.close();
  await t?.drop();
  if (config) rmSync(config.dataDir, { recursive: true, force: true });
});

describe('webhooks end to end', () => {
  it("delivers each message's status events to its endpoint and its own callback_url: in order, signed, once each", async () => {
    const endpoint = await api('POST', '/v1/webhooks/endpoints', {
      url: `${base}/endpoint`,
      events: ['message.status'],
    });
    expect(endpoint.status).toBe(201);
    const secret = endpoint.body.secret as string;
    const callbackSecret = (await api('POST', '/v1/webhooks/callback-secret')).body.secret as string;

    // A second node's sender, sharing the outbox with the worker of the running process.
    const second = createWebhookSender({
      pool: db.pool,
      keyRing: lazyKeyRing(() => loadKeyRing({ masterKey: config.masterKey, dataDir: config.dataDir })),
      now: () => new Date(),
      settings: deliverySettingsOf(config),
      logger: pino({ level: 'silent' }),
    });
    let stopSecond = false;
    const secondLoop = (async () => {
      while (!stopSecond) {
        if ((await second.runOnce()) === 0) await new Promise((r) => setTimeout(r, 10));
      }
    })();

    const sends = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        api('POST', '/v1/messages', {
          to: `+86138${String(10_000_000 + i).slice(-8)}`,
          content: `【鸿雁】webhook ${i}`,
          ...(i % 2 === 0 ? { callback_url: `${base}/callback?m=${i}` } : {}),
        }),
      ),
    );
    for (const s of sends) expect(s.status).toBe(202);
    const ids = sends.map((s) => s.body.id as string);
    const withCallback = new Set(ids.filter((_, i) => i % 2 === 0));

    const eventsAt = (prefix: string, id: string) =>
      posts
        .filter((p) => p.path.startsWith(prefix))
        .flatMap((p) => p.events.filter((e) => e.data.message_id === id));
    const final = (prefix: string, id: string) =>
      eventsAt(prefix, id).some((e) => e.data.status === 'delivered');
    await waitFor(
      () =>
        ids.every((id) => final('/endpoint', id)) && [...withCallback].every((id) => final('/callback', id)),
    );
    stopSecond = true;
    await secondLoop;

    for (const p of posts) {
      const s = p.path.startsWith('/endpoint') ? secret : callbackSecret;
      const t0 = Number(/t=(\d+)/.exec(p.signature)![1]);
      expect({
        path: p.path,
        verified: verifySignature({ secret: s, header: p.signature, body: p.body, nowSeconds: t0 }),
      }).toEqual({ path: p.path, verified: true });
      expect(p.events.length).toBeLessThanOrEqual(7);
    }
    for (const id of ids) {
      for (const prefix of withCallback.has(id) ? ['/endpoint', '/callback'] : ['/endpoint']) {
        const events = eventsAt(prefix, id);
        const eventIds = events.map((e) => Number(e.id.slice(4)));
        // Once each, in the order they happened (event ids grow with each status change).
        expect({ id, prefix, eventIds }).toEqual({
          id,
          prefix,
          eventIds: [...new Set(eventIds)].sort((a, b) => a - b),
        });
        expect({ id, prefix, statuses: events.map((e) => e.data.status) }).toMatchObject({
          id,
          prefix,
          statuses: expect.arrayContaining(['delivered']),
        });
        expect(events.at(-1)!.data.status).toBe('delivered');
        expect(events.every((e) => e.type === 'message.status')).toBe(true);
      }
      if (!withCallback.has(id)) expect(eventsAt('/callback', id)).toEqual([]);
    }
    const listed = await api('GET', `/v1/webhooks/deliveries?message_id=${ids[0]}`);
    expect(listed.body.data.length).toBeGreaterThan(0);
    expect(listed.body.data.every((d: { state: string }) => d.state === 'delivered')).toBe(true);
  });

  it('announces batch.completed once per batch, when its last message is final, with its counts', async () => {
    const endpoint = await api('POST', '/v1/webhooks/endpoints', {
      url: `${base}/batches`,
      events: ['batch.completed'],
    });
    expect(endpoint.status).toBe(201);
    const recipients = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => ({ to: `+86139${String(20_000_000 + from + i).slice(-8)}` }));
    // A batch of 5 (one number invalid: refused at intake) and a batch scheduled for tomorrow.
    const now = await api('POST', '/v1/batches', {
      content: '【鸿雁】batch done',
      recipients: [...recipients(4, 0), { to: '12345' }],
    });
    expect(now.status, JSON.stringify(now.body)).toBe(202);
    const later = await api('POST', '/v1/batches', {
      content: '【鸿雁】batch later',
      recipients: recipients(3, 100),
      send_at: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(later.status).toBe(202);
    const batchEvents = () =>
      posts.filter((p) => p.path === '/batches').flatMap((p) => p.events) as unknown as {
        id: string;
        type: string;
        data: { batch_id: string; total: number; accepted: number; counts: Record<string, number> };
      }[];
    await waitFor(() => batchEvents().some((e) => e.data.batch_id === now.body.id));
    const done = await api('GET', `/v1/batches/${now.body.id}`);
    expect(done.body.completed_at).not.toBeNull();
    expect(done.body.counts).toEqual({ delivered: 4 });
    // A few more sweeps: still one event, and none for the scheduled batch.
    await new Promise((r) => setTimeout(r, 500));
    const events = batchEvents();
    expect(events.filter((e) => e.data.batch_id === now.body.id)).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'batch.completed',
      data: { batch_id: now.body.id, total: 5, accepted: 4, counts: { delivered: 4 } },
    });
    expect(events.some((e) => e.data.batch_id === later.body.id)).toBe(false);
    expect((await api('GET', `/v1/batches/${later.body.id}`)).body.completed_at).toBeNull();
    // Canceled, the scheduled batch is complete too (every message final), and announced once.
    expect((await api('POST', `/v1/batches/${later.body.id}/cancel`)).status).toBe(200);
    await waitFor(() => batchEvents().some((e) => e.data.batch_id === later.body.id));
    expect(batchEvents().find((e) => e.data.batch_id === later.body.id)!.data.counts).toEqual({
      canceled: 3,
    });
  });
});
