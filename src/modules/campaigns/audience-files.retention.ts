// Audience file retention: the worker's sweep removes uploaded audience files older than
// audienceFileRetentionDays. A file is only a step before creating a campaign, which copies its
// recipients, so removing it never changes a campaign; its id then answers
// campaigns.audience_file_not_found, as an unknown id does.
//
// A file holds up to 200,000 rows, and a backlog can hold many files: deleting a file outright
// would cascade all its rows in one statement. So the sweep marks expired files first (which
// hides them from the API at once: a half-deleted file is never answered or copied), then deletes
// their rows at most `batchRows` a statement, each statement its own short transaction, and a
// file once none of its rows is left; a run does at most `maxStatements` statements and the next
// run goes on where it stopped. Several nodes may sweep at once: marking twice is a no-op, a
// statement skips the rows another node is deleting (skip locked: no waits, no deadlocks), and a
// file is deleted only by the node that sees it empty.
import type { Queryable } from '../accounts/audit.ts';

const DAY_MS = 86_400_000;

/** How often the worker sweeps (a file outlives its period by at most about this). */
export const AUDIENCE_FILE_SWEEP_MS = 10 * 60_000;

export interface AudienceFileSweep {
  /** Files marked expired by this run (gone from the API from then on). */
  expired: number;
  /** Files deleted, with their last rows. */
  deleted: number;
  /** Recipient rows deleted. */
  rows: number;
  /** Whether the run stopped at its statement budget with work left for the next run. */
  more: boolean;
}

/** Marks up to `limit` files uploaded before `cutoff` expired; answers how many. */
export async function markExpiredAudienceFiles(
  db: Queryable,
  { cutoff, now, limit }: { cutoff: Date; now: Date; limit: number },
): Promise<number> {
  const { rowCount } = await db.query(
    `update campaign_audience_files set expired_at = $2
      where id = any(array(select id from campaign_audience_files
                            where expired_at is null and created_at < $1
                            order by created_at limit $3 for update skip locked))`,
    [cutoff, now, limit],
  );
  return rowCount ?? 0;
}

/** The next expired file after `afterId` whose rows are to be deleted (null: none). */
export async function nextExpiredAudienceFile(db: Queryable, afterId: number): Promise<number | null> {
  const { rows } = await db.query<{ id: string }>(
    'select id from campaign_audience_files where expired_at is not null and id > $1 order by id limit 1',
    [afterId],
  );
  return rows[0] === undefined ? null : Number(rows[0].id);
}

/**
 * Deletes up to `limit` rows of an expired file, skipping rows another node is deleting. `= any
 * (array(...))`, not `in (select ...)`: with `in`, the planner hashes the chosen rows and scans
 * all the file's rows against them; 10,000 of a 200,000-row file took 54-105 ms that way, 29-39 ms
 * through the primary key (5 statements each, alternated, load 4.8).
 */
export async function deleteAudienceFileRows(db: Queryable, fileId: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `delete from campaign_audience_file_rows
      where file_id = $1
        and idx = any(array(select idx from campaign_audience_file_rows
                             where file_id = $1 order by idx limit $2 for update skip locked))`,
    [fileId, limit],
  );
  return rowCount ?? 0;
}

/** Deletes an expired file none of whose rows is left (another node may still be deleting them). */
export async function deleteEmptyAudienceFile(db: Queryable, fileId: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `delete from campaign_audience_files f
      where f.id = $1 and f.expired_at is not null
        and not exists (select 1 from campaign_audience_file_rows r where r.file_id = f.id)`,
    [fileId],
  );
  return (rowCount ?? 0) > 0;
}

export async function sweepExpiredAudienceFiles({
  db,
  now,
  days,
  batchRows = 10_000,
  maxStatements = 100,
}: {
  db: Queryable;
  now: Date;
  /** audienceFileRetentionDays. */
  days: number;
  /** Rows a delete statement removes at most (one short transaction each). */
  batchRows?: number;
  /** Marks and row deletes a run makes at most, so one run never holds the worker (or the database) long. */
  maxStatements?: number;
}): Promise<AudienceFileSweep> {
  const cutoff = new Date(now.getTime() - days * DAY_MS);
  const result: AudienceFileSweep = { expired: 0, deleted: 0, rows: 0, more: false };
  // The budget counts the statements that touch many rows (marks, row deletes); finding the next
  // file and deleting an emptied one touch one row each and always follow.
  let budget = maxStatements;
  let marksLeft = true;
  // Marking first: however long the deleting takes, an expired file is gone from the API now.
  while (budget > 0 && marksLeft) {
    budget--;
    const marked = await markExpiredAudienceFiles(db, { cutoff, now, limit: 1000 });
    result.expired += marked;
    marksLeft = marked === 1000;
  }
  let afterId = 0;
  while (budget > 0) {
    const fileId = await nextExpiredAudienceFile(db, afterId);
    if (fileId === null) return result;
    let emptied = false;
    while (budget > 0 && !emptied) {
      budget--;
      const n = await deleteAudienceFileRows(db, fileId, batchRows);
      result.rows += n;
      emptied = n < batchRows;
    }
    if (!emptied) break;
    if (await deleteEmptyAudienceFile(db, fileId)) result.deleted++;
    afterId = fileId;
  }
  // Out of budget: is anything left for the next run (this file's rows, or files after it)?
  result.more = marksLeft || (await nextExpiredAudienceFile(db, afterId)) !== null;
  return result;
}
