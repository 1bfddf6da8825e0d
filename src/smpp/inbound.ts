// Incoming frames and which of them wait. Requests go to handlers, at most maxConcurrentHandlers at
// once; past that they wait here and start in arrival order as handlers finish. Everything else is
// processed as soon as it is framed, ahead of waiting requests: responses and generic_nack (a
// handler, or a request of ours about to time out, may be waiting for one), and enquire_link and
// unbind, which the session answers itself without a handler (so a busy peer still looks alive,
// and a peer's unbind is not stuck behind its own requests; it ends the session, and requests still
// waiting then get no response, like those whose handlers are still running).
//
// Backpressure: once more than maxWaiting requests wait, the socket stops reading, so a peer that
// sends faster than our handlers finish is slowed by TCP instead of growing our memory; reading
// resumes when the handlers have worked the queue down to half of that (not at the first free
// slot, which would pause and resume the socket once per PDU under a flood). A response that
// arrives while reading is paused is read once it resumes: TCP cannot pass one PDU and hold
// another. The queue may overshoot maxWaiting by the frames of the socket read that crossed it.

import type { Socket } from 'node:net';
import { CommandId, isResponseId } from './constants.ts';
import { Fifo } from './fifo.ts';

/** Waiting requests allowed per handler slot before the socket stops reading. */
const WAITING_PER_HANDLER = 4;

export interface InboundOptions {
  maxConcurrentHandlers: number;
  /** Requests that may wait for a handler before reading pauses. Default 4 × maxConcurrentHandlers. */
  maxWaitingRequests?: number;
  /** Processes one frame; starts handlers through handlerStarted/handlerFinished. */
  process: (frame: Buffer) => void;
  /** True while our own writes pile up, which also pauses reading. */
  writeBacklogged: () => boolean;
  onError: (error: unknown) => void;
}

/** Frames that never wait for a handler slot. */
function jumpsQueue(frame: Buffer): boolean {
  const id = frame.readUInt32BE(4);
  return isResponseId(id) || id === CommandId.enquire_link || id === CommandId.unbind;
}

export class InboundQueue {
  private readonly waiting = new Fifo<Buffer>();
  private readonly maxWaiting: number;
  private readonly resumeAt: number;
  private running = 0;
  private starting = false;
  private paused = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly options: InboundOptions,
  ) {
    this.maxWaiting = Math.max(
      1,
      options.maxWaitingRequests ?? WAITING_PER_HANDLER * options.maxConcurrentHandlers,
    );
    this.resumeAt = Math.floor(this.maxWaiting / 2);
  }

  get handlersRunning(): number {
    return this.running;
  }

  /** Requests framed and waiting for a handler slot. */
  get requestsWaiting(): number {
    return this.waiting.length;
  }

  /** Whether the socket is paused by this queue (waiting requests or the write backlog). */
  get readingPaused(): boolean {
    return this.paused;
  }

  /** Frames as the framer produced them, in order; the framer guarantees at least a header. */
  push(frames: Buffer[]): void {
    for (const frame of frames) {
      if (this.stopped) return;
      if (jumpsQueue(frame)) {
        this.process(frame);
      } else {
        this.waiting.push(frame);
        if (this.running < this.options.maxConcurrentHandlers) this.startWaiting();
      }
    }
    this.updateReading();
  }

  handlerStarted(): void {
    this.running++;
  }

  handlerFinished(): void {
    this.running--;
    this.startWaiting();
    this.updateReading();
    if (this.running === 0 && this.waiting.length === 0) this.wakeIdle();
  }

  /**
   * Resolves once no handler runs and no request waits for one, or after `timeoutMs`, or when the
   * queue stops: a session that unbinds answers what it took before it closes.
   */
  whenIdle(timeoutMs: number): Promise<void> {
    if (this.stopped || (this.running === 0 && this.waiting.length === 0)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve();
      }, timeoutMs);
      this.idleWaiters.push(done);
    });
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Pauses or resumes the socket; call also when the write backlog changes. */
  updateReading(): void {
    if (this.stopped) return;
    const limit = this.paused ? this.resumeAt : this.maxWaiting;
    const pause = this.waiting.length > limit || this.options.writeBacklogged();
    if (pause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!pause && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Drops waiting requests and processes no more frames. */
  stop(): void {
    this.stopped = true;
    this.waiting.drain();
    this.wakeIdle();
  }

  /** Starts waiting requests while slots are free; re-entrant calls (sync handlers) return at once. */
  private startWaiting(): void {
    if (this.starting) return;
    this.starting = true;
    try {
      const max = this.options.maxConcurrentHandlers;
      while (this.waiting.length > 0 && this.running < max && !this.stopped) {
        this.process(this.waiting.shift()!);
      }
    } finally {
      this.starting = false;
    }
  }

  private process(frame: Buffer): void {
    try {
      this.options.process(frame);
    } catch (error) {
      this.options.onError(error);
    }
  }
}
