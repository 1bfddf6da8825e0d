// The requests a session has sent and awaits responses for: sequence numbers, a window of at most
// windowSize outstanding requests with a FIFO of waiting ones, per-request timeouts, and the
// matching of responses. Knows nothing about sockets: the session passes `write` and `canSend`.

import { MAX_SEQUENCE_NUMBER } from './constants.ts';
import { GenericNackError, RequestTimeoutError, UnexpectedResponseError } from './errors.ts';
import { Fifo } from './fifo.ts';
import type {
  GenericNack,
  PduInit,
  RequestCommand,
  RequestPdu,
  ResponseCommand,
  ResponsePdu,
} from './pdu-types.ts';
import { responseCommandOf } from './pdu-types.ts';

interface Pending {
  command: RequestCommand;
  expect: ResponseCommand;
  windowed: boolean;
  resolve: (pdu: ResponsePdu) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface Queued {
  init: PduInit<RequestPdu>;
  timeoutMs: number;
  resolve: (pdu: ResponsePdu) => void;
  reject: (error: Error) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export interface RequestWindowHooks {
  /** May a request be sent now (bind state)? An Error rejects the queued request with it. */
  check: (command: RequestCommand) => Error | undefined;
  /** Encodes and writes; throws PduEncodeError for an invalid PDU. */
  write: (pdu: RequestPdu) => void;
  /** False while the socket is under backpressure: windowed requests wait. */
  writable: () => boolean;
  /** Called when slots are free after a change, for the session's 'slot' event. */
  onSlotFree: () => void;
}

export class RequestWindow {
  private nextSeq = 1;
  private readonly inflight = new Map<number, Pending>();
  private windowed = 0;
  private readonly queue = new Fifo<Queued>();
  private readonly slotWaiters = new Fifo<Waiter>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly windowSize: number,
    private readonly hooks: RequestWindowHooks,
    firstSequence = 1,
  ) {
    this.nextSeq = firstSequence;
  }

  /** Windowed requests sent and not yet answered. */
  get inFlight(): number {
    return this.windowed;
  }
  get queued(): number {
    return this.queue.length;
  }
  /** Slots a new request would take without waiting, ignoring bind state. */
  get free(): number {
    if (!this.hooks.writable()) return 0;
    return Math.max(0, this.windowSize - this.windowed - this.queue.length);
  }

  /** The next sequence number, 1..0x7FFFFFFF, wrapping, skipping numbers still in flight. */
  sequence(): number {
    let seq = this.nextSeq;
    while (this.inflight.has(seq)) seq = seq >= MAX_SEQUENCE_NUMBER ? 1 : seq + 1;
    this.nextSeq = seq >= MAX_SEQUENCE_NUMBER ? 1 : seq + 1;
    return seq;
  }

  /** Queues a request for a window slot; resolves with its response. */
  enqueue(init: PduInit<RequestPdu>, timeoutMs: number): Promise<ResponsePdu> {
    return new Promise((resolve, reject) => {
      this.queue.push({ init, timeoutMs, resolve, reject });
      this.pump();
    });
  }

  /** Sends at once, outside the window and backpressure: bind, unbind, enquire_link probes. */
  sendNow(init: PduInit<RequestPdu>, timeoutMs: number): Promise<ResponsePdu> {
    return new Promise((resolve, reject) => this.dispatch(init, timeoutMs, false, resolve, reject));
  }

  /** Sends queued requests while there are free slots and the socket takes writes. */
  pump(): void {
    while (this.queue.length > 0 && this.windowed < this.windowSize && this.hooks.writable()) {
      const item = this.queue.shift()!;
      const refused = this.hooks.check(item.init.command);
      if (refused !== undefined) item.reject(refused);
      else this.dispatch(item.init, item.timeoutMs, true, item.resolve, item.reject);
    }
  }

  /** Resolves one waiter per free slot; returns how many slots remain free after that. */
  wakeSlotWaiters(free: number): number {
    while (free > 0 && this.slotWaiters.length > 0) {
      this.slotWaiters.shift()!.resolve();
      free--;
    }
    return free;
  }

  waitForSlot(): Promise<void> {
    return new Promise((resolve, reject) => this.slotWaiters.push({ resolve, reject }));
  }

  /** Resolves when no windowed request is in flight, or after timeoutMs. */
  whenIdle(timeoutMs: number): Promise<void> {
    if (this.windowed === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Matches a response to its request. Returns false when no request has that sequence number.
   * generic_nack rejects with GenericNackError; any other status resolves, for the caller to read.
   */
  settle(pdu: ResponsePdu | GenericNack): boolean {
    const seq = pdu.sequenceNumber;
    const pending = this.inflight.get(seq);
    if (pending === undefined) return false;
    this.remove(seq, pending);
    if (pdu.command === 'generic_nack') {
      pending.reject(new GenericNackError(pending.command, seq, pdu.commandStatus));
    } else if (pdu.command !== pending.expect) {
      pending.reject(new UnexpectedResponseError(pending.expect, pdu.command));
    } else {
      pending.resolve(pdu);
    }
    if (pending.windowed) this.afterSlotFreed();
    return true;
  }

  /** Rejects requests not yet sent and slot waiters. */
  failWaiting(error: Error): void {
    for (const item of this.queue.drain()) item.reject(error);
    for (const waiter of this.slotWaiters.drain()) waiter.reject(error);
  }

  /** Rejects everything: requests in flight, queued, and waiters. */
  failAll(error: Error): void {
    const pending = [...this.inflight.values()];
    this.inflight.clear();
    this.windowed = 0;
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.failWaiting(error);
    const idle = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of idle) wake();
  }

  private dispatch(
    init: PduInit<RequestPdu>,
    timeoutMs: number,
    windowed: boolean,
    resolve: (pdu: ResponsePdu) => void,
    reject: (error: Error) => void,
  ): void {
    const sequenceNumber = this.sequence();
    const pdu = { ...init, sequenceNumber, commandStatus: init.commandStatus ?? 0, tlvs: init.tlvs ?? {} };
    try {
      this.hooks.write(pdu as RequestPdu);
    } catch (error) {
      reject(error as Error);
      return;
    }
    const timer = setTimeout(() => this.onTimeout(sequenceNumber, timeoutMs), timeoutMs);
    timer.unref();
    const command = init.command;
    this.inflight.set(sequenceNumber, {
      command,
      expect: responseCommandOf[command],
      windowed,
      resolve,
      reject,
      timer,
    });
    if (windowed) this.windowed++;
  }

  private onTimeout(sequenceNumber: number, timeoutMs: number): void {
    const pending = this.inflight.get(sequenceNumber);
    if (pending === undefined) return;
    this.remove(sequenceNumber, pending);
    pending.reject(new RequestTimeoutError(pending.command, sequenceNumber, timeoutMs));
    if (pending.windowed) this.afterSlotFreed();
  }

  private remove(sequenceNumber: number, pending: Pending): void {
    this.inflight.delete(sequenceNumber);
    clearTimeout(pending.timer);
    if (pending.windowed) this.windowed--;
  }

  private afterSlotFreed(): void {
    if (this.windowed === 0 && this.idleWaiters.length > 0) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of idle) wake();
    }
    this.pump();
    this.hooks.onSlotFree();
  }
}
