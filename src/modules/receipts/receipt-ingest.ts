// Delivery receipts and replies arrive as deliver_sm on any bound receiver. They are buffered and
// written in batches; each deliver_sm is acknowledged only after its batch is committed, so an
// acknowledged receipt is never lost (a crash before the commit makes the carrier resend it).

import type pg from 'pg';
import type { Logger } from 'pino';
import { withTransaction } from '../../db/pool.ts';
import { isReceipt, receiptFromDeliverSm } from '../../smpp/receipt.ts';
import type { IncomingRequest } from '../../smpp/session-types.ts';
import { type InboundInput, inboundFromPdu } from '../replies/inbound.ts';
import { storeInboundMessages } from '../replies/inbound-store.ts';
import { createIdConventionBook } from './id-conventions.ts';
import {
  applyKnownReceipts,
  applyReceipts,
  type KnownPart,
  type ReceiptInput,
  retryParkedReceipts,
} from './receipt-matching.ts';
import { finalStateOf, partRowsOf, receiptErrorCode, responseIdsOf } from './receipts.models.ts';
import { readReceiptCounts } from './receipts.sql.ts';
import { metricsReceiptArrived } from '../metrics/metrics.registry.ts';
import type { LentReceipts } from '../dispatch/recorder.ts';
import type { ReceiptOutcome } from '../dispatch/dispatch.sql.ts';

/** Slots of receipt_counters that concurrent batches spread their counts over. */
const COUNTER_SLOTS = 8;

/**
 * How long a receipt that overtook the write of its own submit result waits for that write in
 * memory before it takes the parking path (a row in pending_receipts, then a look-up and a delete).
 */
export const OVERTAKEN_WAIT_MS = 1_000;

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

