// The outbox on a real PostgreSQL: the status trigger's rows (one per event and destination, only
// for subscribed tenants), the claim's per-message order (an earlier event leased by another claim
// or waiting for its retry holds the later one back; both in one claim go together), and a backlog
// worked with claims overlapping: every event POSTed once, each message's events in order.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { keyRingOf, seal } from '../../shared/secrets.ts';
import { addressPolicyOf } from './ssrf.models.ts';
import { claimDueDeliveries } from './webhooks.sql.ts';
import { createWebhookSender } from './webhooks.worker.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
const ring = keyRingOf([randomBytes(32)]);
const now = new Date('2026-11-30T00:00:00Z');

async function newTenant(name: string): Promise<number> {
  const { rows } = await t.db.pool.query<{ id: number }>(
    `insert into tenants (name, status) values ($1, 'active') returning id::int`,
    [name],
  );
  return rows[0]!.id;
}

async function newEndpoint(tenantId: number, events = ['message.status']): Promise<number> {
  const { rows } = await t.db.pool.query<{ id: number }>(
    `insert into webhook_endpoints (tenant_id, url, events, secret_sealed) values ($1, $2, $3, $4) returning id::int`,
    [tenantId, `http://receiver.test/${tenantId}`, events, seal(ring, 'whsec_test')],
  );
  return rows[0]!.id;
}

/** `n` messages of the tenant, in `sending`; answers their ids. */
async function newMessages(
  tenantId: number,
  n: number,
  callbackUrl: string | null = null,
): Promise<number[]> {
  const { rows } = await t.db.pool.query<{ id: number }>(
    `insert into messages (tenant_id, type, priority, recipient, content, encoding, parts, status, callback_url)
     select $1, 'notification', 1, '+86138' || lpad(i::text, 8, '0'), 'hello', 'gsm7', 1, 'sending', $3
       from generate_series(1, $2::int) i
     returning id::int`,
    [tenantId, n, callbackUrl],
  );
  return rows.map((r) => r.id).sort((a, b) => a - b);
}

/** One statement moving these messages to `status`, as the recorder and the receipt pass do. */
async function setStatus(ids: number[], status: string, at: Date): Promise<void> {
  await t.db.pool.query('update messages set status = $2, updated_at = $3 where id = any ($1::bigint[])', [
    ids,
    status,
    at,
  ]);
}

async function outboxOf(tenantId: number) {
  const { rows } = await t.db.pool.query<{
    id: number;
    event_id: number;
    endpoint_id: number | null;
    callback_url: string | null;
    message_id: number;
    payload: { id: string; type: string; created_at: string; data: { status: string; message_id: string } };
  }>(
    `select id::int, event_id::int, endpoint_id::int, callback_url, message_id::int, payload
       from webhook_deliveries where tenant_id = $1 order by id`,
    [tenantId],
  );
  return rows;
}

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

describe('message.status outbox rows (status trigger)', () => {
  it('writes one row per event and destination, shares the event id, and nothing for a tenant without endpoints', async () => {
    const hooked = await newTenant('hooked');
    const quiet = await newTenant('quiet');
    const endpoint = await newEndpoint(hooked);
    await newEndpoint(hooked, ['message.reply']); // not subscribed to message.status
    const plain = await newMessages(hooked, 3);
    const called = await newMessages(hooked, 2, 'http://callback.test/status');
    const silent = await newMessages(quiet, 3);
    const at = new Date('2026-11-30T01:02:03.456Z');
    await setStatus([...plain, ...called, ...silent], 'sent', at);

    expect(await outboxOf(quiet)).toEqual([]);
    const rows = await outboxOf(hooked);
    // 5 events to the endpoint, and the 2 with a callback_url to it as well.
    expect(rows).toHaveLength(7);
    expect(rows.filter((r) => r.endpoint_id === endpoint).map((r) => r.message_id)).toEqual(
      expect.arrayContaining([...plain, ...called]),
    );
    for (const id of called) {
      const both = rows.filter((r) => r.message_id === id);
      expect(both.map((r) => r.callback_url).sort()).toEqual(['http://callback.test/status', null]);
      expect(new Set(both.map((r) => r.event_id)).size).toBe(1);
    }
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(5);
    const first = rows.find((r) => r.message_id === plain[0])!;
    expect(first.payload).toEqual({
      id: `evt_${first.event_id}`,
      type: 'message.status',
      created_at: expect.any(String),
      data: {
        message_id: String(plain[0]),
        status: 'sent',
        to: '+8613800000001',
        client_ref: null,
        batch_id: null,
        parts: 1,
        error: null,
        at: first.payload.created_at,
      },
    });
    expect(Date.parse(first.payload.created_at)).toBe(at.getTime());

    // A change that is not a reported status (sending → queued) writes nothing.
    const before = rows.length;
    const requeued = await newMessages(hooked, 1);
    await setStatus(requeued, 'queued', at);
    expect(await outboxOf(hooked)).toHaveLength(before);
  });
});

