// Group commit for single sends: concurrent requests are written together in one multi-row
// statement instead of one commit each. No timer: while a write is in flight, new requests wait
// and go out together in the next one, so an idle server adds no latency and a busy one batches.
import type pg from 'pg';
import { withTransaction } from '../../db/pool.ts';
import { type Admission, type Admitted, admitAndInsertMessages } from './admission.ts';
import {
  type DirectClaim,
  type InsertedMessage,
  insertMessages,
  type NewMessageRow,
} from './messages.repository.ts';

/** Room granted by DirectClaimer.reserve: the claim to write with, and the node's fence epoch. */
export interface DirectGrant extends DirectClaim {
  epoch: number | undefined;
  sendingAt: string;
}

/**
 * This node's dispatcher, taking single sends as they are written (dispatcher.ts): a row due now
 * goes in `sending`, claimed by this node, and straight to a channel after the commit, instead of
 * in `queued` for the next claim to update. Only while the queue holds no due work the claim would
 * have put first, so neither priority nor a tenant's fair share changes.
 */
export interface DirectClaimer {
  /**
   * Room for at most `wanted` rows, held until adopt; null when none may be claimed at write. `at`
   * is the write's time: the grant's instant (`sendingAt`) falls in its millisecond.
   */
  reserve(wanted: number, at?: Date): DirectGrant | null;
  /**
   * After the write: the rows it claimed, and the grant's room back. `failed`: the write threw, so
   * whether it committed is unknown; rows it may have claimed (their `sending_at` is the grant's
   * instant, which no other claim shares) go back to the queue.
   */
  adopt(
    grant: DirectGrant,
    rows: ReadonlyArray<{ row: NewMessageRow; message: InsertedMessage }>,
    failed?: boolean,
  ): void;
}

/**
 * SQLSTATE classes a single row's values can cause: 22 data exception (e.g. 22021, a NUL in
 * text), 23 integrity constraint violation, 54 program limit exceeded (e.g. a row too large).
 */
