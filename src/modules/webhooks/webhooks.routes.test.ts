// Endpoints through the API (inject), deliveries through the worker's sender against a local
// receiver, time from a fake clock: retries back off and end dead-lettered at 24 hours, each
// attempt is listed, replay sends the same event again; SSRF refusals at registration.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { verifySignature } from './webhooks.models.ts';
import { deliverySettingsOf } from './webhooks.start.ts';
import { createWebhookSender, type WebhookSender } from './webhooks.worker.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let strict: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let sender: WebhookSender;
let tenant: Awaited<ReturnType<typeof newTenant>>;
let now = new Date('2026-11-30T00:00:00Z');
const clock = { now: () => now };

let receiver: http.Server;
let receiverUrl: string;
let answer = 500;
const posts: { signature: string; body: string }[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock, env: { HONGYAN_WEBHOOK_ALLOW_RANGES: '127.0.0.1/32' } }));
  ({ app: strict } = await buildTestApp(t.db, { clock }));
  sender = createWebhookSender({
    pool: t.db.pool,
    keyRing: ctx.keyRing,
    now: clock.now,
    settings: deliverySettingsOf(ctx.config),
    logger: pino({ level: 'silent' }),
  });
  tenant = await newTenant(ctx, 'Hooks');
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      posts.push({ signature: String(req.headers['x-hy-signature']), body });
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
});
afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
  await app.close();
  await strict.close();
  await t.drop();
});

