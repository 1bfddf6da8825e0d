import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_SEQUENCE_NUMBER } from './constants.ts';
import {
  GenericNackError,
  InvalidStateError,
  RequestTimeoutError,
  UnexpectedResponseError,
} from './errors.ts';
import type { PduInit, RequestPdu } from './pdu.ts';
import { buildPdu } from './pdu.ts';
import { RequestWindow, SWEEP_TICK_MS } from './request-window.ts';

function makeWindow(size: number, firstSequence = 1) {
  const written: RequestPdu[] = [];
  const sent: [PduInit<RequestPdu>, number][] = [];
  let writable = true;
  let refuse: Error | undefined;
  let slotFree = 0;
  const window = new RequestWindow(
    size,
    {
      check: () => refuse,
      write: (init, sequenceNumber) => {
        sent.push([init, sequenceNumber]);
        written.push({ ...init, sequenceNumber } as RequestPdu);
      },
      writable: () => writable,
      onSlotFree: () => {
        slotFree++;
      },
    },
    firstSequence,
  );
  return {
    window,
    written,
    sent,
    setWritable: (w: boolean) => {
      writable = w;
    },
    refuseWith: (e: Error | undefined) => {
      refuse = e;
    },
    slotFreeCount: () => slotFree,
  };
}

const submit = () => buildPdu('submit_sm', { destinationAddr: '1' });
const respTo = (pdu: RequestPdu, status = 0) =>
  buildPdu('submit_sm_resp', { sequenceNumber: pdu.sequenceNumber, commandStatus: status, messageId: 'm' });

afterEach(() => {
  vi.useRealTimers();
});

