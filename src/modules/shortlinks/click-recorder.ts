// Clicks are answered first and written after: the redirect queues its click here, and the
// recorder writes what is queued with one multi-row insert (`unnest`) of up to `batchSize` clicks,
// `intervalMs` after the first click waiting, or at once when a batch is full. One statement per
// few hundred clicks instead of one per redirect is what lets a campaign's first minutes
// (thousands of redirects a second) cost the database little. One write at a time, in order.
//
// When PostgreSQL cannot take a write, its clicks go back to the front of the queue and the
// recorder tries again after a back-off (up to `maxRetryMs`), while redirects go on answering.
// The queue is bounded (`maxBuffered`): past it, new clicks are counted as dropped and reported,
// never held without limit. A click still queued when the process dies is lost, as are those a
// stop cannot write: a count, never a message.
import type pg from 'pg';
import { type Click, insertClicks } from './shortlinks.sql.ts';

export interface ClickRecorder {
  record(click: Click): void;
  /** Writes every click queued now; answers once written, or once a write failed. */
  flush(): Promise<void>;
  /** Flushes and stops retrying; clicks it could not write are reported as lost. */
  close(): Promise<void>;
  readonly pending: number;
  /** Clicks dropped because the queue was full (PostgreSQL away for long) or lost at close. */
  readonly dropped: number;
}

export function createClickRecorder({
  pool,
  intervalMs = 100,
  batchSize = 2000,
  maxBuffered = 200_000,
  maxRetryMs = 5000,
  onError,
}: {
  pool: Pick<pg.Pool, 'query'>;
  intervalMs?: number;
  batchSize?: number;
  maxBuffered?: number;
  maxRetryMs?: number;
  onError: (err: unknown, detail: { pending: number; dropped: number }) => void;
}): ClickRecorder {
  let buffer: Click[] = [];
  let dropped = 0;
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<boolean> | null = null;
  let retryMs = 0;
  let closed = false;

  const take = (): Click[] => {
    if (buffer.length <= batchSize) {
      const all = buffer;
      buffer = [];
      return all;
    }
    const batch = buffer.slice(0, batchSize);
    buffer = buffer.slice(batchSize);
    return batch;
  };

  /** Writes batches until the queue is empty (true) or a write fails (false). */
  const writeAll = async (): Promise<boolean> => {
    while (buffer.length > 0) {
      const batch = take();
      try {
        await insertClicks(pool, batch);
        retryMs = 0;
      } catch (err) {
        const room = Math.max(0, maxBuffered - buffer.length);
        if (room < batch.length) dropped += batch.length - room;
        buffer = batch.slice(0, room).concat(buffer);
        onError(err, { pending: buffer.length, dropped });
        return false;
      }
    }
    return true;
  };

  const arm = (ms: number) => {
    if (timer !== null || closed) return;
    timer = setTimeout(() => {
      timer = null;
      void write();
    }, ms);
  };

  const write = (): Promise<boolean> => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    writing ??= writeAll().then((ok) => {
      writing = null;
      if (!ok) retryMs = Math.min(maxRetryMs, Math.max(intervalMs, retryMs * 2));
      if (buffer.length > 0) arm(ok ? intervalMs : retryMs);
      return ok;
    });
    return writing;
  };

  return {
    record(click) {
      if (buffer.length >= maxBuffered) {
        dropped++;
        return;
      }
      buffer.push(click);
      if (retryMs > 0) return; // PostgreSQL failed the last write: wait for the retry
      if (buffer.length >= batchSize && writing === null) void write();
      else arm(intervalMs);
    },
    async flush() {
      // Clicks queued while a write was in flight need the write after it.
      while ((await write()) && buffer.length > 0);
    },
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      if (writing !== null) await writing;
      if (!(await writeAll()) && buffer.length > 0) {
        dropped += buffer.length;
        onError(new Error(`short links: ${buffer.length} clicks not written at stop`), {
          pending: 0,
          dropped,
        });
        buffer = [];
      }
    },
    get pending() {
      return buffer.length;
    },
    get dropped() {
      return dropped;
    },
  };
}
