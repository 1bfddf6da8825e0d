// A channel connector against our simulator (no database): throttling at random and above a rate,
// deadlines under throttling, back-pressure from the recorder, and a connector stopped after the
// dispatcher chose it.
import { afterEach, describe, expect, it } from 'vitest';
import type { Channel } from '../channels/channels.repository.ts';
import {
  cleanups,
  fastProfile,
  runCleanups,
  silentLogger,
  startTestSimulator,
} from '../simulator/test-helpers.ts';
import { ChannelConnector } from './connector.ts';
import type { ClaimedMessage, FailedResult, RetryResult, SentResult } from './dispatch.sql.ts';
import type { NodeFence } from './nodes.ts';
import type { Recorder } from './recorder.ts';

afterEach(runCleanups);

function fakeRecorder() {
  const sent: SentResult[] = [];
  const retries: RetryResult[] = [];
  const fails: FailedResult[] = [];
  const recorder: Recorder & { backlogged: boolean } = {
    sent: (r) => sent.push(r),
    retry: (r) => retries.push(r),
    fail: (r) => fails.push(r),
    drain: async () => true,
    pending: 0,
    backlogged: false,
  };
  return { recorder, sent, retries, fails };
}

function channel(port: number, systemId: string, fields: Partial<Channel> = {}): Channel {
  return {
    id: 1,
    name: systemId,
    host: '127.0.0.1',
    port,
    system_id: systemId,
    password: 'x',
    system_type: '',
    bind_mode: 'transceiver',
    window_size: 50,
    max_tps: 100_000,
    source_addr: '106900',
    is_default: true,
    enabled: true,
    id_convention: 'as-is',
    id_convention_learned: null,
    id_convention_learned_at: null,
    created_at: new Date(),
    updated_at: new Date(),
    ...fields,
  } as Channel;
}

function messages(n: number, deadlineAt = Date.now() + 3600_000): ClaimedMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    tenantId: 1,
    priority: 1,
    recipient: `+86138${String(i).padStart(8, '0')}`,
    content: `message ${i + 1}`,
    parts: 1,
    attempts: 1,
    duplicateRisk: false,
    senderCode: null,
    deadlineAt,
  }));
}

async function boundConnector(
  port: number,
  systemId: string,
  recorder: Recorder,
  requestTimeoutMs?: number,
  fields: Partial<Channel> = {},
  fence?: NodeFence,
) {
  const connector = new ChannelConnector({
    channel: channel(port, systemId, fields),
    recorder,
    logger: silentLogger,
    onDeliver: async () => {},
    onReady: () => {},
    ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
    ...(fence ? { fence } : {}),
  });
  cleanups.push(() => connector.stop(100));
  connector.start();
  for (let i = 0; i < 200 && !connector.isReady; i++) await new Promise((r) => setTimeout(r, 10));
  expect(connector.isReady).toBe(true);
  return connector;
}

