// Endpoints in the cloud vendors' formats, through the real process: `hongyan start` (API and
// worker) on a database of its own, bound over SMPP to a simulator that fails every recipient
// ending in 7, 8 or 9 (UNDELIV, unknown subscriber) and delivers the others; messages sent over
// HTTP, status reports POSTed to a receiver on a real socket in Aliyun's and Tencent's shapes.
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { loadConfig } from '../../app/config.ts';
import { type RunningHongyan, startHongyan } from '../../app/start.ts';
import { createAccountsRepository } from '../accounts/accounts.repository.ts';
import { createTenant } from '../accounts/accounts.usecases.ts';
import { creditForTests } from '../billing/billing.testkit.ts';
import { cstDateTime } from '../compat/compat.time.ts';
import { grantSending } from '../compliance/signatures/signatures.usecases.ts';
import { fastProfile } from '../simulator/test-helpers.ts';
import { type RunningSimulator, startSimulator } from '../simulator/simulator.ts';
import { verifySignature } from './webhooks.models.ts';

interface Post {
  path: string;
  signature: string;
  contentType: string;
  body: string;
  reports: Record<string, unknown>[];
}

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let simulator: RunningSimulator;
let hongyan: RunningHongyan;
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
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

async function waitFor(fn: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  t = await createTestDatabase();
  simulator = await startSimulator({
    port: 0,
    logger: pino({ level: 'silent' }),
    profiles: [fastProfile('formats', { idFormat: 'sequential', undeliveredSuffixes: ['7', '8', '9'] })],
  });
  await t.db.pool.query(
    `insert into channels (name, host, port, system_id, password, window_size, max_tps, is_default)
     values ('formats', '127.0.0.1', $1, 'formats', 'x', 200, 100000, true)`,
    [simulator.port],
  );
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      posts.push({
        path,
        signature: String(req.headers['x-hy-signature']),
        contentType: String(req.headers['content-type']),
        body,
        reports: JSON.parse(body),
      });
      // What each vendor's receiver answers (Hongyan reads only the 2xx).
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(path === '/aliyun' ? '{"code":0,"msg":"接收成功"}' : '{"result":0,"errmsg":"OK"}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  config = loadConfig({
    env: {
      DATABASE_URL: t.url,
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_SIMULATOR: 'off',
      HONGYAN_LOG_LEVEL: 'silent',
      HONGYAN_DATA_DIR: `${process.env.TMPDIR ?? '/tmp'}/hy-webhook-formats-${process.pid}`,
      HONGYAN_WEBHOOK_ALLOW_RANGES: '127.0.0.1/32',
      HONGYAN_WEBHOOK_INTERVAL_MS: '20',
      HONGYAN_WEBHOOK_BATCH_MAX: '5',
    },
    configFile: null,
  });
  hongyan = await startHongyan({
    config,
    roles: ['api', 'worker'],
    installSignalHandlers: false,
    json: true,
  });
  const created = await createTenant({ name: 'formats', repository: createAccountsRepository(t.db.kysely) });
  await creditForTests(t.db.pool, created.tenant.id);
  await grantSending({ db: t.db.pool, tenantId: created.tenant.id, signatures: ['鸿雁'], freeText: true });
  key = created.apiKey.key;
}, 60_000);

afterAll(async () => {
  await hongyan?.stop();
  await simulator?.close();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
  await t?.drop();
  if (config) rmSync(config.dataDir, { recursive: true, force: true });
});

const CST_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

