// Store and forward of what the simulator sends to clients (receipts and handset replies), like a
// real SMSC: each item waits in a time schedule until it is due, then in its system_id's queue
// until a session of that system_id bound as receiver or transceiver has a free window slot. An
// item whose deliver_sm fails (error status, timeout, closed session) is queued again, so nothing
// is lost while the process lives; only a queue past `maxStoredPerSystem` drops its oldest items.
//
// With a journal (journal.ts), every item is written down when it is added and marked done when the
// client acknowledges it, so that a restarted simulator delivers what it still owed (restore).
//
// Sending fills each session's window without awaiting responses one by one: at 10 000+ receipts a
// second, one round trip per receipt would cap throughput at window / RTT.

import { SessionClosedError } from '../../smpp/errors.ts';
import { Fifo } from '../../smpp/fifo.ts';
import type { DeliverSm, DeliverSmResp, PduInit } from '../../smpp/pdu-types.ts';
import type { SmppLogger } from '../../smpp/session-types.ts';
import type { Fate } from './decisions.models.ts';
import type { DeliveryJournal } from './journal.ts';
import { TimeBuckets } from './time-buckets.ts';

/** A receipt or a reply (MO) waiting to be delivered; compact, as up to millions may wait. */
export interface PendingDelivery {
  kind: 'receipt' | 'reply';
  /** Its number in the journal; 0 when there is none. */
  seq: number;
  /** The client that submitted the message, and that gets the receipt or reply. */
  systemId: string;
  /** For a receipt, the message id it reports (receipt form of the id); '' for a reply. */
  messageId: string;
  /** The recipient's handset: the submit's destination. */
  handset: string;
  handsetTon: number;
  handsetNpi: number;
  /** The submit's source (the client's number or sender id). */
  sender: string;
  senderTon: number;
  senderNpi: number;
  submittedAt: number;
  doneAt: number;
  fate: Fate;
  /** Receipt: the first characters of the message; reply: the reply's text. */
  text: string;
  attempts: number;
}

/** The part of SmppSession used here, so that tests can pass a fake. */
export interface DeliveryReceiver {
  readonly windowFree: number;
  request(init: PduInit<DeliverSm> & { command: 'deliver_sm' }): Promise<DeliverSmResp>;
}

export interface DeliveryStats {
  receiptsSent: number;
  repliesSent: number;
  /** Scheduled, queued and in flight. */
  pending: number;
  inFlight: number;
  retries: number;
  /** Dropped because a system_id's queue was full (no receiver bound for too long). */
  dropped: number;
}

/** Wait before retrying a deliver_sm that failed: 1 s, doubling, at most a minute. */
export function retryDelayMs(attempts: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.max(0, Math.min(attempts - 1, 6)));
}

export class DeliveryRouter {
  private readonly schedule: TimeBuckets<PendingDelivery>;
  private readonly queues = new Map<string, Fifo<PendingDelivery>>();
  private readonly receivers = new Map<string, DeliveryReceiver[]>();
  private timer: NodeJS.Timeout | undefined;
  private timerDueMs = Number.POSITIVE_INFINITY;
  private closed = false;
  private queued = 0;
  private readonly counters = { receiptsSent: 0, repliesSent: 0, inFlight: 0, retries: 0, dropped: 0 };
  private readonly onTimer = () => {
    this.timer = undefined;
    this.timerDueMs = Number.POSITIVE_INFINITY;
    this.releaseDue();
  };
  private readonly enqueueItem = (item: PendingDelivery) => this.enqueue(item);

  constructor(
    private readonly options: {
      build: (item: PendingDelivery) => PduInit<DeliverSm> & { command: 'deliver_sm' };
      now: () => number;
      logger: SmppLogger;
      maxStoredPerSystem: number;
      resolutionMs?: number;
      retryDelayMs?: (attempts: number) => number;
      /** Where owed items are written down; none keeps them in memory only. */
      journal?: DeliveryJournal | undefined;
    },
  ) {
    this.schedule = new TimeBuckets(options.resolutionMs ?? 10);
  }

  stats(): DeliveryStats {
    const { receiptsSent, repliesSent, inFlight, retries, dropped } = this.counters;
    const pending = this.schedule.size + this.queued + inFlight;
    return { receiptsSent, repliesSent, pending, inFlight, retries, dropped };
  }

  /** A new item, owed from now on: delivered at `dueMs` (or once a receiver binds after that). */
  add(item: PendingDelivery, dueMs: number): void {
    if (this.closed) return;
    this.options.journal?.added(item);
    this.scheduleAt(item, dueMs);
  }

