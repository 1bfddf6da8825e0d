// Delivery receipts and replies arrive as deliver_sm on any bound receiver. They are buffered and
// written in batches; each deliver_sm is acknowledged only after its batch is committed, so an
// acknowledged receipt is never lost (a crash before the commit makes the carrier resend it).
import type { Logger } from 'pino';
import type pg from 'pg';
import { isReceipt, messageIdVariants, type ReceiptState, receiptFromDeliverSm } from '../../smpp/receipt.ts';
import { decodeShortMessage } from '../../smpp/segments.ts';
import type { IncomingRequest } from '../../smpp/session-types.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import {
  applyReceipts,
  type FinalReceiptState,
  type InboundInput,
  type ReceiptInput,
  retryPendingReceipts,
  storeInboundMessages,
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
  receiptWindowHours = 72,
}: {
  pool: pg.Pool;
  logger: Logger;
  now?: () => Date;
  maxBatch?: number;
  receiptWindowHours?: number;
}) {
  let receipts: ReceiptInput[] = [];
  let inbound: InboundInput[] = [];
  let waiters: Waiter[] = [];
  let flushing: Promise<void> | null = null;
  let scheduled = false;
  const idle: (() => void)[] = [];
  // Receipts parked because they overtook the write of their submit result: retried as soon as
  // the next submit results are written, rather than waiting for the sweeper.
  let parkedRecently = 0;
  let sweeping = false;

  async function sweepParked(): Promise<void> {
    if (sweeping || parkedRecently === 0) return;
    sweeping = true;
    parkedRecently = 0;
    const client = await pool.connect();
    try {
      await client.query('begin');
      await retryPendingReceipts(client, { now: now(), windowHours: receiptWindowHours, limit: 5000 });
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => {});
      logger.warn({ err: error }, 'retrying parked receipts failed; the sweeper will');
    } finally {
      client.release();
      sweeping = false;
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
        const { parked } = await applyReceipts(pool, { receipts: r, now: at });
        parkedRecently += parked;
      }
      if (i.length > 0) await storeInboundMessages(pool, { messages: i });
      for (const x of w) x.resolve();
    } catch (error) {
      logger.error({ err: error, receipts: r.length, inbound: i.length }, 'could not store receipts; the carrier will resend');
      for (const x of w) x.reject(error);
    }
  }

  function kick(): void {
    if (flushing || scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (flushing) return;
      flushing = (async () => {
        while (waiters.length > 0) await flushOnce();
      })().finally(() => {
        flushing = null;
        if (waiters.length > 0) kick();
        else for (const f of idle.splice(0)) f();
      });
    });
  }

  function deliver(channelId: number, pdu: IncomingRequest): Promise<void> {
    if (pdu.command !== 'deliver_sm' && pdu.command !== 'data_sm') return Promise.resolve();
    if (isReceipt(pdu)) {
      const receipt = receiptFromDeliverSm(pdu);
      const state = receipt ? finalStateOf(receipt.state) : null;
      if (!receipt || !receipt.messageId) {
        logger.warn({ channelId }, 'receipt without a message id; acknowledged and dropped');
        return Promise.resolve();
      }
      if (state === null) return Promise.resolve(); // an intermediate state (ENROUTE, ACCEPTD)
      receipts.push({
        channelId,
        carrierId: receipt.messageId,
        variants: messageIdVariants(receipt.messageId),
        state,
        errorCode: state === 'delivered' ? null : `carrier.${receipt.stat.toUpperCase()}${receipt.err ? `.${receipt.err}` : ''}`,
        // The text's done date has minute resolution and a carrier-local zone: the time we learn
        // the outcome keeps every message's history in order.
        doneAt: now(),
      });
    } else {
      const body = pdu.command === 'deliver_sm' ? pdu : null;
      const payload = pdu.tlvs.messagePayload ?? body?.shortMessage ?? Buffer.alloc(0);
      const decoded = decodeShortMessage(payload, body?.dataCoding ?? 0, ((body?.esmClass ?? 0) & 0x40) !== 0);
      const phone = normalizePhone(`+${pdu.sourceAddr.replace(/^\+/, '')}`);
      inbound.push({
        channelId,
        sender: phone.ok ? phone.e164 : pdu.sourceAddr,
        destination: pdu.destinationAddr,
        content: decoded.text,
        receivedAt: now(),
      });
    }
    if (receipts.length + inbound.length >= maxBatch) kick();
    return new Promise<void>((resolve, reject) => {
      waiters.push({ resolve, reject });
      kick();
    });
  }

  return {
    deliver,
    /** Submit results were written: parked receipts may match now. */
    sentRecorded() {
      void sweepParked();
    },
    drain(): Promise<void> {
      if (!flushing && waiters.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
