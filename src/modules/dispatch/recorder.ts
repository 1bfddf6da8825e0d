// Collects submission outcomes and writes them in batches: one statement per kind per flush, no
// timer — while a flush is in flight new outcomes accumulate and go together in the next one.
//
// It cannot jam: a batch the database refuses for one of its rows (a data or constraint error) is
// split in halves until the bad row stands alone, and that row's message is ended on its own
// (`dispatch.record_failed`) while every other row is written. A batch refused because the
// database is away is retried whole with backoff. Connectors stop taking work while the backlog is
// long (`backlogged`), and `drain` takes a deadline: what is left then stays `sending`, and crash
// recovery queues it again, marked `duplicate_risk`.

import type pg from 'pg';
import type { Logger } from 'pino';
import { isRowError } from './dispatch.models.ts';
import {
  endUnrecordedMessages,
  type FailedResult,
  failMessages,
  type ReceiptOutcome,
  type RetryResult,
  recordSubmitResults,
  requeueMessages,
  type SentResult,
} from './dispatch.sql.ts';

export interface Recorder {
  sent(r: SentResult): void;
  retry(r: RetryResult): void;
  fail(r: FailedResult): void;
  /**
   * Resolves true when everything recorded so far is written, or false after `timeoutMs`; then
   * the recorder stops retrying and the rest is left to crash recovery.
   */
  drain(timeoutMs?: number): Promise<boolean>;
  readonly pending: number;
  /** True while more outcomes wait than connectors should add to. */
  readonly backlogged: boolean;
}

/**
 * Receipts that arrived before their submit results were written, lent by the receipt ingest to
 * be written with them (one update of each message instead of two).
 */
export interface LentReceipts {
  /** By message id: the outcome to write with its submit result. */
  outcomes: ReadonlyMap<number, ReceiptOutcome>;
  /** The receipt_counters slot the write counts them in. */
  slot: number;
  /**
   * Called once, after the write: the messages whose receipt was written (committed). The other
   * receipts go back to the ingest, which applies them the usual way.
   */
  settle(written: ReadonlySet<number>): void;
}

/** The statements the recorder runs; tests pass fakes. */
export interface RecorderWriters {
  /** Returns the messages whose receipt (SentResult.receipt) was written with them. */
  recordSent(rows: SentResult[], now: Date, slot: number): Promise<readonly number[]>;
  requeue(rows: RetryResult[], now: Date): Promise<unknown>;
  fail(rows: FailedResult[], now: Date): Promise<unknown>;
  /** Ends one message whose outcome the database refused, with `dispatch.record_failed`. */
  endUnrecorded(
    row: { id: number; status: 'unknown' | 'failed'; detail: string },
    now: Date,
  ): Promise<unknown>;
}

export function poolWriters(pool: pg.Pool, nodeId: string): RecorderWriters {
  return {
    recordSent: async (results, now, slot) =>
      (await recordSubmitResults(pool, { nodeId, results, now, slot })).receiptsWritten,
    requeue: (results, now) => requeueMessages(pool, { nodeId, results, now }),
    fail: (results, now) => failMessages(pool, { nodeId, results, now }),
    endUnrecorded: (row, now) => endUnrecordedMessages(pool, { nodeId, rows: [row], now }),
  };
}

function withReceipt(result: SentResult, receipt: ReceiptOutcome | undefined): SentResult {
  return receipt === undefined ? result : { ...result, receipt };
}

