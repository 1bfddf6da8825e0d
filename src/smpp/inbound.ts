// Incoming frames wait here for processing. Requests are handled concurrently up to a maximum;
// past it, frames wait in order and the socket stops reading, so a peer that sends faster than our
// handlers finish is slowed by TCP instead of growing our memory. Responses are never held back by
// busy handlers: a handler may itself be waiting for one.

import type { Socket } from 'node:net';
import { isResponseId } from './constants.ts';
import { Fifo } from './fifo.ts';

export interface InboundOptions {
  maxConcurrentHandlers: number;
  /** Processes one frame; starts handlers through handlerStarted/handlerFinished. */
  process: (frame: Buffer) => void;
  /** True while our own writes pile up, which also pauses reading. */
  writeBacklogged: () => boolean;
  onError: (error: unknown) => void;
}

export class InboundQueue {
  private readonly frames = new Fifo<Buffer>();
  private running = 0;
  private draining = false;
  private paused = false;
  private stopped = false;

  constructor(
    private readonly socket: Socket,
    private readonly options: InboundOptions,
  ) {}

  get handlersRunning(): number {
    return this.running;
  }

  push(frames: Buffer[]): void {
    for (const frame of frames) this.frames.push(frame);
    this.drain();
  }

  handlerStarted(): void {
    this.running++;
  }

  handlerFinished(): void {
    this.running--;
    this.drain();
  }

  /** Processes what may be processed now; re-entrant calls (from sync handlers) return at once. */
  drain(): void {
    if (this.draining || this.stopped) return;
    this.draining = true;
    try {
      const max = this.options.maxConcurrentHandlers;
      while (this.frames.length > 0 && !this.stopped) {
        const frame = this.frames.peek()!;
        const isResponse = frame.length >= 8 && isResponseId(frame.readUInt32BE(4));
        if (!isResponse && this.running >= max) break;
        this.frames.shift();
        try {
          this.options.process(frame);
        } catch (error) {
          this.options.onError(error);
        }
      }
    } finally {
      this.draining = false;
    }
    this.updateReading();
  }

  /** Pauses or resumes the socket; call also when the write backlog changes. */
  updateReading(): void {
    if (this.stopped) return;
    const pause =
      this.frames.length > 0 ||
      this.running >= this.options.maxConcurrentHandlers ||
      this.options.writeBacklogged();
    if (pause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!pause && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Drops waiting frames and processes no more. */
  stop(): void {
    this.stopped = true;
    this.frames.drain();
  }
}