  /** An item a previous run owed (from the journal): delivered when it was due, or now. */
  restore(item: PendingDelivery): void {
    this.scheduleAt(item, item.doneAt);
  }

  /** Delivers the item at `dueMs` (or as soon as a receiver is bound after that). */
  private scheduleAt(item: PendingDelivery, dueMs: number): void {
    if (this.closed) return;
    this.schedule.add(dueMs, item);
    if (dueMs < this.timerDueMs) this.arm();
  }

  /**
   * Sends the item now, bypassing the window's flow control, and resolves once the client has
   * answered it (or once it is stored, when no receiver is bound): for receipts that must reach
   * the client before the submit_sm_resp does.
   */
  deliverNow(item: PendingDelivery): Promise<void> {
    if (!this.closed) this.options.journal?.added(item);
    const receiver = this.receivers.get(item.systemId)?.[0];
    if (receiver === undefined || this.closed) {
      this.enqueue(item);
      return Promise.resolve();
    }
    return this.send(receiver, item);
  }

  addReceiver(systemId: string, receiver: DeliveryReceiver): void {
    const list = this.receivers.get(systemId);
    if (list === undefined) this.receivers.set(systemId, [receiver]);
    else list.push(receiver);
    this.pump(systemId);
  }

  removeReceiver(systemId: string, receiver: DeliveryReceiver): void {
    const list = this.receivers.get(systemId);
    if (list === undefined) return;
    const index = list.indexOf(receiver);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) this.receivers.delete(systemId);
  }

  /** A receiver has free window slots again. */
  pump(systemId: string): void {
    const queue = this.queues.get(systemId);
    if (queue === undefined || queue.length === 0) return;
    const list = this.receivers.get(systemId);
    if (list === undefined) return;
    for (const receiver of list) {
      let free = receiver.windowFree;
      while (free > 0 && queue.length > 0) {
        this.queued--;
        void this.send(receiver, queue.shift()!);
        free--;
      }
      if (queue.length === 0) return;
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule.clear();
    this.queues.clear();
    this.queued = 0;
  }

  private enqueue(item: PendingDelivery): void {
    if (this.closed) return;
    let queue = this.queues.get(item.systemId);
    if (queue === undefined) {
      queue = new Fifo();
      this.queues.set(item.systemId, queue);
    }
    queue.push(item);
    this.queued++;
    if (queue.length > this.options.maxStoredPerSystem) {
      const dropped = queue.shift()!;
      this.queued--;
      this.counters.dropped++;
      this.options.journal?.done(dropped);
    }
  }

  private releaseDue(): void {
    if (this.closed) return;
    const released = this.schedule.takeDue(this.options.now(), this.enqueueItem);
    if (released > 0) for (const systemId of this.receivers.keys()) this.pump(systemId);
    this.arm();
  }

  private arm(): void {
    const due = this.schedule.nextDueMs();
    if (due === undefined || this.closed) return;
    if (this.timer !== undefined) {
      if (due >= this.timerDueMs) return;
      clearTimeout(this.timer);
    }
    this.timerDueMs = due;
    this.timer = setTimeout(this.onTimer, Math.max(0, due - this.options.now()));
    // The server socket keeps a standalone simulator alive; pending receipts alone must not.
    this.timer.unref();
  }

  private send(receiver: DeliveryReceiver, item: PendingDelivery): Promise<void> {
    this.counters.inFlight++;
    return receiver.request(this.options.build(item)).then(
      (resp) => {
        this.counters.inFlight--;
        if (resp.commandStatus === 0) {
          this.options.journal?.done(item);
          if (item.kind === 'receipt') this.counters.receiptsSent++;
          else this.counters.repliesSent++;
        } else {
          this.retryLater(item, `deliver_sm_resp status ${resp.commandStatus}`);
        }
      },
      (error: unknown) => {
        this.counters.inFlight--;
        if (error instanceof SessionClosedError) {
          // Not the client's answer: the connection went. Another bind may take it at once.
          this.enqueue(item);
          this.pump(item.systemId);
        } else {
          this.retryLater(item, error instanceof Error ? error.message : String(error));
        }
      },
    );
  }

  private retryLater(item: PendingDelivery, reason: string): void {
    item.attempts++;
    this.counters.retries++;
    this.options.logger.debug(
      { systemId: item.systemId, messageId: item.messageId, reason },
      'deliver_sm retry',
    );
    this.scheduleAt(item, this.options.now() + (this.options.retryDelayMs ?? retryDelayMs)(item.attempts));
  }
}
