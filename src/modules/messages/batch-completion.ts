// Batch completion: a batch is complete once every one of its messages is final. A periodic sweep
// of the worker marks it (batches.completed_at, migration 0028), and the batches trigger writes the
// `batch.completed` webhook event in the same statement. The sweep reads only open batches (a
// partial index) and, per batch, one probe of messages (batch_id, status); several nodes may run
// it at once: the second update of a row re-checks `completed_at is null` and skips it, so the
// event is written once.
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

/** Marks the batches whose messages are all final; answers their ids. */
export async function completeFinishedBatches(db: Queryable, now: Date): Promise<number[]> {
  const result = await db.query<{ id: string }>(
    `update batches b set completed_at = $1
      where b.completed_at is null
        and not exists (
          select 1 from messages m
           where m.batch_id = b.id and m.status in ('held', 'queued', 'sending', 'sent'))
      returning b.id`,
    [now],
  );
  return result.rows.map((r) => Number(r.id));
}
