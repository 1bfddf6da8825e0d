// GET /metrics against a running Hongyan (HTTP port, dispatcher, carrier simulator): messages sent
// through the API move the figures they should (recent messages by state, channel outcomes,
// submit and receipt latency, HTTP latency by route pattern); queue depth by lane and the webhook
// backlog through inject on a node with no worker; who may scrape; and every metric the Grafana
// dashboard queries exists in a scrape.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/app/config.ts';
import { type RunningHongyan, startHongyan } from '../src/app/start.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { creditForTests } from '../src/modules/billing/billing.testkit.ts';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { buildTestApp, newTenant } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';

const TOKEN = 'scrape-secret-for-tests';
let t: Awaited<ReturnType<typeof createTestDatabase>>;
let hongyan: RunningHongyan;
let db: Db;
let key: string;

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Samples of a Prometheus text exposition: `name{labels}` → value. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** Sum of the samples of `name` whose labels include every `labels` pair. */
function sum(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [series, value] of samples) {
    const m = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})?$/.exec(series);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) total += value;
  }
  return total;
}

async function scrape(): Promise<{ text: string; samples: Map<string, number> }> {
  const res = await fetch(`${hongyan.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const text = await res.text();
  return { text, samples: parse(text) };
}

beforeAll(async () => {
  t = await createTestDatabase();
  const config = loadConfig({
    env: {
      DATABASE_URL: t.url,
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_SIMULATOR_PORT: '0',
      HONGYAN_LOG_LEVEL: 'silent',
      HONGYAN_METRICS_TOKEN: TOKEN,
      HONGYAN_SMPP_PORT: '0',
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
  const created = await createTenant({ name: 'metrics', repository: createAccountsRepository(db.kysely) });
  await creditForTests(db.pool, created.tenant.id);
  await grantSending({ db: db.pool, tenantId: created.tenant.id, signatures: ['鸿雁'], freeText: true });
  key = created.apiKey.key;
});

afterAll(async () => {
  await hongyan?.stop();
  await db?.close();
  await t?.drop();
});

describe('GET /metrics on a running Hongyan', () => {
  it('moves with messages sent through the simulator', async () => {
    const before = (await scrape()).samples;
    const delivered = (s: Map<string, number>) =>
      sum(s, 'hongyan_messages_recent', { state: 'delivered', type: 'notification' });
    expect(delivered(before)).toBe(0);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${hongyan.httpUrl}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to: `+86139001390${String(i).padStart(2, '0')}`, content: `metrics ${i}` }),
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    // Every message final (the simulator's default profile delivers or fails each one).
    const finals = await waitFor(async () => {
      const r = await db.pool.query<{ status: string; n: string }>(
        `select status, count(*) as n from messages where id = any($1::bigint[])
           and status in ('delivered', 'undelivered', 'expired', 'rejected', 'failed') group by status`,
        [ids],
      );
      const total = r.rows.reduce((a, x) => a + Number(x.n), 0);
      return total === ids.length ? new Map(r.rows.map((x) => [x.status, Number(x.n)])) : null;
    });
    const after = (await scrape()).samples;
    // Recent messages by state and type: exactly what the table holds.
    expect(delivered(after)).toBe(finals.get('delivered') ?? 0);
    expect(sum(after, 'hongyan_messages_recent', { type: 'notification' })).toBe(6);
    // The channel's outcomes and throughput (the routing health scan).
    expect(sum(after, 'hongyan_channel_outcomes', { outcome: 'delivered' })).toBe(
      finals.get('delivered') ?? 0,
    );
    expect(sum(after, 'hongyan_channel_submitted')).toBe(6);
    expect(sum(after, 'hongyan_channel_submitted_last_minute')).toBeGreaterThan(0);
    if ((finals.get('delivered') ?? 0) > 0)
      expect(sum(after, 'hongyan_channel_delivery_rate')).toBeGreaterThan(0);
    // In-process histograms: one submit per (single-part) message, a receipt for each.
    const submits = (s: Map<string, number>) =>
      sum(s, 'hongyan_submit_latency_seconds_count', { outcome: 'ok' });
    expect(submits(after) - submits(before)).toBe(6);
    const receipts = (s: Map<string, number>) => sum(s, 'hongyan_receipt_latency_seconds_count');
    expect(receipts(after) - receipts(before)).toBe(6);
    // HTTP latency by route pattern, not by URL.
    const posts = (s: Map<string, number>) =>
      sum(s, 'hongyan_http_request_duration_seconds_count', {
        route: '/v1/messages',
        method: 'POST',
        status_code: '202',
      });
    expect(posts(after) - posts(before)).toBe(6);
    const get = await fetch(`${hongyan.httpUrl}/v1/messages/${ids[0]}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(get.status).toBe(200);
    const later = (await scrape()).samples;
    expect(
      sum(later, 'hongyan_http_request_duration_seconds_count', { route: '/v1/messages/:id', method: 'GET' }),
    ).toBe(1);
    expect([...later.keys()].some((k) => k.includes(`/v1/messages/${ids[0]}`))).toBe(false);
  });

  it('refuses a scrape without the token, or with a wrong one', async () => {
    expect((await fetch(`${hongyan.httpUrl}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${hongyan.httpUrl}/metrics`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('metrics.unauthenticated');
  });

  it('every metric the Grafana dashboard queries is in the scrape', async () => {
    const dashboard = JSON.parse(
      readFileSync(new URL('../docs/grafana-dashboard.json', import.meta.url), 'utf8'),
    ) as {
      panels: { targets: { expr: string }[] }[];
    };
    const { text } = await scrape();
    const families = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]!));
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((x) => x.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const expr of exprs) {
      for (const [name] of expr.matchAll(/hongyan_[a-z0-9_]+/g)) {
        const family = name.replace(/_(bucket|count|sum)$/, '');
        if (!families.has(family) && !families.has(name)) missing.push(name);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('GET /metrics with no worker running (inject)', () => {
  let u: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: FastifyInstance;
  let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
  beforeAll(async () => {
    u = await createTestDatabase();
    ({ app, ctx } = await buildTestApp(u.db));
  });
  afterAll(async () => {
    await app.close();
    await u.drop();
  });

  it('without a token answers loopback only', async () => {
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    const far = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.1.2.3' });
    expect(far.statusCode).toBe(403);
    expect(far.json().error.code).toBe('metrics.forbidden');
  });

  it('counts queue depth by lane and the webhook backlog', async () => {
    const tenant = await newTenant(ctx, 'Queue');
    const send = (payload: object) =>
      app.inject({ method: 'POST', url: '/v1/messages', headers: tenant.auth, payload });
    for (let i = 0; i < 3; i++)
      expect((await send({ to: `1390013900${i}`, content: `queued ${i}` })).statusCode).toBe(202);
    expect((await send({ to: '13900139010', content: '验证码 1234', type: 'verification' })).statusCode).toBe(
      202,
    );
    const hook = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/endpoints',
      headers: tenant.auth,
      payload: { url: 'https://93.184.216.34/hooks', events: ['message.status'] },
    });
    expect(hook.statusCode, hook.body).toBe(201);
    const scheduled = await send({
      to: '13900139011',
      content: 'later',
      send_at: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(
      (
        await app.inject({
          method: 'POST',
          url: `/v1/messages/${scheduled.json().id}/cancel`,
          headers: tenant.auth,
        })
      ).statusCode,
    ).toBe(200);
    const samples = parse((await app.inject({ method: 'GET', url: '/metrics' })).body);
    expect(sum(samples, 'hongyan_queue_depth', { lane: 'notification' })).toBe(3);
    expect(sum(samples, 'hongyan_queue_depth', { lane: 'verification' })).toBe(1);
    expect(sum(samples, 'hongyan_queue_depth', { lane: 'marketing' })).toBe(0);
    expect(sum(samples, 'hongyan_messages_open', { state: 'queued' })).toBe(4);
    expect(sum(samples, 'hongyan_messages_recent', { state: 'canceled', type: 'notification' })).toBe(1);
    expect(sum(samples, 'hongyan_webhook_backlog')).toBe(1);
  });
});