export function isRowDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

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
  isRowError = isRowDataError,
  admission,
  claimer = () => null,
}: {
  pool: pg.Pool;
  now?: () => Date;
  maxBatch?: number;
  maxInFlight?: number;
  onInserted?: (rows: InsertedMessage[]) => void;
  /** Errors that one row's data can cause, worth retrying the group in smaller parts. */
  isRowError?: (error: unknown) => boolean;
  /** Steps that count or reserve per row (admission.ts); with none, one autocommit statement. */
  admission?: Admission;
  /** This node's dispatcher, when it runs one and has started (worker.ts). */
  claimer?: () => DirectClaimer | null;
}) {
  let queue: Pending[] = [];
  let inFlight = 0;
  // Tenants with rows in a group in flight, and how many groups hold each.
  const busy = new Map<number, number>();
  let pumpScheduled = false;

  async function flush(items: Pending[]): Promise<void> {
    inFlight++;
    const tenants = new Set(items.map((p) => p.row.tenantId));
    for (const t of tenants) busy.set(t, (busy.get(t) ?? 0) + 1);
    try {
      await insertGroup(items);
    } catch (error) {
      // onInserted threw after the rows were stored: those already resolved keep their answer.
      for (const p of items) p.reject(error);
    } finally {
      inFlight--;
      for (const t of tenants) {
        const n = busy.get(t)! - 1;
        if (n === 0) busy.delete(t);
        else busy.set(t, n);
      }
      pump();
    }
  }

  /**
   * One statement for the group. If PostgreSQL refuses it for a row's data (the route checks what
   * PostgreSQL cannot store, but a check can miss something), each half is retried on its own,
   * down to single rows, so only the rows that fail alone are refused and another tenant's
   * message in the same group is never failed by it. One bad row in a group of n costs about
   * 2·log2(n) extra statements. Any other error (database lost, timeout) fails the whole group:
   * no smaller group would fare better.
   */
  async function insertGroup(items: Pending[]): Promise<void> {
    let results: Admitted[];
    try {
      results = await write(items.map((p) => p.row));
    } catch (error) {
      if (items.length === 1 || !isRowError(error)) {
        for (const p of items) p.reject(error);
        return;
      }
      const half = Math.ceil(items.length / 2);
      await insertGroup(items.slice(0, half));
      await insertGroup(items.slice(half));
      return;
    }
    const inserted: InsertedMessage[] = [];
    results.forEach((result, i) => {
      if (result.ok) {
        items[i]!.resolve(result.message);
        inserted.push(result.message);
      } else {
        // Refused by an admission step (a cap, the quota): this request's own answer only.
        items[i]!.reject(result.error);
      }
    });
    if (inserted.length > 0) onInserted(inserted);
  }

  /** Writes the group, claiming what this node's dispatcher has room for (DirectClaimer). */
  async function write(rows: NewMessageRow[]): Promise<Admitted[]> {
    const wanted = rows.reduce((n, r) => n + (r.sendAt === null && r.heldForReview !== true ? 1 : 0), 0);
    const direct = wanted > 0 ? claimer() : null;
    const at = now();
    const grant = direct?.reserve(wanted, at) ?? null;
    if (!direct || !grant) return writeRows(rows, at, undefined);
    let results: Admitted[];
    try {
      results = await writeRows(rows, at, grant);
    } catch (error) {
      direct.adopt(grant, [], true);
      throw error;
    }
    const claimed: { row: NewMessageRow; message: InsertedMessage }[] = [];
    results.forEach((result, i) => {
      if (result.ok && result.message.status === 'sending')
        claimed.push({ row: rows[i]!, message: result.message });
    });
    direct.adopt(grant, claimed);
    return results;
  }

  /** A group is one transaction when admission steps exist (they count in it), else one statement. */
  async function writeRows(
    rows: NewMessageRow[],
    at: Date,
    claim: DirectClaim | undefined,
  ): Promise<Admitted[]> {
    if (!admission || admission.steps.length === 0) {
      // Only an admission step spends a deferred nonce: without one, a replay would pass.
      if (rows.some((r) => r.nonce))
        throw new Error('a signed request deferred its nonce to an intake without admission');
      const inserted = await insertMessages(pool, rows, at, claim);
      return inserted.map((message) => ({ ok: true, message }));
    }
    return withTransaction(pool, (client) =>
      admitAndInsertMessages(client, admission, rows, { now: at, allOrNothing: false, claim }),
    );
  }

  /**
   * Starts groups while fewer than maxInFlight are in flight. A group takes only the rows of
   * tenants no group in flight holds: admission locks each tenant's balance until its commit, so a
   * second group of the same tenant would only wait for that lock, holding a connection, while its
   * rows could have joined a larger group. Measured with one tenant at 50 clients (2 groups in
   * flight, each waiting for the other's lock, against one): PostgreSQL's CPU per message −15 to
   * −29 % (bench/singles-cpu.ts, docs/architecture.md). Other tenants' rows go in parallel.
   */
  function pump(): void {
    while (queue.length > 0 && inFlight < maxInFlight) {
      const take: Pending[] = [];
      const wait: Pending[] = [];
      for (const p of queue) (take.length < maxBatch && !busy.has(p.row.tenantId) ? take : wait).push(p);
      if (take.length === 0) return;
      queue = wait;
      void flush(take);
    }
  }

  return {
    insert(row: NewMessageRow): Promise<InsertedMessage> {
      return new Promise((resolve, reject) => {
        queue.push({ row, resolve, reject });
        // Defer to the end of this tick so requests parsed together share one statement.
        if (!pumpScheduled && inFlight < maxInFlight) {
          pumpScheduled = true;
          queueMicrotask(() => {
            pumpScheduled = false;
            pump();
          });
        }
      });
    },
  };
}

export type Intake = ReturnType<typeof createIntake>;