async function until(done: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ChannelConnector', () => {
  it('resubmits what a carrier refuses at random until each message is taken, and counts it', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('busy', { queueFullRate: 0.1 })] });
    const fake = fakeRecorder();
    const connector = await boundConnector(sim.port, 'busy', fake.recorder);
    connector.enqueue(messages(400));
    await until(() => fake.sent.length === 400);
    // Each message taken once, none failed or sent back to the queue for it.
    expect(new Set(fake.sent.map((s) => s.id)).size).toBe(400);
    expect(fake.fails).toEqual([]);
    expect(fake.retries).toEqual([]);
    expect(sim.stats().queueFull).toBeGreaterThan(10);
    expect(connector.throttleStats.throttled).toBe(sim.stats().queueFull);
  });

  it('slows to a carrier’s rate limit, counts the throttling, and fails no message for it', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('limited', { throttleAboveTps: 200 })] });
    const fake = fakeRecorder();
    const connector = await boundConnector(sim.port, 'limited', fake.recorder);
    connector.enqueue(messages(600));
    await until(() => fake.sent.length === 600);
    expect(new Set(fake.sent.map((s) => s.id)).size).toBe(600);
    expect(fake.fails).toEqual([]);
    expect(sim.stats().throttled).toBeGreaterThan(0);
    const stats = connector.throttleStats;
    expect(stats.throttled).toBe(sim.stats().throttled);
    // The rate fell from the channel's 100,000/s to near the carrier's 200/s.
    expect(stats.cuts).toBeGreaterThan(0);
    expect(stats.rateTps).toBeLessThan(400);
  });

  it('expires a message the carrier keeps throttling past its deadline', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('stingy', { throttleAboveTps: 1 })] });
    const fake = fakeRecorder();
    const connector = await boundConnector(sim.port, 'stingy', fake.recorder);
    connector.enqueue(messages(3, Date.now() + 300));
    await until(() => fake.sent.length + fake.fails.length === 3);
    expect(fake.sent).toHaveLength(1);
    expect(fake.fails.map((f) => [f.status, f.errorCode])).toEqual([
      ['expired', 'dispatch.deadline_passed'],
      ['expired', 'dispatch.deadline_passed'],
    ]);
  });

  it('against a carrier that never answers, retries with a duplicate flag, then fails at the last attempt', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('blackhole', { noResponseRate: 1 })] });
    const fake = fakeRecorder();
    const connector = await boundConnector(sim.port, 'blackhole', fake.recorder, 100);
    const [early, last] = messages(2);
    connector.enqueue([early!, { ...last!, attempts: 6 }]);
    await until(() => fake.retries.length + fake.fails.length === 2);
    expect(fake.retries).toEqual([
      expect.objectContaining({ id: 1, errorCode: 'smpp.no_response', duplicateRisk: true }),
    ]);
    expect(fake.fails).toEqual([
      expect.objectContaining({ id: 2, status: 'failed', errorCode: 'smpp.no_response' }),
    ]);
  });

  it('takes no work while the recorder is backlogged', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('default')] });
    const fake = fakeRecorder();
    const connector = await boundConnector(sim.port, 'default', fake.recorder);
    expect(connector.demand).toBe(100);
    fake.recorder.backlogged = true;
    expect(connector.demand).toBe(0);
  });

  it('submits nothing while its node is not alive, and drops unsent what was claimed before a lapse', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('fenced')] });
    const fake = fakeRecorder();
    const fence = { alive: true, epoch: 0 };
    // 20 a second: most of what it is given waits in its queue for the rate.
    const connector = await boundConnector(
      sim.port,
      'fenced',
      fake.recorder,
      undefined,
      { max_tps: 20 },
      fence,
    );
    connector.enqueue(messages(40).map((m) => ({ ...m, epoch: 0 })));
    await until(() => fake.sent.length >= 3);
    // The node missed its beats: nothing more goes out, nothing is written.
    fence.alive = false;
    await new Promise((r) => setTimeout(r, 60));
    const before = sim.stats().submits;
    expect(connector.demand).toBe(0);
    await new Promise((r) => setTimeout(r, 400));
    expect(sim.stats().submits).toBe(before);
    // It beat again after its peers may have recovered its claims (a new epoch): what it held is
    // dropped, with no write (the node recovers its claims itself), and new work goes out.
    const sentBefore = fake.sent.length;
    fence.epoch = 1;
    fence.alive = true;
    connector.enqueue(messages(2).map((m) => ({ ...m, id: 100 + m.id, epoch: 1 })));
    await until(() => fake.sent.some((r) => r.id === 102));
    await until(() => connector.holding === 0);
    expect(
      fake.sent
        .slice(sentBefore)
        .map((r) => r.id)
        .sort(),
    ).toEqual([101, 102]);
    expect(fake.retries).toEqual([]);
    expect(fake.fails).toEqual([]);
    // Handed back (its channel degraded, or stopping) after another lapse: only what is still
    // its node's goes back to the queue.
    fence.alive = false;
    connector.enqueue(messages(3).map((m) => ({ ...m, id: 200 + m.id, epoch: 1 })));
    fence.epoch = 2;
    connector.enqueue(messages(2).map((m) => ({ ...m, id: 300 + m.id, epoch: 2 })));
    expect(connector.returnUnsubmitted('the channel was degraded; routed again')).toBe(2);
    expect(fake.retries.map((r) => r.id)).toEqual([301, 302]);
  });

  it('hands messages straight back to the queue when it stopped after the dispatcher chose it', async () => {
    const fake = fakeRecorder();
    const connector = new ChannelConnector({
      channel: channel(1, 'stopped'),
      recorder: fake.recorder,
      logger: silentLogger,
      onDeliver: async () => {},
      onReady: () => {},
    });
    await connector.stop(0);
    connector.enqueue(messages(2));
    expect(fake.retries.map((r) => [r.id, r.errorCode, r.delayMs, r.notAttempted, r.duplicateRisk])).toEqual([
      [1, 'channel.unavailable', 0, true, false],
      [2, 'channel.unavailable', 0, true, false],
    ]);
    expect(connector.holding).toBe(0);
  });

  it('hands back what it holds unsubmitted when its channel is degraded, and finishes what it submitted', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('narrow')] });
    const fake = fakeRecorder();
    const connector = new ChannelConnector({
      channel: channel(sim.port, 'narrow', { window_size: 5 }),
      recorder: fake.recorder,
      logger: silentLogger,
      onDeliver: async () => {},
      onReady: () => {},
    });
    cleanups.push(() => connector.stop(100));
    connector.start();
    await until(() => connector.isReady);
    connector.enqueue(messages(300));
    // A window of 5: the rest waits in the connector's queue until the carrier answers.
    const returned = connector.returnUnsubmitted('the channel was degraded; routed again');
    await until(() => connector.holding === 0);
    expect(returned).toBeGreaterThanOrEqual(290);
    expect(fake.retries).toHaveLength(returned);
    expect(fake.retries.every((r) => r.notAttempted && !r.duplicateRisk && r.delayMs === 0)).toBe(true);
    // Every message either went out here or came back, never both, never neither.
    const ids = [...fake.sent.map((r) => r.id), ...fake.retries.map((r) => r.id)].sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });
});
