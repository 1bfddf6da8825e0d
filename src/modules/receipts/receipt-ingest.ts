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
import { applyReceipts, type KnownPart, type ReceiptInput, retryParkedReceipts } from './receipt-matching.ts';
import { finalStateOf, partRowsOf, receiptErrorCode } from './receipts.models.ts';
import { readReceiptCounts } from './receipts.sql.ts';
import { metricsReceiptArrived } from '../metrics/metrics.registry.ts';

/** Slots of receipt_counters that concurrent batches spread their counts over. */
const COUNTER_SLOTS = 8;

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
}: {
  pool: pg.Pool;
  logger: Logger;
  now?: () => Date;
  maxBatch?: number;
  maxInFlight?: number;
  receiptWindowHours?: number;
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

  // One transaction per batch: a batch is applied, parked and counted together or not at all.
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
        const { parked } = await inTransaction(async (client) => {
          await conventions.ensure(new Set(r.map((x) => x.channelId)));
          return applyReceipts(client, {
            receipts: r,
            now: at,
            readingsOf: conventions.readingsOf,
            known: lookupSent,
            slot: nextSlot(),
          });
        });
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
    }
  }

  // Up to `maxInFlight` batches are written at once: receipts of different messages touch
  // different rows, and the carrier's window of unacknowledged deliver_sm only moves as fast as
  // our commits (measured: one batch at a time capped receipts near 5,000/s).
  function kick(): void {
    if (scheduled || inFlight >= maxInFlight) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (waiters.length === 0 || inFlight >= maxInFlight) return;
      inFlight++;
      void flushOnce().finally(() => {
        inFlight--;
        if (waiters.length > 0) kick();
        else if (inFlight === 0) for (const f of idle.splice(0)) f();
      });
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
      receipts.push({
        channelId,
        carrierId: receipt.messageId,
        state,
        errorCode: receiptErrorCode(state, receipt.stat, receipt.err),
        // The text's done date has minute resolution and a carrier-local zone: the time we learn
        // the outcome keeps every message's history in order.
        doneAt: now(),
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

  return {
    deliver,
    /** Submit results were written: parked receipts naming their carrier ids can match now. */
    sentRecorded(sent: { id: number; channelId: number; carrierIds: string[] }[]) {
      rememberSent(sent);
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
      if (inFlight === 0 && waiters.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