describe('RequestWindow', () => {
  it('wraps sequence numbers after 0x7FFFFFFF back to 1', () => {
    const { window } = makeWindow(10, MAX_SEQUENCE_NUMBER - 1);
    expect([window.sequence(), window.sequence(), window.sequence()]).toEqual([
      MAX_SEQUENCE_NUMBER - 1,
      MAX_SEQUENCE_NUMBER,
      1,
    ]);
  });

  it('skips sequence numbers still in flight after a wrap', () => {
    const { window, written } = makeWindow(10, MAX_SEQUENCE_NUMBER);
    void window.enqueue(submit(), 1000);
    void window.enqueue(submit(), 1000);
    expect(written.map((p) => p.sequenceNumber)).toEqual([MAX_SEQUENCE_NUMBER, 1]);
    const w2 = makeWindow(10, 1);
    void w2.window.enqueue(submit(), 1000);
    // Force the counter round to 1 again while 1 is in flight.
    (w2.window as unknown as { nextSeq: number }).nextSeq = 1;
    expect(w2.window.sequence()).toBe(2);
  });

  it('keeps at most windowSize in flight and sends the rest in FIFO order', async () => {
    const { window, written } = makeWindow(2);
    const results = [1, 2, 3, 4].map(() => window.enqueue(submit(), 1000));
    expect(written).toHaveLength(2);
    expect(window.inFlight).toBe(2);
    expect(window.queued).toBe(2);
    expect(window.free).toBe(0);
    window.settle(respTo(written[1]!));
    expect(written).toHaveLength(3);
    window.settle(respTo(written[0]!, 0x58));
    window.settle(respTo(written[2]!));
    window.settle(respTo(written[3]!));
    const resps = await Promise.all(results);
    expect(resps.map((r) => r.commandStatus)).toEqual([0x58, 0, 0, 0]);
    expect(written.map((p) => p.sequenceNumber)).toEqual([1, 2, 3, 4]);
    expect(window.inFlight).toBe(0);
  });

  it('holds requests while not writable', () => {
    const t = makeWindow(5);
    t.setWritable(false);
    void t.window.enqueue(submit(), 1000);
    expect(t.written).toHaveLength(0);
    expect(t.window.free).toBe(0);
    t.setWritable(true);
    t.window.pump();
    expect(t.written).toHaveLength(1);
  });

  it('times out one request, frees its slot, and drops its late response', async () => {
    vi.useFakeTimers();
    const { window, written, slotFreeCount } = makeWindow(1);
    const first = window.enqueue(submit(), 100);
    const second = window.enqueue(submit(), 100);
    vi.advanceTimersByTime(100);
    await expect(first).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(slotFreeCount()).toBe(1);
    expect(written).toHaveLength(2);
    expect(window.settle(respTo(written[0]!))).toBe(false);
    expect(window.settle(respTo(written[1]!))).toBe(true);
    await expect(second).resolves.toMatchObject({ messageId: 'm' });
  });

  it('times out with one timer for all requests, firing the first on time and none early', async () => {
    vi.useFakeTimers();
    const { window, written } = makeWindow(1000);
    const outcomes = new Map<number, string>();
    const track = (p: Promise<unknown>, seq: number) =>
      p.then(
        () => outcomes.set(seq, 'ok'),
        (e: unknown) => outcomes.set(seq, e instanceof RequestTimeoutError ? 'timeout' : 'other'),
      );
    for (let i = 0; i < 500; i++) void track(window.enqueue(submit(), 1000), i + 1);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(50);
    const late = window.enqueue(submit(), 1000); // due at 1050
    void track(late, 501);
    for (const pdu of written.slice(1, 500)) window.settle(respTo(pdu));
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(949);
    expect(outcomes.has(1)).toBe(false);
    await vi.advanceTimersByTimeAsync(1); // 1000: the first request's deadline
    expect(outcomes.get(1)).toBe('timeout');
    expect(outcomes.has(501)).toBe(false);
    expect(window.inFlight).toBe(1);
    // Due at 1050, within a tick of the sweep that just expired a request: at most a tick late.
    await vi.advanceTimersByTimeAsync(49);
    expect(outcomes.has(501)).toBe(false);
    await vi.advanceTimersByTimeAsync(SWEEP_TICK_MS);
    expect(outcomes.get(501)).toBe('timeout');
    expect([...outcomes.values()].filter((o) => o === 'ok')).toHaveLength(499);
    expect(window.inFlight).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('re-arms earlier for a request with a shorter timeout than those in flight', async () => {
    vi.useFakeTimers();
    const { window } = makeWindow(10);
    const long = window.enqueue(submit(), 10_000);
    const short = window.enqueue(submit(), 100);
    long.catch(() => {});
    vi.advanceTimersByTime(100);
    await expect(short).rejects.toMatchObject({ name: 'RequestTimeoutError', timeoutMs: 100 });
    expect(window.inFlight).toBe(1);
    vi.advanceTimersByTime(9_899);
    await Promise.resolve();
    expect(window.inFlight).toBe(1);
    vi.advanceTimersByTime(1);
    await expect(long).rejects.toMatchObject({ name: 'RequestTimeoutError', timeoutMs: 10_000 });
  });

  it('comes back at the deadline, not a tick later, when the timer fires early by our clock', async () => {
    vi.useFakeTimers();
    const { window } = makeWindow(1);
    const request = window.enqueue(submit(), 100);
    let outcome = '';
    request.catch((e: unknown) => (outcome = (e as Error).name));
    // Node's timers run on the loop's cached clock, which may lag performance.now() by a few ms.
    const fakeNow = performance.now.bind(performance);
    vi.spyOn(performance, 'now').mockImplementation(() => fakeNow() - 5);
    await vi.advanceTimersByTimeAsync(100);
    expect(outcome).toBe('');
    await vi.advanceTimersByTimeAsync(5);
    expect(outcome).toBe('RequestTimeoutError');
    vi.restoreAllMocks();
  });

  it('sends queued requests when timeouts free slots, and times those out too', async () => {
    vi.useFakeTimers();
    const { window, written } = makeWindow(2);
    const all = [1, 2, 3, 4].map(() => window.enqueue(submit(), 100));
    for (const p of all) p.catch(() => {});
    vi.advanceTimersByTime(100);
    await expect(all[0]).rejects.toBeInstanceOf(RequestTimeoutError);
    await expect(all[1]).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(written).toHaveLength(4);
    expect(window.inFlight).toBe(2);
    vi.advanceTimersByTime(100 + SWEEP_TICK_MS);
    await expect(all[2]).rejects.toBeInstanceOf(RequestTimeoutError);
    await expect(all[3]).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(window.inFlight).toBe(0);
  });

  it('keeps its timer from holding the process open, and clears it when everything fails', () => {
    const { window } = makeWindow(2);
    void window.enqueue(submit(), 60_000).catch(() => {});
    const timer = (window as unknown as { sweepTimer: NodeJS.Timeout | undefined }).sweepTimer;
    expect(timer?.hasRef()).toBe(false);
    window.failAll(new Error('gone'));
    expect((window as unknown as { sweepTimer: NodeJS.Timeout | undefined }).sweepTimer).toBeUndefined();
  });

  it('writes the request object it was given, numbered, without copying or changing it', () => {
    const { window, sent } = makeWindow(5);
    const init = submit();
    void window.enqueue(init, 1000);
    void window.enqueue(init, 1000);
    expect(sent.map(([pdu, seq]) => [pdu === init, seq])).toEqual([
      [true, 1],
      [true, 2],
    ]);
    expect(init.sequenceNumber).toBe(0);
  });

  it('rejects on generic_nack and on a response of the wrong command', async () => {
    const { window, written } = makeWindow(5);
    const a = window.enqueue(submit(), 1000);
    const b = window.enqueue(submit(), 1000);
    window.settle(buildPdu('generic_nack', { sequenceNumber: written[0]!.sequenceNumber, commandStatus: 3 }));
    window.settle(buildPdu('query_sm_resp', { sequenceNumber: written[1]!.sequenceNumber }));
    await expect(a).rejects.toMatchObject({ name: 'GenericNackError', status: 3 });
    await expect(a).rejects.toBeInstanceOf(GenericNackError);
    await expect(b).rejects.toBeInstanceOf(UnexpectedResponseError);
  });

  it('rejects a queued request the state no longer allows', async () => {
    const t = makeWindow(1);
    void t.window.enqueue(submit(), 1000);
    const queued = t.window.enqueue(submit(), 1000);
    t.refuseWith(new InvalidStateError('submit_sm', 'UNBOUND'));
    t.window.settle(respTo(t.written[0]!));
    await expect(queued).rejects.toBeInstanceOf(InvalidStateError);
  });

  it('fails everything at once', async () => {
    const { window } = makeWindow(1);
    const sent = window.enqueue(submit(), 1000);
    const queued = window.enqueue(submit(), 1000);
    const slot = window.waitForSlot();
    const idle = window.whenIdle(10_000);
    window.failAll(new Error('gone'));
    await expect(sent).rejects.toThrow('gone');
    await expect(queued).rejects.toThrow('gone');
    await expect(slot).rejects.toThrow('gone');
    await expect(idle).resolves.toBeUndefined();
    expect(window.inFlight).toBe(0);
  });
});
