// Message content retention: the worker's sweep blanks the content of messages final for longer
// than their tenant's retention period (default HONGYAN_CONTENT_RETENTION_DAYS), in batches, and
// keeps everything else about them. Several nodes may sweep at once: blanking twice is harmless and
// the cursor only moves forward.
import type { Queryable } from '../accounts/audit.ts';
import { listRetentionCursors, moveRetentionCursor, purgeContentAfter } from './retention.sql.ts';

const DAY_MS = 86_400_000;

export async function purgeExpiredContent({
  db,
  now,
  defaultDays,
  batchSize,
  maxBatches = 100,
}: {
  db: Queryable;
  now: Date;
  defaultDays: number;
  batchSize: number;
  /** Batches per tenant per sweep, so one large tenant cannot hold the sweep for long. */
  maxBatches?: number;
}): Promise<number> {
  let total = 0;
  for (const cursor of await listRetentionCursors(db, defaultDays)) {
    const cutoff = new Date(now.getTime() - cursor.days * DAY_MS);
    let afterId = cursor.throughId;
    for (let i = 0; i < maxBatches; i++) {
      const { purged, throughId } = await purgeContentAfter(db, {
        tenantId: cursor.tenantId,
        afterId,
        cutoff,
        limit: batchSize,
      });
      total += purged;
      if (throughId === null) break;
      await moveRetentionCursor(db, cursor.tenantId, throughId);
      afterId = throughId;
    }
  }
  return total;
}
