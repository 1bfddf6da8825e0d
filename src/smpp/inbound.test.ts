import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { InboundQueue } from './inbound.ts';
import type { Pdu } from './pdu.ts';
import { buildPdu, encodePdu } from './pdu.ts';

/** A queue over a fake socket whose handlers for deliver_sm run until the test finishes them. */
function makeQueue(maxConcurrentHandlers: number, maxWaitingRequests?: number) {
  const socket = { paused: false, pauses: 0 };
  const fakeSocket = {
    pause: () => {
      socket.paused = true;
      socket.pauses++;
    },
    resume: () => {
      socket.paused = false;
    },
  } as unknown as Socket;
  const processed: string[] = [];
  const running: number[] = [];
  let backlogged = false;
  const queue: InboundQueue = new InboundQueue(fakeSocket, {
    maxConcurrentHandlers,
    ...(maxWaitingRequests === undefined ? {} : { maxWaitingRequests }),
    process: (frame) => {
      const seq = frame.readUInt32BE(12);
      const id = frame.readUInt32BE(4);
      processed.push(`${id.toString(16)}:${seq}`);
      if (id === 0x00000005) {
        queue.handlerStarted();
        running.push(seq);
      }
    },
    writeBacklogged: () => backlogged,
    onError: () => {},
  });
  return {
    queue,
    socket,
    processed,
    /** Finishes the oldest running handler. */
    finish: () => {
      running.shift();
      queue.handlerFinished();
    },
    setBacklogged: (b: boolean) => {
      backlogged = b;
      queue.updateReading();
    },
  };
}

const frame = (pdu: Pdu) => encodePdu(pdu);
const deliver = (seq: number) => frame(buildPdu('deliver_sm', { sequenceNumber: seq }));
const submitResp = (seq: number) => frame(buildPdu('submit_sm_resp', { sequenceNumber: seq }));

describe('InboundQueue', () => {
  it('processes responses, enquire_link and unbind at once, and requests in order as slots free', () => {
    const t = makeQueue(1);
    t.queue.push([
      deliver(1),
      deliver(2),
      submitResp(3),
      frame(buildPdu('enquire_link', { sequenceNumber: 4 })),
      deliver(5),
      frame(buildPdu('generic_nack', { sequenceNumber: 6 })),
      frame(buildPdu('unbind', { sequenceNumber: 7 })),
    ]);
    expect(t.processed).toEqual(['5:1', '80000004:3', '15:4', '80000000:6', '6:7']);
    expect(t.queue.requestsWaiting).toBe(2);
    t.finish();
    expect(t.processed.slice(5)).toEqual(['5:2']);
    t.queue.push([submitResp(8)]);
    expect(t.processed.slice(6)).toEqual(['80000004:8']);
    t.finish();
    t.finish();
    expect(t.processed.slice(7)).toEqual(['5:5']);
    expect(t.queue.requestsWaiting).toBe(0);
    expect(t.socket.pauses).toBe(0);
  });

  it('keeps reading up to maxWaiting waiting requests, then pauses until half of them started', () => {
    const t = makeQueue(2, 4);
    t.queue.push([deliver(1), deliver(2), deliver(3), deliver(4), deliver(5), deliver(6)]);
    expect(t.queue.handlersRunning).toBe(2);
    expect(t.queue.requestsWaiting).toBe(4);
    expect(t.socket.paused).toBe(false);
    t.queue.push([deliver(7)]);
    expect(t.socket.paused).toBe(true);
    t.finish(); // 4 waiting
    t.finish(); // 3 waiting
    expect(t.socket.paused).toBe(true);
    t.finish(); // 2 waiting: half of maxWaiting
    expect(t.socket.paused).toBe(false);
    expect(t.socket.pauses).toBe(1);
  });

  it('defaults maxWaiting to four per handler slot, and pauses on a write backlog', () => {
    const t = makeQueue(1);
    t.queue.push([1, 2, 3, 4, 5].map(deliver));
    expect(t.socket.paused).toBe(false);
    t.queue.push([deliver(6)]);
    expect(t.socket.paused).toBe(true);
    t.finish();
    t.finish();
    t.finish();
    expect(t.socket.paused).toBe(false);
    t.setBacklogged(true);
    expect(t.socket.paused).toBe(true);
    t.setBacklogged(false);
    expect(t.socket.paused).toBe(false);
  });

  it('drops waiting requests and processes nothing once stopped', () => {
    const t = makeQueue(1);
    t.queue.push([deliver(1), deliver(2)]);
    t.queue.stop();
    t.finish();
    t.queue.push([submitResp(3), deliver(4)]);
    expect(t.processed).toEqual(['5:1']);
    expect(t.queue.requestsWaiting).toBe(0);
  });
});
