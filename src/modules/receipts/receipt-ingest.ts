// Delivery receipts and replies arrive as deliver_sm on any bound receiver. They are buffered and
// written in batches; each deliver_sm is acknowledged only after its batch is committed, so an
// acknowledged receipt is never lost (a crash before the commit makes the carrier resend it).

import type pg from 'pg';
import type { Logger } from 'pino';
import { isReceipt, messageIdVariants, type ReceiptState, receiptFromDeliverSm } from '../../smpp/receipt.ts';
import type { IncomingRequest } from '../../smpp/session-types.ts';
import { type InboundInput, inboundFromPdu } from '../replies/inbound.ts';
import { storeInboundMessages } from '../replies/inbound-store.ts';
import {
  applyReceipts,
  type FinalReceiptState,
  type KnownPart,
  type ReceiptInput,
  retryPendingReceipts,
} from './receipts.sql.ts';

/**
 * The message status a receipt state ends in. `enroute` and `accepted` are progress reports, not
 * outcomes (carriers use ACCEPTD for "taken by the handset's network"), so they end nothing.
 */
export function finalStateOf(state: ReceiptState): FinalReceiptState | null {
  switch (state) {
    case 'delivered':
      return 'delivered';
    case 'undeliverable':
    case 'deleted':
      return 'undelivered';
    case 'expired':
      return 'expired';
    case 'rejected':
      return 'rejected';
    case 'unknown':
      return 'unknown';
    default:
      return null;
  }
}

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
    for (const s of sent) {
      if (s.carrierIds.length === 1)
        recent.set(`${s.channelId}:${s.carrierIds[0]}`, { messageId: s.id, partNo: 0 });
      else
        s.carrierIds.forEach((cid, i) =>
          recent.set(`${s.channelId}:${cid}`, { messageId: s.id, partNo: i + 1 }),
        );
    }
    if (recent.size > GENERATION) {
      older = recent;
      recent = new Map();
    }
  }
  function lookupSent(r: ReceiptInput): KnownPart | undefined {
    for (const v of r.variants) {
      const key = `${r.channelId}:${v}`;
      const hit = recent.get(key) ?? older.get(key);
      if (hit) return hit;
    }
    return undefined;
  }
  const sentQueue: string[][] = [];
  let matching = false;

  async function matchParked(): Promise<void> {
    if (matching) return;
    matching = true;
    try {
      while (sentQueue.length > 0 && parkedOutstanding > 0) {
        const ids = sentQueue.splice(0).flat();
        const client = await pool.connect();
        try {
          await client.query('begin');
          const r = await retryPendingReceipts(client, {
            now: now(),
            windowHours: receiptWindowHours,
            limit: 20_000,
            carrierIds: ids,
          });
          await client.query('commit');
          parkedOutstanding = Math.max(0, parkedOutstanding - r.matched);
        } catch (error) {
          await client.query('rollback').catch(() => {});
          logger.warn({ err: error }, 'matching parked receipts failed; the sweeper will');
        } finally {
          client.release();
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
        const { parked } = await applyReceipts(pool, { receipts: r, now: at, known: lookupSent });
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
      receipts.push({
        channelId,
        carrierId: receipt.messageId,
        variants: messageIdVariants(receipt.messageId),
        state,
        errorCode:
          state === 'delivered'
            ? null
            : `carrier.${receipt.stat.toUpperCase()}${receipt.err ? `.${receipt.err}` : ''}`,
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
    /** The sweeper's count of receipts still parked. */
    setParkedOutstanding(n: number) {
      parkedOutstanding = n;
    },
    drain(): Promise<void> {
      if (inFlight === 0 && waiters.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