export function createRecorder({
  pool,
  nodeId,
  logger,
  now = () => new Date(),
  maxBatch = 5000,
  maxBacklog = 20_000,
  gatherMs = 5,
  retryBaseMs = 500,
  writers = poolWriters(pool, nodeId),
  onRecorded = () => {},
  onSubmitted = () => {},
  lendReceipts = () => null,
}: {
  pool: pg.Pool;
  nodeId: string;
  logger: Logger;
  now?: () => Date;
  maxBatch?: number;
  /** Outcomes waiting to be written above which connectors take no new work. */
  maxBacklog?: number;
  gatherMs?: number;
  /** First wait before retrying a batch the database could not take (doubling to 5 s). */
  retryBaseMs?: number;
  writers?: RecorderWriters;
  /** Called after sent results are written (to retry parked receipts for them promptly). */
  onRecorded?: (sent: SentResult[]) => void;
  /** Called when a sent result is taken, before it is written (receipts that overtake it wait). */
  onSubmitted?: (sent: SentResult) => void;
  /** Receipts already waiting for some of these results, to be written with them (or null). */
  lendReceipts?: (sent: SentResult[]) => LentReceipts | null;
}): Recorder {
  const sent: SentResult[] = [];
  const retries: RetryResult[] = [];
  const fails: FailedResult[] = [];
  let flushing: Promise<void> | null = null;
  let scheduled = false;
  let givenUp = false;
  const waiters: (() => void)[] = [];

  const pending = () => sent.length + retries.length + fails.length;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Writes `rows`, isolating rows the database refuses; returns the rows written. */
  async function write<T extends { id: number }>(
    kind: string,
    rows: T[],
    statement: (rows: T[]) => Promise<unknown>,
    unrecordedStatus: 'unknown' | 'failed',
  ): Promise<T[]> {
    if (rows.length === 0) return rows;
    for (let failures = 0; ; failures++) {
      try {
        await statement(rows);
        return rows;
      } catch (error) {
        if (isRowError(error)) {
          if (rows.length === 1) {
            await endUnrecorded(kind, rows[0]!.id, unrecordedStatus, error);
            return [];
          }
          const half = Math.ceil(rows.length / 2);
          const left = await write(kind, rows.slice(0, half), statement, unrecordedStatus);
          const right = await write(kind, rows.slice(half), statement, unrecordedStatus);
          return [...left, ...right];
        }
        // The database is away (or overloaded): the outcomes are only in memory, keep trying
        // until it is back or shutdown gives up; then crash recovery resends the messages.
        logger.error({ err: error, kind, rows: rows.length }, 'could not record submit results; retrying');
        if (givenUp) return [];
        await sleep(Math.min(5000, retryBaseMs * 2 ** Math.min(failures, 4)));
        if (givenUp) return [];
      }
    }
  }

  async function endUnrecorded(kind: string, id: number, status: 'unknown' | 'failed', error: unknown) {
    // NUL cannot be stored in text; the message of a data error may quote the bad value.
    const detail = `could not record the ${kind} result: ${String((error as Error).message)}`
      .replaceAll('\u0000', '')
      .slice(0, 500);
    logger.error(
      { err: error, kind, message: id },
      'a submit result the database refuses; ending its message',
    );
    try {
      await writers.endUnrecorded({ id, status, detail }, now());
    } catch (error2) {
      logger.error({ err: error2, message: id }, 'could not end the message either; it stays sending');
    }
  }

  async function flushOnce(): Promise<void> {
    const s = sent.splice(0, maxBatch);
    const r = retries.splice(0, maxBatch);
    const f = fails.splice(0, maxBatch);
    const at = now();
    // A receipt that overtook its result is written with it: the message goes from `sending` to
    // its final state in one update (measured: the second update was ~90 µs of PostgreSQL time
    // per single send, and most receipts from npm-smsc arrive before this write).
    const lent = s.length > 0 ? lendReceipts(s) : null;
    const rows = lent === null ? s : s.map((x) => withReceipt(x, lent.outcomes.get(x.id)));
    const receiptsWritten = new Set<number>();
    const slot = lent?.slot ?? 0;
    let written: SentResult[];
    try {
      [written] = await Promise.all([
        // The carrier has these: if unrecordable they become `unknown` (charged), never resent.
        write(
          'sent',
          rows,
          async (part) => {
            for (const id of await writers.recordSent(part, at, slot)) receiptsWritten.add(id);
          },
          'unknown',
        ),
        write('retry', r, (rows) => writers.requeue(rows, at), 'failed'),
        write('fail', f, (rows) => writers.fail(rows, at), 'failed'),
      ]);
    } finally {
      // Written or not (a statement that throws past write() is a bug, but no receipt may be lost
      // in it): each lent receipt is acknowledged or given back.
      lent?.settle(receiptsWritten);
    }
    if (written.length > 0) onRecorded(written);
  }

  function kick(): void {
    if (flushing || scheduled || givenUp) return;
    scheduled = true;
    // Let outcomes of the next few milliseconds join the batch: one statement per handful of
    // messages costs the database more than the wait costs anyone (submission is already done).
    setTimeout(() => {
      scheduled = false;
      if (flushing || pending() === 0) return;
      flushing = (async () => {
        while (pending() > 0 && !givenUp) await flushOnce();
      })().finally(() => {
        flushing = null;
        if (pending() > 0) kick();
        else for (const w of waiters.splice(0)) w();
      });
    }, gatherMs);
  }

  return {
    sent(r) {
      onSubmitted(r);
      sent.push(r);
      kick();
    },
    retry(r) {
      retries.push(r);
      kick();
    },
    fail(r) {
      fails.push(r);
      kick();
    },
    get pending() {
      return pending();
    },
    get backlogged() {
      return pending() >= maxBacklog;
    },
    drain(timeoutMs = Number.POSITIVE_INFINITY) {
      if (pending() === 0 && !flushing) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = Number.isFinite(timeoutMs)
          ? setTimeout(() => {
              givenUp = true;
              if (pending() > 0)
                logger.warn(
                  { left: pending() },
                  'stopping with submit results unwritten; crash recovery resends them',
                );
              resolve(false);
            }, timeoutMs)
          : null;
        waiters.push(() => {
          if (timer) clearTimeout(timer);
          resolve(true);
        });
      });
    },
  };
}
