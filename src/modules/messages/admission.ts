// Admission: the checks that must count or reserve something in the same transaction as the
// message rows they admit — per-recipient frequency caps, quota reservation — so that N concurrent
// requests can never together admit more than the rule allows, and a row is never written without
// what it counted (or counted without its row). Checks that only read (signature, template,
// content rules) run before, in the use case; these run at insert time, on the whole group of rows
// a statement writes: a batch, or the single sends of one group commit (intake.ts).
//
// Every insert path goes through admitAndInsertMessages: the intake's group commit, the
// idempotent single send, and batches. Each step sees only the rows earlier steps admitted, in
// order of `order` (lists and caps before quota, so a refused message is never charged).
import type pg from 'pg';
import type { AppError } from '../../shared/errors.ts';
import {
  type DirectClaim,
  type InsertedMessage,
  insertMessages,
  type NewMessageRow,
} from './messages.repository.ts';

export interface AdmissionContext {
  now: Date;
  /** The request asked for all or nothing: a step that would refuse some rows refuses them all. */
  allOrNothing: boolean;
  /** Rows due now are claimed for this node's dispatcher as they are written (intake.ts). */
  claim?: DirectClaim;
}

export interface AdmissionStep {
  name: string;
  /** Lower runs first. Recipient lists and caps: 100–299; quota reservation: 900. */
  order: number;
  /**
   * Inside the insert transaction, before the rows are written. Returns, per row, null to admit
   * it or the error that refuses it (a registered AppError, so its code is documented). A step
   * that locks rows (a balance, a recipient's counter) must lock them in a stable order (e.g. by
   * key), because two groups run this concurrently.
   */
  check(
    client: pg.PoolClient,
    rows: readonly NewMessageRow[],
    context: AdmissionContext,
    prefetched?: Promise<unknown>,
  ): Promise<ReadonlyArray<AppError | null>>;
  /**
   * Optional: a statement the step can send before any step has judged a row (a lock whose answer
   * does not depend on which rows the earlier steps admit). The transaction's connection pipelines
   * it (db/pool.ts) behind `begin`, and the earlier steps' first statements behind it, instead of
   * a round trip of its own after them. Called with every row of the group before the first step
   * runs, it must send its statement before it returns (call db.query at once, awaiting nothing
   * before): the locks it takes then come before every step's own, in step order, on every insert
   * path alike, which keeps the lock order the same for every group. Its promise goes to `check`
   * (and to a check run again after a late refusal); undefined when it has nothing to send.
   */
  prefetch?(
    client: pg.PoolClient,
    rows: readonly NewMessageRow[],
    context: AdmissionContext,
  ): Promise<unknown> | undefined;
  /**
   * Optional, for a step whose answer is slow to complete: the verdicts it has at once, and a
   * promise of the verdicts still to come for the rows those admit (null where it has nothing
   * more to say), or `later: null` when it has answered whole. Admission then writes the rows
   * while the rest of the answer is computed, under a savepoint: a row refused late rolls the
   * write back to it, and the later steps and the write run again without that row. Whatever
   * `later` computes beside the transaction must not need to see what this transaction wrote
   * (its rows are not committed). `check` stays the whole answer, for callers that want it in
   * one piece (a campaign's preview).
   */
  checkEarly?(
    client: pg.PoolClient,
    rows: readonly NewMessageRow[],
    context: AdmissionContext,
  ): Promise<{
    verdicts: ReadonlyArray<AppError | null>;
    later: Promise<ReadonlyArray<AppError | null>> | null;
  }>;
  /** Same transaction, after the admitted rows are written, with their ids (e.g. ledger rows). */
  afterInsert?(
    client: pg.PoolClient,
    rows: readonly NewMessageRow[],
    inserted: readonly InsertedMessage[],
    context: AdmissionContext,
  ): Promise<void>;
}

export type Admitted = { ok: true; message: InsertedMessage } | { ok: false; error: AppError };

export function createAdmission() {
  const steps: AdmissionStep[] = [];
  return {
    /** Registered once at start-up, by the module that owns the rule (see app/context.ts). */
    add(step: AdmissionStep): void {
      steps.push(step);
      steps.sort((a, b) => a.order - b.order);
    },
    get steps(): readonly AdmissionStep[] {
      return steps;
    },
  };
}

export type Admission = ReturnType<typeof createAdmission>;

/** A step's verdicts still to come: for `rows` (indexes into the group's rows), and from `step`. */
interface LateVerdicts {
  rows: number[];
  /** Those of `rows` its verdicts so far admitted: the later steps' rows, and the write's. */
  admitted: number[];
  /** Index of the step that answered late; steps after it run again if it refuses a row. */
  step: number;
  verdicts: Promise<ReadonlyArray<AppError | null>>;
}

