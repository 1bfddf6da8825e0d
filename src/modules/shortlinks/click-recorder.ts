// Clicks are answered first and written after: the redirect queues its click here, and the
// recorder writes what is queued with one multi-row insert every `intervalMs` (or at once when
// `maxBuffered` are waiting). One statement per few hundred clicks instead of one per redirect is
// what lets a campaign's first minutes (thousands of redirects a second) cost the database little.
// A click still queued when the process dies is lost: a count, never a message.
import type pg from 'pg';
import { type Click, insertClicks } from './shortlinks.sql.ts';

export interface ClickRecorder {
  record(click: Click): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly pending: number;
}

export function createClickRecorder({
  pool,
  intervalMs = 100,
  maxBuffered = 1000,
  onError,
}: {
  pool: Pick<pg.Pool, 'query'>;
  intervalMs?: number;
  maxBuffered?: number;
  onError: (err: unknown) => void;
}): ClickRecorder {
  let buffer: Click[] = [];
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (buffer.length === 0) return writing;
    const batch = buffer;
    buffer = [];
    // One write at a time, in order; a failed write is reported and its clicks dropped.
    writing = writing.then(() => insertClicks(pool, batch).catch(onError));
    return writing;
  };

  return {
    record(click) {
      buffer.push(click);
      if (buffer.length >= maxBuffered) void flush();
      else timer ??= setTimeout(() => void flush(), intervalMs);
    },
    flush,
    async close() {
      await flush();
    },
    get pending() {
      return buffer.length;
    },
  };
}
