// The dispatcher against a fake pool: a channel that stops while a claim is in flight gets none
// of the claimed messages when another channel is still bound; with a route table, each claimed
// message gets its own decision.
import type pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ChannelConnector } from './connector.ts';
import type { ClaimedMessage, FailedResult, RetryResult } from './dispatch.sql.ts';
import { NO_CHANNEL_RETRY_MS, startDispatcher } from './dispatcher.ts';

const deadlines = { verificationSeconds: 600, notificationSeconds: 86_400, marketingSeconds: 86_400 };

function fakeConnector(name: string) {
  const got: ClaimedMessage[] = [];
  const c = {
    name,
    isReady: true,
    get demand() {
      return c.isReady ? 5 : 0;
    },
    enqueue: (ms: ClaimedMessage[]) => got.push(...ms),
  };
  return { connector: c as unknown as ChannelConnector & { isReady: boolean }, got };
}

const claimedRow = (id: number) => ({
  id,
  tenant_id: 1,
  priority: 1,
  recipient: `+8613800000${id}`,
  content: 'x',
  parts: 1,
  attempts: 1,
  duplicate_risk: false,
  sender_code: null,
  status: 'sending',
  deadline_ms: Date.now() + 60_000,
});

describe('the dispatcher', () => {
  it('routes a claim only to channels still bound when it returns', async () => {
    const a = fakeConnector('a');
    const b = fakeConnector('b');
    let claims = 0;
    const pool = {
      query: async () => {
        claims++;
        if (claims > 1) return { rows: [] };
        // syncChannels stops channel a while the claim is in flight.
        a.connector.isReady = false;
        return { rows: [1, 2, 3, 4, 5, 6, 7, 8].map(claimedRow) };
      },
    } as unknown as pg.Pool;
    const dispatcher = startDispatcher({
      pool,
      nodeId: 'n',
      logger: pino({ level: 'silent' }),
      connectors: () => [a.connector, b.connector],
      deadlines,
      idlePollMs: 5,
    });
    for (let i = 0; i < 200 && b.got.length < 8; i++) await new Promise((r) => setTimeout(r, 5));
    await dispatcher.stop();
    expect(a.got).toEqual([]);
    // More than b asked for: the rest would have gone to the first channel, the stopped one.
    expect(b.got.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('the dispatcher with a route table', () => {
  it('gives each message its own decision: a channel, rejected routing.no_route, or back to the queue', async () => {
    const a = fakeConnector('a');
    const b = fakeConnector('b');
    Object.assign(a.connector, { channelId: 1 });
    Object.assign(b.connector, { channelId: 2 });
    b.connector.isReady = false;
    let claims = 0;
    const pool = {
      query: async () => (++claims > 1 ? { rows: [] } : { rows: [1, 2, 3, 4].map(claimedRow) }),
    } as unknown as pg.Pool;
    const failed: FailedResult[] = [];
    const retried: RetryResult[] = [];
    const healthSeen: boolean[][] = [];
    const dispatcher = startDispatcher({
      pool,
      nodeId: 'n',
      logger: pino({ level: 'silent' }),
      connectors: () => [a.connector, b.connector],
      deadlines,
      idlePollMs: 5,
      recorder: { fail: (r) => failed.push(r), retry: (r) => retried.push(r) },
      // 1 → channel a, 2 → channel b (unbound: the test's fake router trusts it), 3 → no route, 4 → wait.
      route: (m, health) => {
        healthSeen.push([health.get(1)!.bound, health.get(2)!.bound]);
        const recipient = { countryCode: '86', carrier: 'cmcc' as const, mvno: false, ported: false };
        const ch = (id: number) => ({
          id,
          name: `c${id}`,
          enabled: true,
          carriers: [],
          messageTypes: [],
          weight: 1,
        });
        if (m.id === 1)
          return { kind: 'channel', channel: ch(1), rule: null, tier: 1, recipient, skipped: [] };
        if (m.id === 2)
          return { kind: 'channel', channel: ch(2), rule: null, tier: 1, recipient, skipped: [] };
        if (m.id === 3) return { kind: 'no_route', why: 'no route matches', recipient, skipped: [] };
        return { kind: 'wait', rule: null, why: 'no channel of route 7 is bound', recipient, skipped: [] };
      },
    });
    for (let i = 0; i < 200 && failed.length + retried.length + a.got.length + b.got.length < 4; i++)
      await new Promise((r) => setTimeout(r, 5));
    await dispatcher.stop();
    expect(healthSeen[0]).toEqual([true, false]);
    expect(a.got.map((m) => m.id)).toEqual([1]);
    // A connector's enqueue hands back what it cannot send; the fake just records it.
    expect(b.got.map((m) => m.id)).toEqual([2]);
    expect(failed).toEqual([
      { id: 3, status: 'rejected', errorCode: 'routing.no_route', errorDetail: 'no route matches' },
    ]);
    expect(retried).toEqual([
      {
        id: 4,
        delayMs: NO_CHANNEL_RETRY_MS,
        errorCode: 'routing.no_channel_bound',
        errorDetail: 'no channel of route 7 is bound',
        duplicateRisk: false,
        notAttempted: true,
      },
    ]);
  });
});

/**
 * A dispatcher on one fake channel (demand 5) whose claims each wait for the test to answer them
 * (`pending`, oldest first); `stop` answers what is left with nothing.
 */
function withHeldClaims(options: { idlePollMs: number; gatherMs?: number }) {
  const a = fakeConnector('a');
  const pending: ((rows: unknown[]) => void)[] = [];
  const pool = {
    query: () => new Promise((resolve) => pending.push((rows) => resolve({ rows }))),
  } as unknown as pg.Pool;
  const dispatcher = startDispatcher({
    pool,
    nodeId: 'n',
    logger: pino({ level: 'silent' }),
    connectors: () => [a.connector],
    deadlines,
    ...options,
  });
  const stop = async () => {
    const stopping = dispatcher.stop();
    for (const answer of pending.splice(0)) answer([]);
    await stopping;
  };
  return { a, pending, dispatcher, stop };
}

describe("the dispatcher's claims at write (DirectClaimer)", () => {
  const row = (id: number, type = 'verification') => ({
    row: {
      tenantId: 1,
      batchId: null,
      type,
      priority: type === 'verification' ? 0 : 1,
      recipient: `+8613800000${id}`,
      content: 'x',
      encoding: 'gsm7',
      parts: 1,
      clientRef: null,
      sendAt: null,
    },
    message: {
      id,
      status: 'sending' as const,
      createdAt: new Date(1_000_000),
      claimed: { senderCode: '1069', signatureExtension: '01' },
    },
  });
  const until = async (ok: () => boolean) => {
    for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  };

  it('grants room only while the last claim found the queue drained and nothing was queued since', async () => {
    const { a, pending, dispatcher, stop } = withHeldClaims({ idlePollMs: 5 });
    await until(() => pending.length === 1);
    expect(dispatcher.direct.reserve(3)).toBeNull(); // no claim has answered yet
    // A claim that takes all it asked for: the queue may hold more, the claim path stays first.
    pending.shift()!([1, 2, 3, 4, 5].map(claimedRow));
    await until(() => pending.length === 1);
    expect(a.got).toHaveLength(5);
    expect(dispatcher.direct.reserve(3)).toBeNull();
    pending.shift()!([]);
    await until(() => pending.length === 1);
    // Drained. The fake channel's demand stays 5 (its enqueue takes no room): grants hold room
    // until adopted.
    const grant = dispatcher.direct.reserve(3);
    const instant = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(grant).toEqual({ nodeId: 'n', room: 3, epoch: undefined, sendingAt: instant });
    expect(dispatcher.direct.reserve(9)).toEqual({
      nodeId: 'n',
      room: 2,
      epoch: undefined,
      sendingAt: instant,
    });
    expect(dispatcher.direct.reserve(1)).toBeNull();
    dispatcher.direct.adopt(grant!, [row(11), row(12, 'notification')]);
    expect(
      a.got.slice(5).map((m) => [m.id, m.attempts, m.senderCode, m.signatureExtension, m.deadlineAt]),
    ).toEqual([
      [11, 1, '1069', '01', 1_000_000 + 600_000],
      [12, 1, '1069', '01', 1_000_000 + 86_400_000],
    ]);
    expect(dispatcher.direct.reserve(3)).toEqual({
      nodeId: 'n',
      room: 3,
      epoch: undefined,
      sendingAt: instant,
    });
    // Woken (work was queued): nothing until a claim has found the queue drained again.
    dispatcher.wake();
    expect(dispatcher.direct.reserve(1)).toBeNull();
    await stop();
    expect(dispatcher.direct.reserve(1)).toBeNull();
  });

  it('sends back to the queue, unsent, what a write whose outcome is unknown may have claimed', async () => {
    const a = fakeConnector('a');
    const statements: { text: string; values: unknown[] }[] = [];
    const pool = {
      query: async (q: string | { text: string; values: unknown[] }, values?: unknown[]) => {
        if (typeof q === 'string') statements.push({ text: q, values: values ?? [] });
        return { rows: [], rowCount: 0 };
      },
    } as unknown as pg.Pool;
    const dispatcher = startDispatcher({
      pool,
      nodeId: 'n',
      logger: pino({ level: 'silent' }),
      connectors: () => [a.connector],
      deadlines,
      idlePollMs: 5,
    });
    let grant = null;
    for (let i = 0; i < 400 && grant === null; i++) {
      await new Promise((r) => setTimeout(r, 5));
      grant = dispatcher.direct.reserve(2);
    }
    expect(grant).not.toBeNull();
    dispatcher.direct.adopt(grant!, [], true);
    await until(() => statements.length > 0);
    await dispatcher.stop();
    expect(statements[0]!.text).toMatch(/set status = 'queued', claimed_by = null, sending_at = null/);
    // By the grant's own instant, not the write's millisecond, which another write may share.
    expect(statements[0]!.values).toEqual(['n', expect.any(Date), grant!.sendingAt, null]);
    expect(a.got).toEqual([]);
  });
});

describe("the dispatcher's wake-ups", () => {
  it('does not claim when a channel has room after a claim that drained the queue; new work wakes it', async () => {
    const { pending, dispatcher, stop } = withHeldClaims({ idlePollMs: 60_000, gatherMs: 0 });
    const settle = () => new Promise((r) => setTimeout(r, 30));
    await settle();
    pending.shift()!([]); // drained
    await settle();
    expect(pending).toHaveLength(0);
    dispatcher.room();
    await settle();
    expect(pending).toHaveLength(0); // nothing to claim: new work wakes it
    dispatcher.wake();
    await settle();
    expect(pending).toHaveLength(1);
    // This claim is cut short by the channel's room (all 5 it asked for): the loop claims again.
    pending.shift()!([1, 2, 3, 4, 5].map(claimedRow));
    await settle();
    expect(pending).toHaveLength(1);
    await stop();
  });
});
