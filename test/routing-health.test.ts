// Routing health end to end (issue 10, part B), through real sockets: HTTP intake → dispatcher →
// two channels each bound to its own carrier simulator → receipts → stored → the breaker. Channel b's
// carrier starts delivering only 70 % mid-flood (a simulator delivery phase), then recovers.
// Switches are read through the operator API, as an operator would.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHongyan } from '../src/app/start.ts';
import { type Browser, loginAs, newStaff, withSession } from '../src/modules/accounts/accounts.testkit.ts';
import { createChannelsRepository } from '../src/modules/channels/channels.repository.ts';
import { fastProfile, seeded, silentLogger } from '../src/modules/simulator/test-helpers.ts';
import { startSimulator } from '../src/modules/simulator/simulator.ts';
import { buildTestApp } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';
import { newSendingTenant, startApiWorker } from './helpers/hongyan.ts';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../bin/hongyan.js');

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let hongyan: RunningHongyan;
let operatorApi: FastifyInstance;
let admin: Browser;
let key: string;
const channelIds = { a: 0, b: 0 };

/** Every submit either carrier accepted, in the order they were accepted (one process, one order). */
const order: ('a' | 'b')[] = [];
const acceptedAt: number[] = [];
/** Channel b's delivery phases: the test appends the recovery when it sees the fall recorded. */
const bPhases: { afterAccepted: number; deliveryRate: number }[] = [];
const FALL_AFTER = 600;

async function carrier(name: 'a' | 'b') {
  const sim = await startSimulator({
    port: 0,
    logger: silentLogger,
    random: seeded(name === 'a' ? 11 : 12),
    retryDelayMs: () => 5,
    profiles: [fastProfile('fast', name === 'b' ? { deliveryPhases: bPhases } : {})],
    forceProfile: 'fast',
    onAccepted: () => {
      order.push(name);
      acceptedAt.push(Date.now());
    },
  });
  return sim;
}
let A: Awaited<ReturnType<typeof carrier>>;
let B: Awaited<ReturnType<typeof carrier>>;

