// The TypeScript client (clients/typescript) against the OpenAPI document (every route it calls
// exists with that method) and against a running Hongyan on a real HTTP port with the simulator:
// send and status with a bearer key, the same with signed requests, a batch, a verification
// round trip, and a real webhook POST verified with the client's helper.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HongyanClient, HongyanError, ROUTES, verifyWebhookSignature } from '../clients/typescript/client.ts';
import { signRequest } from '../clients/typescript/signing.ts';
import { loadConfig } from '../src/app/config.ts';
import { type RunningHongyan, startHongyan } from '../src/app/start.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { creditForTests } from '../src/modules/billing/billing.testkit.ts';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { createTestDatabase } from './helpers/db.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let hongyan: RunningHongyan;
let db: Db;
let bearer: HongyanClient;
let signed: HongyanClient;
let appKey: string;
let appSecret: string;
let baseUrl: string;
let receiver: http.Server;
let receiverUrl: string;
const posts: { signature: string; body: string }[] = [];

const FINAL = ['delivered', 'undelivered', 'expired', 'rejected', 'failed'];

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  t = await createTestDatabase();
  const config = loadConfig({
    env: {
      DATABASE_URL: t.url,
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_SIMULATOR_PORT: '0',
      HONGYAN_SMPP_PORT: '0',
      HONGYAN_LOG_LEVEL: 'silent',
      HONGYAN_WEBHOOK_ALLOW_RANGES: '127.0.0.1/32',
      HONGYAN_WEBHOOK_INTERVAL_MS: '200',
    },
    configFile: null,
  });
  hongyan = await startHongyan({
    config,
    roles: ['api', 'worker', 'simulator'],
    installSignalHandlers: false,
    json: true,
  });
  baseUrl = hongyan.httpUrl!;
  db = createDb({ connectionString: t.url, max: 3 });
  const created = await createTenant({ name: 'client', repository: createAccountsRepository(db.kysely) });
  await creditForTests(db.pool, created.tenant.id);
  await grantSending({ db: db.pool, tenantId: created.tenant.id, signatures: ['鸿雁'], freeText: true });
  bearer = new HongyanClient({ baseUrl: baseUrl, auth: { apiKey: created.apiKey.key } });
  const res = await fetch(`${baseUrl}/v1/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${created.apiKey.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'client test', scopes: ['send', 'read', 'webhooks'] }),
  });
  expect(res.status).toBe(201);
  const credential = (await res.json()) as { credential: { app_key: string }; app_secret: string };
  appKey = credential.credential.app_key;
  appSecret = credential.app_secret;
  signed = new HongyanClient({
    baseUrl: baseUrl,
    auth: { appKey, appSecret },
  });
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      posts.push({ signature: String(req.headers['x-hy-signature']), body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
});

afterAll(async () => {
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
  await hongyan?.stop();
  await db?.close();
  await t?.drop();
});

describe('the TypeScript client', () => {
  it('calls only routes the OpenAPI document has, with those methods', async () => {
    const doc = (await (await fetch(`${baseUrl}/docs/json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const missing = Object.entries(ROUTES).filter(
      ([, [method, path]]) => !doc.paths[path]?.[method.toLowerCase()],
    );
    expect(missing).toEqual([]);
  });

  it('sends a message and follows it to a final state (bearer key)', async () => {
    const sent = await bearer.sendMessage({ to: '+8613700137001', content: 'client hello' });
    // `sending` when the node's dispatcher claimed it as it was written (directClaims).
    expect(['queued', 'sending']).toContain(sent.status);
    const final = await waitFor(async () => {
      const m = await bearer.getMessage(sent.id);
      return FINAL.includes(m.status) ? m : null;
    });
    expect(final.id).toBe(sent.id);
    expect(final.to).toBe('+8613700137001');
  });

  it('signs requests with an AppKey/AppSecret; a wrong secret is refused with its code', async () => {
    const sent = await signed.sendMessage({ to: '+8613700137002', content: 'signed hello' });
    const read = await signed.getMessage(sent.id);
    expect(read.id).toBe(sent.id);
    const list = await signed.listMessages();
    expect(list.data.some((m) => m.id === sent.id)).toBe(true);
    const forged = new HongyanClient({
      baseUrl: baseUrl,
      auth: { appKey, appSecret: 'not-the-secret' },
    });
    const refused = await forged.getMessage(sent.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HongyanError);
    expect((refused as HongyanError).code).toBe('auth.signature_invalid');
    // The same signed headers twice: the nonce is spent once.
    const headers = await signRequest({
      appKey,
      appSecret,
      method: 'GET',
      target: `/v1/messages/${sent.id}`,
    });
    const first = await fetch(`${baseUrl}/v1/messages/${sent.id}`, { headers });
    const again = await fetch(`${baseUrl}/v1/messages/${sent.id}`, { headers });
    expect([first.status, again.status]).toEqual([200, 401]);
  });

  it('sends a batch and reads it back', async () => {
    const batch = await signed.sendBatch({
      content: 'batch {name}',
      recipients: [
        { to: '+8613700137003', params: { name: 'a' } },
        { to: '+8613700137004', params: { name: 'b' } },
      ],
    });
    expect(batch.accepted).toBe(2);
    expect((await bearer.getBatch(batch.id)).total).toBe(2);
  });

  it('runs a verification: start, a refused early resend, check', async () => {
    const v = await signed.startVerification({ to: '+8613700137005', code_length: 6 });
    expect(v.status).toBe('pending');
    const early = await signed.startVerification({ to: '+8613700137005' }).catch((e: unknown) => e);
    expect((early as HongyanError).code).toBe('verifications.cooldown');
    expect((early as HongyanError).retryAfter).toBeGreaterThan(0);
    const { rows } = await db.pool.query<{ content: string }>('select content from messages where id = $1', [
      v.message_id,
    ]);
    const code = /(\d{6})/.exec(rows[0]!.content)![1]!;
    const checked = await signed.checkVerification({ to: '+8613700137005', code });
    expect(checked.status).toBe('approved');
    expect((await bearer.getVerification(v.id)).status).toBe('approved');
  });

  it('registers a webhook endpoint; the POST it receives verifies with the helper', async () => {
    const { endpoint, secret } = await signed.createWebhookEndpoint({
      url: receiverUrl,
      events: ['message.status'],
    });
    expect((await signed.listWebhookEndpoints()).data.map((e) => e.id)).toContain(endpoint.id);
    const sent = await bearer.sendMessage({ to: '+8613700137006', content: 'hooked' });
    const post = await waitFor(async () => posts.find((p) => p.body.includes(`"message_id":"${sent.id}"`)));
    expect(await verifyWebhookSignature({ secret, header: post.signature, rawBody: post.body })).toBe(true);
    expect(await verifyWebhookSignature({ secret, header: post.signature, rawBody: `${post.body} ` })).toBe(
      false,
    );
    expect(
      await verifyWebhookSignature({ secret: 'other', header: post.signature, rawBody: post.body }),
    ).toBe(false);
    const deliveries = await signed.listWebhookDeliveries({ endpoint_id: endpoint.id });
    expect(deliveries.data.length).toBeGreaterThan(0);
  });

  it("the webhook helper recomputes docs/webhooks.md's worked example, and refuses it out of time", async () => {
    const doc = readFileSync(new URL('../docs/webhooks.md', import.meta.url), 'utf8');
    const secret = /secret: `([^`]+)`/.exec(doc)![1]!;
    const t0 = Number(/timestamp: `(\d+)`/.exec(doc)![1]);
    const body = /```json\n(\{"events".*\})\n```/.exec(doc)![1]!;
    const header = /X-Hy-Signature: (t=\d+,v1=[0-9a-f]+)`/.exec(doc)![1]!;
    expect(await verifyWebhookSignature({ secret, header, rawBody: body, nowSeconds: t0 + 10 })).toBe(true);
    expect(await verifyWebhookSignature({ secret, header, rawBody: body, nowSeconds: t0 + 301 })).toBe(false);
  });
});