export function createReceiptIngest({
  pool,
  logger,
  now = () => new Date(),
  maxBatch = 5000,
  maxInFlight = 3,
  receiptWindowHours = 72,
  onStored = () => {},
}: {
  pool: pg.Pool;
  logger: Logger;
  now?: () => Date;
  maxBatch?: number;
  maxInFlight?: number;
  receiptWindowHours?: number;
  /** Called with each batch of receipts once committed (routing health steps its breakers early). */
  onStored?: (receipts: readonly ReceiptInput[]) => void;
}) {
  let receipts: ReceiptInput[] = [];
  let inbound: InboundInput[] = [];
  let waiters: Waiter[] = [];
  let inFlight = 0;
  let scheduled = false;
  const idle: (() => void)[] = [];
  // Receipts parked because they overtook the write of their submit result. Under load the
  // carrier's receipt (20-300 ms in the simulator) often beats our batched write of the
  // submit_sm_resp, so right after each batch of submit results is written we look for parked
  // receipts naming those carrier ids (a GIN look-up) instead of waiting for the sweeper.
  let parkedOutstanding = 0;

  // Submit results this node's recorder has taken but not written yet, by channel and carrier id
  // (`submitted`), and the receipts that arrived for them meanwhile. A carrier that answers with
  // the receipt right after the submit_sm_resp (npm-smsc, many real SMSCs) beats the recorder's
  // batched write nearly every time: 8 of 10 receipts were parked in bench/singles-cpu.ts, three
  // statements each. Such a receipt now waits in memory until the recorder's write (sentRecorded)
  // and is then matched from memory; after OVERTAKEN_WAIT_MS, or if the write never comes (the
  // recorder gave up; its result was ended otherwise), it goes the parking way as before. The
  // deliver_sm is still answered only after the receipt's batch commits.
  const unwritten = new Map<string, number>(); // key -> when the submit result was taken (ms)
  const overtaken = new Map<string, { receipt: ReceiptInput; waiter: Waiter; since: number }[]>();
  let overtakenTimer: NodeJS.Timeout | null = null;
  const unwrittenKey = (channelId: number, carrierId: string) => `${channelId}:${carrierId}`;

  function releaseOvertaken(key: string): boolean {
    const waiting = overtaken.get(key);
    if (!waiting) return false;
    overtaken.delete(key);
    for (const o of waiting) {
      receipts.push(o.receipt);
      waiters.push(o.waiter);
    }
    return true;
  }

  /** Releases what waited too long, forgets results never written; re-arms while any waits. */
  function sweepOvertaken(): void {
    overtakenTimer = null;
    const due = Date.now() - OVERTAKEN_WAIT_MS;
    let released = false;
    for (const [key, waiting] of overtaken)
      if (waiting[0]!.since <= due) released = releaseOvertaken(key) || released;
    for (const [key, at] of unwritten) if (at <= due - 10 * OVERTAKEN_WAIT_MS) unwritten.delete(key);
    if (released) kick();
    armOvertaken();
  }
  // Receipts just read, routed together once the continuations of the same read have run.
  let arriving: { receipt: ReceiptInput; waiter: Waiter; since: number }[] = [];
  let arrivingScheduled = false;
  function routeArrivals(): void {
    arrivingScheduled = false;
    const batch = arriving;
    arriving = [];
    for (const a of batch) {
      const key = unwrittenKey(a.receipt.channelId, a.receipt.carrierId);
      if (unwritten.has(key)) {
        // It overtook its submit result's write: wait for it in memory (see `unwritten`).
        const waiting = overtaken.get(key);
        if (waiting) waiting.push(a);
        else overtaken.set(key, [a]);
      } else {
        receipts.push(a.receipt);
        waiters.push(a.waiter);
      }
    }
    armOvertaken();
    // The receipts read in this turn are all here: written now rather than a turn later.
    if (!scheduled && inFlight < maxInFlight && waiters.length > 0) startFlush();
    else kick();
  }

  function armOvertaken(): void {
    if (overtakenTimer === null && overtaken.size > 0) {
      overtakenTimer = setTimeout(sweepOvertaken, OVERTAKEN_WAIT_MS / 4);
      overtakenTimer.unref();
    }
  }

  // Carrier ids of messages this process recorded as sent, so that their receipts need no
  // look-up query (measured: the look-up was ~40% of the receipt batch's database time). Two
  // generations bound the memory: ids older than two generations are looked up in the database.
  const GENERATION = 500_000;
  let recent = new Map<string, KnownPart>();
  let older = new Map<string, KnownPart>();
  function rememberSent(sent: { id: number; channelId: number; carrierIds: string[] }[]): void {
    for (const s of sent)
      if (s.carrierIds.length === 1)
        recent.set(`${s.channelId}:${s.carrierIds[0]}`, { messageId: s.id, partNo: 0 });
    // The same rows as message_parts holds: parts sharing an id are one row, the newer message
    // keeps an id two messages were given.
    for (const p of partRowsOf(sent))
      recent.set(`${p.channelId}:${p.carrierId}`, { messageId: p.messageId, partNo: p.partNo });
    if (recent.size > GENERATION) {
      older = recent;
      recent = new Map();
    }
  }
  function lookupSent(channelId: number, responseId: string): KnownPart | undefined {
    const key = `${channelId}:${responseId}`;
    return recent.get(key) ?? older.get(key);
  }
  const conventions = createIdConventionBook({ pool, logger, now });
  let slotSeq = 0;
  const nextSlot = () => slotSeq++ % COUNTER_SLOTS;

  // One transaction per batch (or one statement, applyKnownReceipts): a batch is applied, parked
  // and counted together or not at all.
  const inTransaction = <T>(fn: (client: pg.PoolClient) => Promise<T>) => withTransaction(pool, fn);

  /**
   * Retries parked receipts (those that may name `responseIds`, or the oldest), then counts the
   * evidence `auto` channels gathered. Returns how many left the park (applied, duplicate, expired).
   */
  async function retryParked(responseIds?: string[]): Promise<number> {
    const r = await inTransaction(async (client) => {
      await conventions.ensure([]);
      return retryParkedReceipts(client, {
        now: now(),
        windowHours: receiptWindowHours,
        readingsOf: conventions.readingsOf,
        limit: 20_000,
        slot: nextSlot(),
        ...(responseIds ? { responseIds } : {}),
      });
    });
    await conventions.addEvidence(r.evidence);
    return r.applied + r.duplicate + r.expired;
  }

  const sentQueue: string[][] = [];
  let matching = false;

  async function matchParked(): Promise<void> {
    if (matching) return;
    matching = true;
    try {
      while (sentQueue.length > 0 && parkedOutstanding > 0) {
        const ids = sentQueue.splice(0).flat();
        try {
          const settled = await retryParked(ids);
          parkedOutstanding = Math.max(0, parkedOutstanding - settled);
        } catch (error) {
          logger.warn({ err: error }, 'matching parked receipts failed; the sweeper will');
        }
      }
      sentQueue.length = 0;
    } finally {
      matching = false;
    }
  }

  async function flushOnce(): Promise<void> {
    const r = receipts;
    const i = inbound;
    const w = waiters;
    receipts = [];
    inbound = [];
    waiters = [];
    try {
      const at = now();
      if (r.length > 0) {
        await conventions.ensure(new Set(r.map((x) => x.channelId)));
        const input = { receipts: r, now: at, readingsOf: conventions.readingsOf, known: lookupSent };
        // Most batches are receipts for this node's own single-part submissions: one statement.
        const { parked } =
          (await applyKnownReceipts(pool, { ...input, slot: nextSlot() })) ??
          (await inTransaction((client) => applyReceipts(client, { ...input, slot: nextSlot() })));
        parkedOutstanding += parked;
      }
      if (i.length > 0)
        await storeInboundMessages(pool, { messages: i, now: at, windowHours: receiptWindowHours, logger });
      for (const x of w) x.resolve();
    } catch (error) {
      logger.error(
        { err: error, receipts: r.length, inbound: i.length },
        'could not store receipts; the carrier will resend',
      );
      for (const x of w) x.reject(error);
      return;
    }
    reportStored(r);
  }

  // Up to `maxInFlight` batches are written at once: receipts of different messages touch
  // different rows, and the carrier's window of unacknowledged deliver_sm only moves as fast as
  // our commits (measured: one batch at a time capped receipts near 5,000/s).
  function startFlush(): void {
    inFlight++;
    void flushOnce().finally(() => {
      inFlight--;
      if (waiters.length > 0) kick();
      else if (inFlight === 0) for (const f of idle.splice(0)) f();
    });
  }

  function kick(): void {
    if (scheduled || inFlight >= maxInFlight) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (waiters.length === 0 || inFlight >= maxInFlight) return;
      startFlush();
      if (waiters.length > 0) kick();
    });
  }

  function deliver(channelId: number, pdu: IncomingRequest): Promise<void> {
    if (pdu.command !== 'deliver_sm' && pdu.command !== 'data_sm') return Promise.resolve();
    if (isReceipt(pdu)) {
      const receipt = receiptFromDeliverSm(pdu);
      const state = receipt ? finalStateOf(receipt.state) : null;
      if (!receipt?.messageId) {
        logger.warn({ channelId }, 'receipt without a message id; acknowledged and dropped');
        return Promise.resolve();
      }
      if (state === null) return Promise.resolve(); // an intermediate state (ENROUTE, ACCEPTD)
      metricsReceiptArrived(channelId, receipt.messageId);
      const input: ReceiptInput = {
        channelId,
        carrierId: receipt.messageId,
        state,
        errorCode: receiptErrorCode(state, receipt.stat, receipt.err),
        // The text's done date has minute resolution and a carrier-local zone: the time we learn
        // the outcome keeps every message's history in order.
        doneAt: now(),
      };
      // Routed on the next turn of the event loop: the submit_sm_resp that came in the same read
      // has resolved its submit, but the recorder hears of it only in that promise's continuation.
      return new Promise<void>((resolve, reject) => {
        arriving.push({ receipt: input, waiter: { resolve, reject }, since: Date.now() });
        if (!arrivingScheduled) {
          arrivingScheduled = true;
          setImmediate(routeArrivals);
        }
      });
    } else {
      inbound.push(inboundFromPdu({ channelId, pdu, receivedAt: now() }));
    }
    if (receipts.length + inbound.length >= maxBatch) kick();
    return new Promise<void>((resolve, reject) => {
      waiters.push({ resolve, reject });
      kick();
    });
  }

  /** Reports receipts committed by this node, whoever wrote them. */
  function reportStored(stored: readonly ReceiptInput[]): void {
    if (stored.length === 0) return;
    try {
      onStored(stored);
    } catch (error) {
      logger.error({ err: error }, 'a listener of stored receipts failed');
    }
  }

  /**
   * The receipts waiting in memory for some of these submit results (see `unwritten`), lent to the
   * recorder to be written with them: the message then takes one update instead of two. Only a
   * single-part result whose one receipt waits, on a channel read under one convention by which
   * the receipt's id names exactly this result's id, and whose id no other result of the batch
   * has: anything else (duplicates, `auto` still learning, parts, a reused id) waits for the write
   * and goes the usual way. settle() acknowledges the written ones after the commit and gives the
   * others back.
   */
  function lendWaitingReceipts(
    sent: readonly { id: number; channelId: number; carrierIds: string[] }[],
  ): LentReceipts | null {
    if (overtaken.size === 0) return null;
    const keys = new Map<string, number>();
    for (const s of sent)
      for (const id of s.carrierIds) {
        const key = unwrittenKey(s.channelId, id);
        keys.set(key, (keys.get(key) ?? 0) + 1);
      }
    const lent: { messageId: number; receipt: ReceiptInput; waiter: Waiter }[] = [];
    const outcomes = new Map<number, ReceiptOutcome>();
    for (const s of sent) {
      if (s.carrierIds.length !== 1) continue;
      const carrierId = s.carrierIds[0]!;
      const key = unwrittenKey(s.channelId, carrierId);
      const waiting = overtaken.get(key);
      if (waiting?.length !== 1 || keys.get(key) !== 1 || !conventions.knows(s.channelId)) continue;
      const readings = conventions.readingsOf(s.channelId);
      const { receipt, waiter } = waiting[0]!;
      if (readings.length !== 1 || !responseIdsOf(receipt.carrierId, readings[0]!).includes(carrierId))
        continue;
      overtaken.delete(key);
      lent.push({ messageId: s.id, receipt, waiter });
      outcomes.set(s.id, { state: receipt.state, errorCode: receipt.errorCode, doneAt: receipt.doneAt });
    }
    if (lent.length === 0) return null;
    let settled = false;
    return {
      outcomes,
      slot: nextSlot(),
      settle(written) {
        if (settled) return;
        settled = true;
        const stored: ReceiptInput[] = [];
        let back = false;
        for (const l of lent)
          if (written.has(l.messageId)) {
            l.waiter.resolve();
            stored.push(l.receipt);
          } else {
            receipts.push(l.receipt);
            waiters.push(l.waiter);
            back = true;
          }
        if (back) kick();
        reportStored(stored);
      },
    };
  }

  return {
    deliver,
    lendWaitingReceipts,
    /** The recorder took a submit result it has not written yet (see `unwritten`). */
    submitted(result: { channelId: number; carrierIds: string[] }) {
      const at = Date.now();
      for (const id of result.carrierIds) unwritten.set(unwrittenKey(result.channelId, id), at);
    },
    /** Submit results were written: parked receipts naming their carrier ids can match now. */
    sentRecorded(sent: { id: number; channelId: number; carrierIds: string[] }[]) {
      rememberSent(sent);
      let released = false;
      for (const s of sent)
        for (const id of s.carrierIds) {
          const key = unwrittenKey(s.channelId, id);
          unwritten.delete(key);
          released = releaseOvertaken(key) || released;
        }
      if (released) kick();
      if (parkedOutstanding === 0) return;
      sentQueue.push(sent.flatMap((s) => s.carrierIds));
      void matchParked();
    },
    /** The sweeper (every second): retries parked receipts, drops those past the window. */
    async sweepParked(): Promise<void> {
      await retryParked();
      const left = await pool.query<{ n: number }>('select count(*)::int as n from pending_receipts');
      parkedOutstanding = left.rows[0]?.n ?? 0;
    },
    /** Logs every channel's receipt counters (shared by all nodes: they live in the database). */
    async logCounts(): Promise<void> {
      const counts = await readReceiptCounts(pool);
      for (const c of counts) if (c.received > 0) logger.info({ ...c }, 'receipt counters');
    },
    /** The id conventions this node reads receipts with (tests and diagnostics). */
    conventions,
    drain(): Promise<void> {
      // Receipts still waiting for their submit result's write go the parking way now.
      if (arriving.length > 0) routeArrivals();
      let released = false;
      for (const key of [...overtaken.keys()]) released = releaseOvertaken(key) || released;
      if (released) kick();
      if (inFlight === 0 && waiters.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
