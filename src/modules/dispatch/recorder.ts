// Collects submission outcomes and writes them in batches: one statement per kind per flush, no
// timer — while a flush is in flight new outcomes accumulate and go together in the next one.

import type pg from 'pg';
import type { Logger } from 'pino';
import {
  type FailedResult,
  failMessages,
  type RetryResult,
  recordSentMessages,
  requeueMessages,
  type SentResult,
} from './dispatch.sql.ts';

export interface Recorder {
  sent(r: SentResult): void;
  retry(r: RetryResult): void;
  fail(r: FailedResult): void;
  /** Resolves when everything recorded so far is written. */
  drain(): Promise<void>;
  readonly pending: number;
}

export function createRecorder({
  pool,
  nodeId,
  logger,
  now = () => new Date(),
  maxBatch = 5000,
  gatherMs = 5,
  onRecorded = () => {},
}: {
  pool: pg.Pool;
  nodeId: string;
  logger: Logger;
  now?: () => Date;
  maxBatch?: number;
  gatherMs?: number;
  /** Called after sent results are written (to retry parked receipts for them promptly). */
  onRecorded?: (sent: SentResult[]) => void;
}): Recorder {
  const sent: SentResult[] = [];
  const retries: RetryResult[] = [];
  const fails: FailedResult[] = [];
  let flushing: Promise<void> | null = null;
  let scheduled = false;
  const waiters: (() => void)[] = [];

  const pending = () => sent.length + retries.length + fails.length;

  async function flushOnce(): Promise<void> {
    const s = sent.splice(0, maxBatch);
    const r = retries.splice(0, maxBatch);
    const f = fails.splice(0, maxBatch);
    const at = now();
    for (;;) {
      try {
        await Promise.all([
          recordSentMessages(pool, { nodeId, results: s, now: at }),
          requeueMessages(pool, { nodeId, results: r, now: at }),
          failMessages(pool, { nodeId, results: f, now: at }),
        ]);
        if (s.length > 0) onRecorded(s);
        return;
      } catch (error) {
        // The outcomes are only in memory: keep retrying. If the process dies meanwhile, the
        // messages stay `sending` and crash recovery resends them marked duplicate_risk.
        logger.error(
          { err: error, sent: s.length, retries: r.length, fails: f.length },
          'could not record submit results; retrying',
        );
        await new Promise((res) => setTimeout(res, 1000));
      }
    }
  }

  function kick(): void {
    if (flushing || scheduled) return;
    scheduled = true;
    // Let outcomes of the next few milliseconds join the batch: one statement per handful of
    // messages costs the database more than the wait costs anyone (submission is already done).
    setTimeout(() => {
      scheduled = false;
      if (flushing || pending() === 0) return;
      flushing = (async () => {
        while (pending() > 0) await flushOnce();
      })().finally(() => {
        flushing = null;
        if (pending() > 0) kick();
        else for (const w of waiters.splice(0)) w();
      });
    }, gatherMs);
  }

  return {
    sent(r) {
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
    drain() {
      if (pending() === 0 && !flushing) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}
