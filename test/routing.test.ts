// Routing and failover end to end (issue 10, part A), through real sockets: HTTP intake → the
// dispatcher's routing → two channels, each bound to its own carrier simulator (B behind a TCP
// proxy that the test can cut, as a crashed carrier link) → receipts → stored.
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHongyan } from '../src/app/start.ts';
import { createChannelsRepository } from '../src/modules/channels/channels.repository.ts';
import { createRoutingRepository } from '../src/modules/routing/routing.repository.ts';
import { fastProfile, seeded, silentLogger } from '../src/modules/simulator/test-helpers.ts';
import { type RunningSimulator, startSimulator } from '../src/modules/simulator/simulator.ts';
import { createTestDatabase } from './helpers/db.ts';
import { newSendingTenant, startApiWorker } from './helpers/hongyan.ts';
import { FINAL_STATUSES } from '../src/modules/messages/messages.models.ts';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../bin/hongyan.js');

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let hongyan: RunningHongyan;
let key: string;
let tenantId: number;
const channelIds = { a: 0, b: 0 };

/** A carrier simulator that records, per destination, when it accepted each submit. */
async function carrier(name: string) {
  const accepted: { to: string; at: number }[] = [];
  const sim = await startSimulator({
    port: 0,
    logger: silentLogger,
    random: seeded(name === 'a' ? 1 : 2),
    retryDelayMs: () => 5,
    // Numbers ending in 13 get an UNDELIV receipt: each message has its own, known outcome.
    profiles: [fastProfile('fast', { undeliveredSuffixes: ['13'] })],
    forceProfile: 'fast',
    onAccepted: (submit) => accepted.push({ to: submit.destinationAddr, at: Date.now() }),
  });
  return { sim, accepted };
}

/** A TCP proxy in front of a simulator: `cut()` drops every connection and refuses new ones. */
async function proxy(target: RunningSimulator) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    async cut() {
      // close() settles only once every connection has ended: destroy them after asking.
      const closed = new Promise<void>((r) => server!.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    revive: listen,
  };
}