async function send(n: number, from: number) {
  for (let i = 0; i < n; i += 1000) {
    const recipients = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
      to: `1390${String(from + i + j).padStart(7, '0')}`,
    }));
    const res = await fetch(`${hongyan.httpUrl}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: '【鸿雁】您的快递已到驿站', recipients }),
    });
    expect(res.status).toBe(202);
  }
}

async function events(): Promise<{ channel_id: number; kind: string; reason: string; created_at: string }[]> {
  const res = await operatorApi.inject({
    method: 'GET',
    url: '/v1/operator/routing/events?limit=1000',
    headers: withSession(admin),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data;
}

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const unfinished = async () =>
  Number(
    (
      await t.db.pool.query<{ n: string }>(
        `select count(*) as n from messages where status not in ('delivered', 'undelivered', 'expired', 'rejected', 'failed', 'unknown')`,
      )
    ).rows[0]!.n,
  );

/** Channel b's share of the accepted submits order[from, to). */
const shareOfB = (from: number, to: number) => {
  const slice = order.slice(from, to);
  return slice.filter((c) => c === 'b').length / slice.length;
};

beforeAll(async () => {
  t = await createTestDatabase();
  bPhases.push({ afterAccepted: FALL_AFTER, deliveryRate: 0.7 });
  A = await carrier('a');
  B = await carrier('b');
  const channels = createChannelsRepository(t.db.kysely);
  const common = { host: '127.0.0.1', windowSize: 50, maxTps: 100_000 };
  channelIds.a = (await channels.addChannel({ ...common, name: 'a', port: A.port, systemId: 'a' })).id;
  channelIds.b = (await channels.addChannel({ ...common, name: 'b', port: B.port, systemId: 'b' })).id;
  hongyan = await startApiWorker(t.url);
  const created = await newSendingTenant(t.db, 'health');
  key = created.apiKey.key;
  ({ app: operatorApi } = await buildTestApp(t.db));
  await newStaff(t.db, 'boss', 'admin');
  admin = (await loginAs(operatorApi, 'boss', 'staff password 1')).browser!;
  // Probes at 5 % instead of the default 2 %, so that recovery (100 probes) fits a short test; set
  // through the operator API while the worker runs (it reads it at its next channel sync).
  const probes = await operatorApi.inject({
    method: 'PATCH',
    url: `/v1/operator/channels/${channelIds.b}/breaker`,
    headers: withSession(admin),
    payload: { probe_share: 0.05 },
  });
  expect(probes.statusCode, probes.body).toBe(200);
  await waitFor(async () => A.stats().sessions > 0 && B.stats().sessions > 0);
}, 60_000);

afterAll(async () => {
  await hongyan?.stop();
  await operatorApi?.close();
  await A?.close();
  await B?.close();
  await t?.drop();
}, 120_000);

describe('delivery-rate failover', () => {
  it('a channel whose delivery rate falls to 70 % mid-flood drops below 10 % of the traffic once its receipts show it, and gets its share back when it recovers', async () => {
    // The flood: b falls at its 600th accepted submit (about the 1,200th message).
    let sent = 0;
    await send(6000, sent);
    sent += 6000;
    const degraded = await waitFor(async () =>
      (await events()).find((e) => e.channel_id === channelIds.b && e.kind === 'degraded'),
    );
    // Where the fall began in the order of accepted submits.
    let bSeen = 0;
    const fallAt = order.findIndex((c) => c === 'b' && ++bSeen > FALL_AFTER);
    // The carrier recovers from here on.
    bPhases.push({ afterAccepted: B.stats().accepted, deliveryRate: 1 });
    const recoveredFrom = order.length;
    await send(6000, sent);
    sent += 6000;
    const recovered = await waitFor(async () =>
      (await events()).find((e) => e.channel_id === channelIds.b && e.kind === 'recovered'),
    );
    const backAt = order.length;
    await send(2000, sent);
    sent += 2000;
    await waitFor(async () => (await unfinished()) === 0);

    // Per message, in the order the carriers accepted them: from which message after the fall
    // did b carry under 10 % of every 250 messages, until it recovered?
    const BLOCK = 250;
    const bBefore = [0];
    for (const c of order) bBefore.push(bBefore.at(-1)! + (c === 'b' ? 1 : 0));
    const bIn = (from: number, to: number) => bBefore[to]! - bBefore[from]!;
    // The last message accepted before the recovery was recorded (both clocks are this machine's).
    const recoveredAt = acceptedAt.findIndex((at) => at > Date.parse(recovered.created_at));
    const spellEnd = (recoveredAt < 0 ? backAt : recoveredAt) - 50;
    let droppedAt = spellEnd - BLOCK;
    while (droppedAt > fallAt && bIn(droppedAt - 1, droppedAt - 1 + BLOCK) < BLOCK * 0.1) droppedAt--;
    const blocks: string[] = [];
    for (let i = fallAt; i < fallAt + 3000 && i < order.length; i += 250)
      blocks.push(`${(shareOfB(i, i + 250) * 100).toFixed(0)}%`);
    const degradedAt = Date.parse(degraded.created_at);
    const atDegrade = acceptedAt.findIndex((at) => at > degradedAt);
    const figures =
      `b's share fell below 10 % ${droppedAt - fallAt} messages after its carrier's fall ` +
      `(${acceptedAt[droppedAt]! - acceptedAt[fallAt]!} ms; the switch event ${atDegrade - fallAt} messages after it); ` +
      `b's share per 250 messages from its fall on: ${blocks.join(' ')}; ` +
      `degraded: ${degraded.reason}; recovered after ${backAt - recoveredFrom} more messages: ${recovered.reason}`;
    console.log(figures);
    expect(shareOfB(0, fallAt)).toBeGreaterThan(0.4);
    // The target is under 10 % within 2,000 messages of the fall. What delays it is the
    // receipts: the breaker can only count a message once its receipt is stored, and every message
    // routed meanwhile still goes half to b. The carrier sends receipts only as fast as we
    // acknowledge them (a window of 64 unanswered deliver_sm), after their write: with four round
    // trips per batch they queued at the carrier for 0.9-2.3 s during the flood (1.3-2.0 s of a
    // 1.2-2.5 s lag), and the figure was 2,240-2,840. One statement per batch (applyKnownReceipts)
    // keeps receipts up with submits, and the node that stores a fall steps the breaker at once
    // instead of at its next 250 ms tick: 790-1,040 at load 2.5-5.5 on 2 cores. The bound is the
    // target itself, about twice those figures, so a loaded machine passes while a breaker that
    // switched only at its ticks or a receipt path that falls behind the flood again does not.
    expect(droppedAt - fallAt, figures).toBeLessThan(2000);
    // From the switch on it gets only its probes: below 10 % (5 % configured here).
    expect(shareOfB(droppedAt, droppedAt + 1000), figures).toBeLessThan(0.1);
    // Back: the messages after the recovery are spread 1:1 again.
    expect(shareOfB(backAt + 200, order.length)).toBeGreaterThan(0.35);
    // Every message ended, each counted once at a carrier.
    expect(order.length).toBe(sent);
  }, 300_000);

  it('shows each channel’s figures to the operator', async () => {
    const res = await operatorApi.inject({
      method: 'GET',
      url: '/v1/operator/routing/health',
      headers: withSession(admin),
    });
    expect(res.statusCode, res.body).toBe(200);
    const b = res.json().data.find((c: { channel_id: number }) => c.channel_id === channelIds.b);
    console.log(`channel b as the operator sees it: ${JSON.stringify(b)}`);
    expect(b).toMatchObject({ name: 'b', breaker: 'healthy' });
    expect(b.delivered + b.undelivered).toBe(b.submitted);
    expect(b.undelivered).toBeGreaterThan(0);
    expect(b.by_carrier[0]).toMatchObject({ carrier: 'cmcc' });
    expect(b.receipt_latency_p95_ms).toBeGreaterThanOrEqual(b.receipt_latency_p50_ms);
  });

  it('hongyan route breaker sets a channel’s thresholds; route health, route events and channel list print what the API shows', async () => {
    const env = { ...process.env, DATABASE_URL: t.url, HONGYAN_LOG_LEVEL: 'silent' };
    const cli = async (...args: string[]) =>
      JSON.parse((await run(process.execPath, [BIN, 'route', ...args, '--json'], { env })).stdout);
    const set = await cli(
      'breaker',
      'b',
      '--degrade-below',
      '0.8',
      '--recover-above',
      '0.85',
      '--specific-codes',
      'smpp.0x00000045',
    );
    expect(set).toMatchObject({
      channel: 'b',
      degrade_below: 0.8,
      recover_above: 0.85,
      channel_specific_codes: ['smpp.0x00000045'],
    });
    const refused = await run(
      process.execPath,
      [BIN, 'route', 'breaker', 'b', '--degrade-below', '0.9', '--recover-above', '0.5', '--json'],
      { env },
    ).catch((e: { code: number; stdout: string }) => e);
    expect((refused as { code: number }).code).toBe(1);
    expect(JSON.parse((refused as { stdout: string }).stdout).error).toMatchObject({
      code: 'routing.invalid_breaker',
      message: expect.stringMatching(/recover_above/),
    });
    const health = await cli('health');
    expect(health.find((c: { name: string }) => c.name === 'b')).toMatchObject({
      breaker: 'healthy',
      bindLimit: 1,
    });
    const listed = JSON.parse(
      (await run(process.execPath, [BIN, 'channel', 'list', '--json'], { env })).stdout,
    ) as { name: string; health: { breaker: string; bindLimit: number } | null }[];
    expect(listed.find((c) => c.name === 'b')?.health).toMatchObject({ breaker: 'healthy', bindLimit: 1 });
    const events = await cli('events', 'b');
    expect(events.map((e: { kind: string }) => e.kind)).toEqual(
      expect.arrayContaining(['degraded', 'recovered']),
    );
  }, 240_000);
});