const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, on = app) =>
  on.inject({
    method,
    url,
    headers: tenant.auth,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

/** A scheduled message canceled through the API: one message.status event (canceled). */
async function canceledMessage(): Promise<string> {
  const sent = await call('POST', '/v1/messages', {
    to: '13800138000',
    content: '【鸿雁】hello',
    send_at: new Date(now.getTime() + 86_400_000).toISOString(),
  });
  expect(sent.statusCode, sent.body).toBe(202);
  const id = sent.json().id as string;
  expect((await call('POST', `/v1/messages/${id}/cancel`)).statusCode).toBe(200);
  return id;
}

describe('webhook endpoints', () => {
  it.each([
    ['http://127.0.0.1:8080/hook', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[::1]/hook', 'loopback'],
    ['http://[::ffff:10.0.0.1]/hook', 'private'],
    ['http://localhost/hook', 'loopback'],
  ])('refuses %s (%s) without the operator allowance', async (url, range) => {
    const res = await call('POST', '/v1/webhooks/endpoints', { url, events: ['message.status'] }, strict);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error).toMatchObject({ code: 'webhooks.url_refused', details: { range } });
  });

  it('refuses a URL that is not http(s), and a message callback_url that is not', async () => {
    const res = await call('POST', '/v1/webhooks/endpoints', {
      url: 'ftp://example.com/',
      events: ['message.status'],
    });
    expect(res.json().error.code).toBe('webhooks.invalid_url');
    const msg = await call('POST', '/v1/messages', {
      to: '13800138000',
      content: '【鸿雁】x',
      callback_url: 'nope',
    });
    expect(msg.statusCode).toBe(400);
    expect(msg.json().error.code).toBe('webhooks.invalid_url');
  });

  it('shows the secret once, never in lists', async () => {
    const res = await call('POST', '/v1/webhooks/endpoints', { url: receiverUrl, events: ['optout.added'] });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().secret).toMatch(/^whsec_/);
    const list = await call('GET', '/v1/webhooks/endpoints');
    expect(list.body).not.toContain(res.json().secret);
    expect((await call('DELETE', `/v1/webhooks/endpoints/${res.json().endpoint.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/v1/webhooks/endpoints/${res.json().endpoint.id}`)).statusCode).toBe(404);
  });
});

describe('delivery, retries and replay', () => {
  it('retries a failing receiver with doubling waits, dead-letters at 24 hours, lists each attempt, and replays', async () => {
    const created = await call('POST', '/v1/webhooks/endpoints', {
      url: receiverUrl,
      events: ['message.status'],
    });
    const secret = created.json().secret as string;
    const messageId = await canceledMessage();
    const eventCreatedAt = now.getTime();

    answer = 500;
    const waits: number[] = [];
    let delivery: any;
    for (let i = 0; i < 100; i++) {
      expect(await sender.runOnce()).toBe(1);
      const list = await call('GET', `/v1/webhooks/deliveries?message_id=${messageId}`);
      delivery = list.json().data[0];
      if (delivery.state === 'dead') break;
      const next = new Date(delivery.next_attempt_at).getTime();
      waits.push(next - now.getTime());
      // Not a moment early: one millisecond before, nothing is due.
      now = new Date(next - 1);
      expect(await sender.runOnce()).toBe(0);
      now = new Date(next);
    }
    expect(delivery.state).toBe('dead');
    expect(waits.slice(0, 4)).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(Math.max(...waits)).toBe(3_600_000);
    expect(now.getTime() - eventCreatedAt).toBe(24 * 3_600_000);

    // Every attempt was the same event, signed; and each is listed with its status.
    const ids = posts.map((p) => JSON.parse(p.body).events[0].id as string);
    expect(new Set(ids).size).toBe(1);
    for (const p of posts)
      expect(
        verifySignature({
          secret,
          header: p.signature,
          body: p.body,
          nowSeconds: Number(/t=(\d+)/.exec(p.signature)![1]),
        }),
      ).toBe(true);
    const detail = (await call('GET', `/v1/webhooks/deliveries/${delivery.id}`)).json();
    expect(detail.attempt_log).toHaveLength(posts.length);
    expect(detail.attempt_log.every((a: { status_code: number }) => a.status_code === 500)).toBe(true);
    expect(detail.payload).toMatchObject({
      type: 'message.status',
      data: { message_id: messageId, status: 'canceled' },
    });

    answer = 200;
    const replay = await call('POST', `/v1/webhooks/deliveries/${delivery.id}/replay`);
    expect(replay.statusCode, replay.body).toBe(201);
    expect(replay.json()).toMatchObject({ state: 'pending', replay_of: delivery.id, event_id: ids[0] });
    expect((await call('POST', `/v1/webhooks/deliveries/${replay.json().id}/replay`)).json().error.code).toBe(
      'webhooks.replay_refused',
    );
    expect(await sender.runOnce()).toBe(1);
    expect(JSON.parse(posts.at(-1)!.body).events[0].id).toBe(ids[0]);
    const replayed = (await call('GET', `/v1/webhooks/deliveries/${replay.json().id}`)).json();
    expect(replayed).toMatchObject({ state: 'delivered', last_status: 200 });
    expect(replayed.attempt_log).toHaveLength(1);
  });
  it("dead-letters at once a message's callback_url that resolves inside, without retrying", async () => {
    const sent = await call('POST', '/v1/messages', {
      to: '13800138001',
      content: '【鸿雁】callback',
      send_at: new Date(now.getTime() + 86_400_000).toISOString(),
      callback_url: 'http://10.9.9.9/status',
    });
    expect(sent.statusCode, sent.body).toBe(202);
    const id = sent.json().id as string;
    expect((await call('POST', `/v1/messages/${id}/cancel`)).statusCode).toBe(200);
    const before = posts.length;
    await sender.runOnce();
    const rows = (await call('GET', `/v1/webhooks/deliveries?message_id=${id}`)).json().data;
    const callback = rows.find((d: { callback_url: string | null }) => d.callback_url !== null);
    expect(callback).toMatchObject({ state: 'dead', attempts: 1, callback_url: 'http://10.9.9.9/status' });
    expect(callback.last_error).toMatch(/10\.9\.9\.9 refused \(private\)/);
    expect(posts.length - before).toBeLessThanOrEqual(1);
  });
});
