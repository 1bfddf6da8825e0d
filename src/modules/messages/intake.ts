// Group commit for single sends: concurrent requests are written together in one multi-row
// statement instead of one commit each. No timer: while a write is in flight, new requests wait
// and go out together in the next one, so an idle server adds no latency and a busy one batches.
import type pg from 'pg';
import { type InsertedMessage, insertMessages, type NewMessageRow } from './messages.repository.ts';

interface Pending {
  row: NewMessageRow;
  resolve: (m: InsertedMessage) => void;
  reject: (e: unknown) => void;
}

export function createIntake({
  pool,
  now = () => new Date(),
  maxBatch = 1000,
  maxInFlight = 2,
  onInserted = () => {},
}: {
  pool: pg.Pool;
  now?: () => Date;
  maxBatch?: number;
  maxInFlight?: number;
  onInserted?: (rows: InsertedMessage[]) => void;
}) {
  const queue: Pending[] = [];
  let inFlight = 0;

  async function flush(items: Pending[]): Promise<void> {
    inFlight++;
    try {
      const inserted = await insertMessages(
        pool,
        items.map((p) => p.row),
        now(),
      );
      for (let i = 0; i < inserted.length; i++) items[i]!.resolve(inserted[i]!);
      onInserted(inserted);
    } catch (error) {
      for (const p of items) p.reject(error);
    } finally {
      inFlight--;
      pump();
    }
  }

  function pump(): void {
    while (queue.length > 0 && inFlight < maxInFlight) {
      void flush(queue.splice(0, maxBatch));
    }
  }

  return {
    insert(row: NewMessageRow): Promise<InsertedMessage> {
      return new Promise((resolve, reject) => {
        queue.push({ row, resolve, reject });
        // Defer to the end of this tick so requests parsed together share one statement.
        if (queue.length === 1) queueMicrotask(pump);
      });
    },
  };
}

export type Intake = ReturnType<typeof createIntake>;