let A: Awaited<ReturnType<typeof carrier>>;
let B: Awaited<ReturnType<typeof carrier>>;
let bLink: Awaited<ReturnType<typeof proxy>>;

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

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends `n` messages to distinct numbers of one segment; returns them by number. */
async function flood(n: number, prefix: string) {
  const recipients = Array.from({ length: n }, (_, i) => ({
    to: `${prefix}${String(i).padStart(11 - prefix.length, '0')}`,
  }));
  const messageIds: number[] = [];
  for (let i = 0; i < recipients.length; i += 1000) {
    const r = await api('POST', '/v1/batches', {
      content: '【鸿雁】您的快递已到驿站',
      recipients: recipients.slice(i, i + 1000),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.accepted).toBe(Math.min(1000, n - i));
    const rows = await t.db.pool.query<{ id: string }>(
      'select id from messages where batch_id = $1 order by id',
      [Number(r.body.id)],
    );
    messageIds.push(...rows.rows.map((row) => Number(row.id)));
  }
  return messageIds;
}

interface Row {
  id: number;
  recipient: string;
  status: string;
  channel_id: number | null;
  carrier_message_id: string | null;
  error_code: string | null;
  duplicate_risk: boolean;
}
const rowsOf = async (ids: number[]) =>
  (
    await t.db.pool.query<Row>(
      `select id::int, recipient, status, channel_id::int, carrier_message_id, error_code, duplicate_risk
         from messages where id = any($1::bigint[]) order by id`,
      [ids],
    )
  ).rows;
const FINAL: string[] = [...FINAL_STATUSES];
const allFinal = async (ids: number[]) => (await rowsOf(ids)).every((r) => FINAL.includes(r.status));

beforeAll(async () => {
  t = await createTestDatabase();
  A = await carrier('a');
  B = await carrier('b');
  bLink = await proxy(B.sim);
  const channels = createChannelsRepository(t.db.kysely);
  const common = { host: '127.0.0.1', windowSize: 50, maxTps: 100_000 };
  channelIds.a = (
    await channels.addChannel({ ...common, name: 'a', port: A.sim.port, systemId: 'a', weight: 3 })
  ).id;
  channelIds.b = (
    await channels.addChannel({ ...common, name: 'b', port: bLink.port, systemId: 'b', weight: 1 })
  ).id;
  hongyan = await startApiWorker(t.url);
  // Compliance is not what this file tests: free text allowed, and 【鸿雁】 an approved signature.
  const created = await newSendingTenant(t.db, 'routing');
  key = created.apiKey.key;
  tenantId = created.tenant.id;
  await waitFor(async () => A.sim.stats().sessions > 0 && B.sim.stats().sessions > 0);
}, 60_000);

afterAll(async () => {
  await hongyan?.stop();
  await bLink?.cut().catch(() => {});
  await A?.sim.close();
  await B?.sim.close();
  await t?.drop();
});

describe('routing over two channels', () => {
  it('spreads by weight (3:1 with no route table), each message with its own outcome at its own carrier', async () => {
    const ids = await flood(400, '1390000');
    await waitFor(() => allFinal(ids));
    const rows = await rowsOf(ids);
    const countA = rows.filter((r) => r.channel_id === idsOf('a')).length;
    const countB = rows.filter((r) => r.channel_id === idsOf('b')).length;
    console.log(`weights 3:1 — channel a carried ${countA}, channel b ${countB} of 400`);
    expect(countA + countB).toBe(400);
    // Smooth weighted round robin gives exactly 3:1 when no message is re-routed.
    expect(Math.abs(countA - 300)).toBeLessThanOrEqual(12);
    // Each message went to exactly the carrier its row names, and got that carrier's verdict.
    const acceptedBy = (c: typeof A) => new Set(c.accepted.map((s) => national(s.to)));
    for (const r of rows) {
      const mine = r.channel_id === idsOf('a') ? acceptedBy(A) : acceptedBy(B);
      const other = r.channel_id === idsOf('a') ? acceptedBy(B) : acceptedBy(A);
      expect({
        id: r.id,
        atItsCarrier: mine.has(national(r.recipient)),
        elsewhere: other.has(national(r.recipient)),
      }).toEqual({
        id: r.id,
        atItsCarrier: true,
        elsewhere: false,
      });
      expect({ id: r.id, status: r.status }).toEqual({
        id: r.id,
        status: r.recipient.endsWith('13') ? 'undelivered' : 'delivered',
      });
      expect(r.carrier_message_id).toBeTruthy();
    }
  }, 120_000);

  it('a channel cut mid-flood: the rest goes through the other, every message ends final, none lost', async () => {
    // Equal shares for this flood (a routing change: no rebind).
    const channels = createChannelsRepository(t.db.kysely);
    await channels.updateChannel('a', { weight: 1 });
    await new Promise((r) => setTimeout(r, 300));
    const beforeA = A.accepted.length;
    const beforeB = B.accepted.length;
    const ids = await flood(3000, '1370000');
    // Cut B's link once it has taken a few hundred of this flood.
    await waitFor(async () => B.accepted.length - beforeB >= 300, 60_000);
    const cutAt = Date.now();
    await bLink.cut();
    // Every message the cut left unsent goes out through A.
    await waitFor(async () => {
      const r = await t.db.pool.query(
        `select count(*)::int as n from messages where id = any($1::bigint[]) and status in ('queued', 'sending')`,
        [ids],
      );
      return r.rows[0].n === 0;
    }, 90_000);
    const drained = Date.now();
    const bBeforeRevive = B.accepted.length;
    const afterCutOnA = A.accepted.filter((s) => s.at >= cutAt);
    console.log(
      `equal weights, b cut after taking ${B.accepted.filter((s, i) => i >= beforeB && s.at < cutAt).length}: ` +
        `a carried ${afterCutOnA.length} after the cut; the flood's last message sent ${drained - cutAt} ms after the cut`,
    );
    // Receipts B owes for what it took before the cut arrive once its link is back.
    await bLink.revive();
    await waitFor(() => allFinal(ids), 90_000);
    const rows = await rowsOf(ids);
    expect(rows).toHaveLength(3000);
    const bTook = new Set(B.accepted.slice(beforeB, bBeforeRevive).map((s) => national(s.to)));
    const aTook = new Set(A.accepted.slice(beforeA).map((s) => national(s.to)));
    // Submits on the wire at the cut reached B with their answers lost: those messages were sent
    // again through A, and are the only ones marked duplicate_risk.
    const inFlightAtCut = new Set(
      B.accepted
        .slice(beforeB, bBeforeRevive)
        .filter((s) => s.at >= cutAt)
        .map((s) => national(s.to)),
    );
    for (const r of rows) {
      // Carried by the channel named on it, which took it from us; the verdict is its own.
      expect({
        id: r.id,
        took: (r.channel_id === idsOf('a') ? aTook : bTook).has(national(r.recipient)),
        status: r.status,
      }).toEqual({
        id: r.id,
        took: true,
        status: r.recipient.endsWith('13') ? 'undelivered' : 'delivered',
      });
      if (inFlightAtCut.has(national(r.recipient)))
        expect({ id: r.id, dup: r.duplicate_risk }).toEqual({ id: r.id, dup: true });
    }
    // After its return B got nothing: nothing was left to send.
    expect(B.accepted.length).toBe(bBeforeRevive);
    expect(afterCutOnA.length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.duplicate_risk).length).toBeLessThanOrEqual(inFlightAtCut.size + 60);
  }, 240_000);

  it('a backup tier takes the traffic when the primary is cut; time from the cut to traffic on the backup', async () => {
    await waitFor(async () => B.sim.stats().sessions > 0, 60_000);
    const routes = createRoutingRepository(t.db.kysely);
    const route = await routes.addRoute({
      carrier: 'cmcc',
      channels: [
        { channel: 'b', tier: 1 },
        { channel: 'a', tier: 2 },
      ],
    });
    await new Promise((r) => setTimeout(r, 300));
    const beforeA = A.accepted.length;
    const beforeB = B.accepted.length;
    const ids = await flood(2000, '1360000');
    await waitFor(async () => B.accepted.length - beforeB >= 200, 60_000);
    expect(A.accepted.length).toBe(beforeA); // the backup carries nothing while the primary is bound
    const cutAt = Date.now();
    await bLink.cut();
    const first = await waitFor(async () => A.accepted.find((s, i) => i >= beforeA && s.at >= cutAt), 30_000);
    console.log(`failover: the primary cut → first submit on the backup after ${first.at - cutAt} ms`);
    await waitFor(async () => {
      const r = await t.db.pool.query(
        `select count(*)::int as n from messages where id = any($1::bigint[]) and status in ('queued', 'sending')`,
        [ids],
      );
      return r.rows[0].n === 0;
    }, 90_000);
    await bLink.revive();
    await waitFor(() => allFinal(ids), 90_000);
    const rows = await rowsOf(ids);
    expect(rows.filter((r) => r.status === 'delivered' || r.status === 'undelivered')).toHaveLength(2000);
    await routes.removeRoute(route.id);
  }, 240_000);

  it('a message no route carries ends rejected with routing.no_route, never stuck', async () => {
    const routes = createRoutingRepository(t.db.kysely);
    const route = await routes.addRoute({ messageType: 'verification', channels: [{ channel: 'a' }] });
    await new Promise((r) => setTimeout(r, 300));
    const sent = await api('POST', '/v1/messages', {
      to: '13500000001',
      content: '【鸿雁】您的订单已发货',
      type: 'notification',
    });
    expect(sent.status).toBe(202);
    const row = await waitFor(async () => {
      const [r] = await rowsOf([Number(sent.body.id)]);
      return r && FINAL.includes(r.status) && r;
    });
    expect(row).toMatchObject({ status: 'rejected', error_code: 'routing.no_route', channel_id: null });
    await routes.removeRoute(route.id);
  });

  it('hongyan route test prints the decision and why; message get shows the channel that carried a message', async () => {
    const env = { ...process.env, DATABASE_URL: t.url, HONGYAN_LOG_LEVEL: 'silent' };
    const routes = createRoutingRepository(t.db.kysely);
    const route = await routes.addRoute({
      carrier: 'ctcc',
      channels: [
        { channel: 'b', tier: 1 },
        { channel: 'a', tier: 2 },
      ],
    });
    const disabledB = await createChannelsRepository(t.db.kysely).updateChannel('b', { enabled: false });
    expect(disabledB.enabled).toBe(false);
    const text = await run(
      process.execPath,
      [BIN, 'route', 'test', '--to', '18912345678', '--type', 'marketing', '--tenant', String(tenantId)],
      { env },
    );
    expect(text.stdout).toContain('recipient: carrier ctcc');
    expect(text.stdout).toContain('decision: channel a');
    expect(text.stdout).toContain(`rule: route ${route.id}`);
    expect(text.stdout).toContain(`skipped: b in route ${route.id}: disabled`);
    const json = JSON.parse(
      (await run(process.execPath, [BIN, 'route', 'test', '--to', '+447911123456', '--json'], { env }))
        .stdout,
    );
    expect(json).toMatchObject({
      recipient: { carrier: 'intl', country_code: '44' },
      decision: 'rejected',
      error_code: 'routing.no_route',
    });
    await createChannelsRepository(t.db.kysely).updateChannel('b', { enabled: true });

    const [carried] = (
      await t.db.pool.query<{ id: string; channel_id: string }>(
        `select id, channel_id from messages where channel_id is not null order by id limit 1`,
      )
    ).rows;
    const got = JSON.parse(
      (await run(process.execPath, [BIN, 'message', 'get', carried!.id, '--json'], { env })).stdout,
    );
    expect(got.channel_id).toBe(Number(carried!.channel_id));
    await routes.removeRoute(route.id);
  }, 60_000);
});

/** The 11-digit national number, however an address writes it (+86…, 86…, …). */
function national(address: string): string {
  return address.replace(/\D/g, '').slice(-11);
}

function idsOf(name: 'a' | 'b'): number {
  return channelIds[name];
}