const SAVEPOINT = 'hongyan_admission';

/**
 * Runs every step over the rows, writes the admitted ones, then each step's afterInsert. Must be
 * called inside a transaction on `client`. The result is aligned with `rows`.
 */
export async function admitAndInsertMessages(
  client: pg.PoolClient,
  admission: Admission,
  rows: readonly NewMessageRow[],
  context: AdmissionContext,
): Promise<Admitted[]> {
  const refused: (AppError | null)[] = rows.map(() => null);
  const refuse = (pending: number[], verdicts: ReadonlyArray<AppError | null>, name: string) => {
    if (verdicts.length !== pending.length)
      throw new Error(`admission step ${name} answered ${verdicts.length} of ${pending.length} rows`);
    return pending.filter((index, k) => {
      const error = verdicts[k];
      if (error) refused[index] = error;
      return !error;
    });
  };
  const steps = admission.steps;
  const prefetched = new Map<AdmissionStep, Promise<unknown>>();
  for (const step of steps) {
    const early = step.prefetch?.(client, rows, context);
    if (early) {
      early.catch(() => {}); // a failure is the check's to throw, or the statement after it's
      prefetched.set(step, early);
    }
  }
  let late: LateVerdicts | null = null;
  try {
    let pending = rows.map((_, i) => i);
    const runSteps = async (from: number) => {
      for (let s = from; s < steps.length; s++) {
        const step = steps[s]!;
        if (pending.length === 0) break;
        const group = pending.map((i) => rows[i]!);
        if (step.checkEarly && late === null) {
          const early = await step.checkEarly(client, group, context);
          const asked = pending;
          pending = refuse(pending, early.verdicts, step.name);
          if (early.later !== null) {
            late = { rows: asked, admitted: pending, step: s, verdicts: early.later };
            // What the later steps and the write do from here is undone if a row is refused late.
            if (pending.length > 0) await client.query(`savepoint ${SAVEPOINT}`);
          }
        } else {
          pending = refuse(
            pending,
            await step.check(client, group, context, prefetched.get(step)),
            step.name,
          );
        }
      }
    };
    const write = async () => {
      const admittedRows = pending.map((i) => rows[i]!);
      const inserted = await insertMessages(client, admittedRows, context.now, context.claim);
      if (admittedRows.length > 0) {
        for (const step of steps) await step.afterInsert?.(client, admittedRows, inserted, context);
      }
      return inserted;
    };
    await runSteps(0);
    let inserted = await write();
    if (late !== null) {
      const { rows: asked, admitted, step, verdicts } = late as LateVerdicts;
      const lateVerdicts = await verdicts;
      if (lateVerdicts.length !== asked.length)
        throw new Error(
          `admission step ${steps[step]!.name} answered ${lateVerdicts.length} of ${asked.length} rows late`,
        );
      // A late refusal is the step's own: it ranks before what a later step said of the row.
      const wasAdmitted = new Set(admitted);
      const refusedLate = new Set<number>();
      asked.forEach((index, k) => {
        const error = lateVerdicts[k];
        if (error && wasAdmitted.has(index)) {
          refused[index] = error;
          refusedLate.add(index);
        }
      });
      if (refusedLate.size > 0) {
        // As if the step had answered whole: the later steps judge again (a quota may now suffice
        // for a row it refused), and the write runs again, on what the step admitted.
        await client.query(`rollback to savepoint ${SAVEPOINT}`);
        pending = admitted.filter((index) => !refusedLate.has(index));
        for (const index of pending) refused[index] = null;
        await runSteps(step + 1);
        inserted = await write();
      }
    }
    // A prefetch no check read (every row refused before its step) must not fail unheard.
    await Promise.all(prefetched.values());
    const out: Admitted[] = new Array(rows.length);
    pending.forEach((index, k) => (out[index] = { ok: true, message: inserted[k]! }));
    refused.forEach((error, index) => {
      if (error) out[index] = { ok: false, error };
    });
    return out;
  } catch (error) {
    // A late answer is waited for either way: what it holds (a connection) goes back first.
    if (late !== null) await (late as LateVerdicts).verdicts.catch(() => {});
    throw error;
  }
}

/** For a path that sends one message: its row admitted and written, or its refusal thrown. */
export async function admitOne(
  client: pg.PoolClient,
  admission: Admission,
  row: NewMessageRow,
  context: AdmissionContext,
): Promise<InsertedMessage> {
  const [result] = await admitAndInsertMessages(client, admission, [row], context);
  if (!result!.ok) throw result!.error;
  return result!.message;
}