describe('claiming in order per message', () => {
  it('holds a later event back while an earlier one is leased by another claim or waits for its retry', async () => {
    const tenant = await newTenant('order');
    await newEndpoint(tenant);
    const [a, b] = await newMessages(tenant, 2);
    await setStatus([a!, b!], 'sent', now);
    const lease = { now, limit: 1, leaseMs: 60_000 };

    // Claim 1 takes a's `sent` only; then both messages are delivered.
    const first = await claimDueDeliveries(t.db.pool, lease);
    expect(first.map((d) => d.message_id)).toEqual([a]);
    await setStatus([a!, b!], 'delivered', new Date(now.getTime() + 1));
    const later = new Date(now.getTime() + 10);

    // Claim 2 (room for all): b's two events together, a's `delivered` held back (its `sent` is leased).
    const second = await claimDueDeliveries(t.db.pool, { ...lease, now: later, limit: 100 });
    expect(second.map((d) => [d.message_id, (d.payload as any).data.status])).toEqual([
      [b, 'sent'],
      [b, 'delivered'],
    ]);

    // a's `sent` fails and waits for its retry: a's `delivered` is still held back, even once due.
    await t.db.pool.query(
      `update webhook_deliveries set leased_until = null, attempts = 1, next_attempt_at = $2 where id = $1`,
      [first[0]!.id, new Date(later.getTime() + 60_000)],
    );
    expect(await claimDueDeliveries(t.db.pool, { ...lease, now: later, limit: 100 })).toEqual([]);

    // Once the retry is due, both go in one claim, in order.
    const retried = await claimDueDeliveries(t.db.pool, {
      ...lease,
      now: new Date(later.getTime() + 60_000),
      limit: 100,
    });
    expect(retried.map((d) => [d.message_id, (d.payload as any).data.status])).toEqual([
      [a, 'sent'],
      [a, 'delivered'],
    ]);
  });
});

describe('a backlog', () => {
  it('is POSTed once per event with claims overlapping, each message in order', async () => {
    const tenant = await newTenant('backlog');
    await newEndpoint(tenant);
    const ids = await newMessages(tenant, 1_000);
    // Two statements per status, as the recorder's and the receipt pass's do in turn.
    await setStatus(ids.slice(0, 500), 'sent', now);
    await setStatus(ids.slice(500), 'sent', now);
    await setStatus(ids.slice(0, 500), 'delivered', new Date(now.getTime() + 1));
    await setStatus(ids.slice(500), 'delivered', new Date(now.getTime() + 1));

    const seen = new Map<string, string[]>();
    const eventIds: string[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    // The first claim's POSTs are held until a POST of another claim arrives (more than one
    // claim's 4 lanes in flight), so the overlap is seen whatever the machine's speed; one claim
    // at a time would leave them held, and the check below fail, after 20 s.
    let release = () => {};
    const overlapSeen = new Promise<void>((r) => (release = r));
    const sender = createWebhookSender({
      pool: t.db.pool,
      keyRing: () => ring,
      now: () => new Date(now.getTime() + 1000),
      logger: pino({ level: 'silent' }),
      settings: {
        batchMax: 50,
        claimMax: 300,
        concurrency: 4,
        retry: { baseMs: 1000, maxMs: 60_000, giveUpAfterMs: 3_600_000 },
        limits: { connectTimeoutMs: 1000, responseTimeoutMs: 1000, maxResponseBytes: 1024 },
        policy: addressPolicyOf(''),
      },
      post: async ({ body }) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        if (inFlight > 4) release();
        await Promise.race([overlapSeen, new Promise((r) => setTimeout(r, 20_000))]);
        inFlight--;
        for (const e of JSON.parse(body).events as {
          id: string;
          data: { message_id: string; status: string };
        }[]) {
          eventIds.push(e.id);
          seen.set(e.data.message_id, [...(seen.get(e.data.message_id) ?? []), e.data.status]);
        }
        return { ok: true, statusCode: 204, error: null, durationMs: 20, refused: false };
      },
    });
    await sender.runUntilIdle();
    // A claim that came back short ended the pass; the rest (rows held back for order) on the next.
    for (let i = 0; i < 20 && eventIds.length < 2_000; i++) await sender.runUntilIdle();

    expect(eventIds).toHaveLength(2_000);
    expect(new Set(eventIds).size).toBe(2_000);
    for (const id of ids) expect(seen.get(String(id))).toEqual(['sent', 'delivered']);
    const { rows } = await t.db.pool.query<{ state: string; n: number }>(
      `select state, count(*)::int as n from webhook_deliveries where tenant_id = $1 group by state`,
      [tenant],
    );
    expect(rows).toEqual([{ state: 'delivered', n: 2_000 }]);
    expect(mostInFlight).toBeGreaterThan(4); // two claims' POSTs at once (4 lanes each)
  });
});