describe("webhook endpoints in the vendors' formats", () => {
  it('refuses an unknown format, and a vendor format with events other than message.status', async () => {
    const bad = await api('POST', '/v1/webhooks/endpoints', {
      url: `${base}/x`,
      events: ['message.status'],
      format: 'twilio',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('request.invalid');

    const mixed = await api('POST', '/v1/webhooks/endpoints', {
      url: `${base}/x`,
      events: ['message.status', 'message.reply'],
      format: 'aliyun',
    });
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.code).toBe('webhooks.format_events');

    // A Hongyan endpoint with replies cannot become a vendor one, nor a vendor one take replies.
    const plain = await api('POST', '/v1/webhooks/endpoints', {
      url: `${base}/x`,
      events: ['message.status', 'message.reply'],
    });
    expect(plain.status).toBe(201);
    expect(plain.body.endpoint.format).toBe('hongyan');
    const id = plain.body.endpoint.id as string;
    const toTencent = await api('PATCH', `/v1/webhooks/endpoints/${id}`, { format: 'tencent' });
    expect(toTencent.status).toBe(400);
    expect(toTencent.body.error.code).toBe('webhooks.format_events');
    const both = await api('PATCH', `/v1/webhooks/endpoints/${id}`, {
      format: 'tencent',
      events: ['message.status'],
    });
    expect(both.status).toBe(200);
    expect(both.body).toMatchObject({ format: 'tencent', events: ['message.status'] });
    const addReplies = await api('PATCH', `/v1/webhooks/endpoints/${id}`, {
      events: ['message.status', 'message.reply'],
    });
    expect(addReplies.status).toBe(400);
    expect(addReplies.body.error.code).toBe('webhooks.format_events');
    expect((await api('GET', `/v1/webhooks/endpoints/${id}`)).body).toMatchObject({
      format: 'tencent',
      events: ['message.status'],
    });
    expect((await api('DELETE', `/v1/webhooks/endpoints/${id}`)).status).toBe(204);
  });

  it("posts each message's final outcome to each endpoint in that vendor's shape, signed, once", async () => {
    const aliyun = await api('POST', '/v1/webhooks/endpoints', {
      url: `${base}/aliyun`,
      events: ['message.status'],
      format: 'aliyun',
    });
    const tencent = await api('POST', '/v1/webhooks/endpoints', {
      url: `${base}/tencent`,
      events: ['message.status'],
      format: 'tencent',
    });
    expect([aliyun.status, tencent.status]).toEqual([201, 201]);
    expect([aliyun.body.endpoint.format, tencent.body.endpoint.format]).toEqual(['aliyun', 'tencent']);
    const secrets: Record<string, string> = {
      '/aliyun': aliyun.body.secret,
      '/tencent': tencent.body.secret,
    };

    // Ten single sends (those ending in 7, 8, 9 fail) and a batch of two (one fails).
    const singles = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api('POST', '/v1/messages', {
          to: `+861380013800${i}`,
          content: `【鸿雁】report ${i}`,
          client_ref: `ref-${i}`,
        }),
      ),
    );
    for (const s of singles) expect(s.status).toBe(202);
    const batch = await api('POST', '/v1/batches', {
      content: '【鸿雁】batch report',
      recipients: [{ to: '+8613900139001' }, { to: '+8613900139009' }],
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(202);

    const expected = new Map<
      string,
      { national: string; delivered: boolean; ref: string; batch: string | null }
    >();
    singles.forEach((s, i) =>
      expected.set(s.body.id, { national: `1380013800${i}`, delivered: i < 7, ref: `ref-${i}`, batch: null }),
    );
    const batchId = batch.body.id as string;
    // The batch's messages are written by the batch intake: polled until both are listed.
    let batchMessages: { id: string; to: string }[] = [];
    for (const deadline = Date.now() + 60_000; batchMessages.length < 2 && Date.now() < deadline;) {
      batchMessages = (await api('GET', `/v1/messages?batch_id=${batchId}`)).body.data;
      if (batchMessages.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(batchMessages).toHaveLength(2);
    for (const m of batchMessages) {
      const delivered = m.to.endsWith('1');
      expected.set(m.id, {
        national: delivered ? '13900139001' : '13900139009',
        delivered,
        ref: '',
        batch: batchId,
      });
    }

    const reportsAt = (path: string) => posts.filter((p) => p.path === path).flatMap((p) => p.reports);
    const aliyunOf = (id: string, m: { batch: string | null; national: string }) =>
      reportsAt('/aliyun').filter((r) =>
        m.batch === null ? r.biz_id === id : r.biz_id === `${m.batch}^0` && r.phone_number === m.national,
      );
    const tencentOf = (id: string) => reportsAt('/tencent').filter((r) => r.sid === id);
    await waitFor(() =>
      [...expected].every(([id, m]) => aliyunOf(id, m).length > 0 && tencentOf(id).length > 0),
    );

    for (const p of posts.filter((p) => p.path === '/aliyun' || p.path === '/tencent')) {
      const t0 = Number(/t=(\d+)/.exec(p.signature)![1]);
      expect({
        path: p.path,
        verified: verifySignature({
          secret: secrets[p.path]!,
          header: p.signature,
          body: p.body,
          nowSeconds: t0,
        }),
      }).toEqual({ path: p.path, verified: true });
      expect(p.contentType).toBe('application/json');
      expect(Array.isArray(JSON.parse(p.body))).toBe(true);
      expect(p.reports.length).toBeLessThanOrEqual(5);
    }

    for (const [id, m] of expected) {
      const message = (await api('GET', `/v1/messages/${id}`)).body;
      expect({ id, status: message.status }).toEqual({
        id,
        status: m.delivered ? 'delivered' : 'undelivered',
      });
      const sentAt = message.events.find((e: { status: string }) => e.status === 'sent').at as string;
      const doneAt = message.events.at(-1).at as string;
      const failure = m.delivered ? null : (message.error.code as string);
      if (!m.delivered) expect(failure).toMatch(/^carrier\.UNDELIV/);

      const a = aliyunOf(id, m);
      expect(a).toHaveLength(1);
      expect(Object.keys(a[0]!).sort()).toEqual(
        [
          'phone_number',
          'send_time',
          'report_time',
          'success',
          'err_code',
          'err_msg',
          'sms_size',
          'biz_id',
          'out_id',
        ].sort(),
      );
      expect(a[0]).toMatchObject({
        phone_number: m.national,
        send_time: cstDateTime(new Date(sentAt)),
        report_time: cstDateTime(new Date(doneAt)),
        success: m.delivered,
        err_code: m.delivered ? 'DELIVERED' : failure,
        sms_size: '1',
        biz_id: m.batch === null ? id : `${m.batch}^0`,
        out_id: m.ref,
      });
      expect(a[0]!.send_time).toMatch(CST_TIME);

      const tc = tencentOf(id);
      expect(tc).toHaveLength(1);
      expect(Object.keys(tc[0]!).sort()).toEqual(
        ['user_receive_time', 'nationcode', 'mobile', 'report_status', 'errmsg', 'description', 'sid'].sort(),
      );
      expect(tc[0]).toMatchObject({
        user_receive_time: cstDateTime(new Date(doneAt)),
        nationcode: '86',
        mobile: m.national,
        report_status: m.delivered ? 'SUCCESS' : 'FAIL',
        errmsg: m.delivered ? 'DELIVRD' : failure,
        sid: id,
      });
    }

    // `sent` is no report in either format: its deliveries are done without a POST, and say so.
    const first = [...expected.keys()][0]!;
    const deliveries = (
      await api('GET', `/v1/webhooks/deliveries?endpoint_id=${aliyun.body.endpoint.id}&message_id=${first}`)
    ).body.data as { state: string; last_status: number | null; last_error: string | null }[];
    expect(deliveries).toHaveLength(2);
    expect(deliveries.every((d) => d.state === 'delivered')).toBe(true);
    expect(deliveries.map((d) => d.last_error).sort()).toEqual([
      'not sent: no status report in the aliyun format',
      null,
    ]);
  });
});
