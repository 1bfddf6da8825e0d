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
import { type InsertedMessage, insertMessages, type NewMessageRow } from './messages.repository.ts';

export interface AdmissionContext {
  now: Date;
  /** The request asked for all or nothing: a step that would refuse some rows refuses them all. */
  allOrNothing: boolean;
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
  ): Promise<ReadonlyArray<AppError | null>>;
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
  let pending = rows.map((_, i) => i);
  for (const step of admission.steps) {
    if (pending.length === 0) break;
    const verdicts = await step.check(
      client,
      pending.map((i) => rows[i]!),
      context,
    );
    if (verdicts.length !== pending.length)
      throw new Error(`admission step ${step.name} answered ${verdicts.length} of ${pending.length} rows`);
    pending = pending.filter((index, k) => {
      const error = verdicts[k];
      if (error) refused[index] = error;
      return !error;
    });
  }
  const admittedRows = pending.map((i) => rows[i]!);
  const inserted = await insertMessages(client, admittedRows, context.now);
  if (admittedRows.length > 0) {
    for (const step of admission.steps) {
      await step.afterInsert?.(client, admittedRows, inserted, context);
    }
  }
  const out: Admitted[] = new Array(rows.length);
  pending.forEach((index, k) => (out[index] = { ok: true, message: inserted[k]! }));
  refused.forEach((error, index) => {
    if (error) out[index] = { ok: false, error };
  });
  return out;
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
