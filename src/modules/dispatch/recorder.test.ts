// The recorder against fake statements: a row the database refuses, a database that is away, a
// backlog that must hold connectors back, and a shutdown that must not wait for ever.
import type pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { FailedResult, RetryResult, SentResult } from './dispatch.sql.ts';
import { createRecorder, type LentReceipts, type RecorderWriters } from './recorder.ts';

const logger = pino({ level: 'silent' });
const pool = {} as pg.Pool;

const sentRow = (id: number): SentResult => ({
  id,
  channelId: 1,
  sourceAddr: '106900',
  carrierIds: [String(1000 + id)],
  duplicateRisk: false,
});
const retryRow = (id: number): RetryResult => ({
  id,
  delayMs: 1000,
  errorCode: 'smpp.no_response',
  errorDetail: 'timeout',
  duplicateRisk: true,
  notAttempted: false,
});

/** Statements that remember what they wrote; `refuse` decides, per call, what error to throw. */
function fakeWriters(refuse: (kind: string, ids: number[]) => Error | null = () => null) {
  const written = { sent: [] as number[], retry: [] as number[], fail: [] as number[] };
  const unrecorded: { id: number; status: string; detail: string }[] = [];
  let calls = 0;
  const run = (kind: 'sent' | 'retry' | 'fail', rows: { id: number }[]) => {
    calls++;
    const ids = rows.map((r) => r.id);
    const error = refuse(kind, ids);
    if (error) return Promise.reject(error);
    written[kind].push(...ids);
    return Promise.resolve(rows.length);
  };
  const writers: RecorderWriters = {
    // The receipts lent with the rows are written with them.
    recordSent: async (rows: SentResult[]) => {
      await run('sent', rows);
      return rows.filter((r) => r.receipt !== undefined).map((r) => r.id);
    },
    requeue: (rows: RetryResult[]) => run('retry', rows),
    fail: (rows: FailedResult[]) => run('fail', rows),
    endUnrecorded: async (row) => {
      unrecorded.push(row);
    },
  };
  return {
    writers,
    written,
    unrecorded,
    get calls() {
      return calls;
    },
  };
}

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('the recorder', () => {
  it('isolates a row the database refuses and writes every other row of its batch', async () => {
    const fake = fakeWriters((kind, ids) =>
      kind === 'sent' && ids.includes(13)
        ? pgError('21000', 'ON CONFLICT DO UPDATE command cannot affect row a second time')
        : null,
    );
    const recorded: number[] = [];
    const recorder = createRecorder({
      pool,
      nodeId: 'n',
      logger,
      writers: fake.writers,
      onRecorded: (rows) => recorded.push(...rows.map((r) => r.id)),
    });
    for (let id = 1; id <= 100; id++) recorder.sent(sentRow(id));
    recorder.retry(retryRow(200));
    expect(await recorder.drain(5000)).toBe(true);
    const others = Array.from({ length: 100 }, (_, i) => i + 1).filter((id) => id !== 13);
    expect(fake.written.sent.sort((a, b) => a - b)).toEqual(others);
    expect(recorded.sort((a, b) => a - b)).toEqual(others);
    expect(fake.written.retry).toEqual([200]);
    // The bad row's message is ended on its own: the carrier has it, so `unknown`, not resent.
    expect(fake.unrecorded).toEqual([
      { id: 13, status: 'unknown', detail: expect.stringContaining('cannot affect row a second time') },
    ]);
    // And the recorder is not jammed: what comes next is written.
    recorder.sent(sentRow(101));
    expect(await recorder.drain(5000)).toBe(true);
    expect(fake.written.sent).toContain(101);
  });

  it('ends a requeue the database refuses as failed, keeping the rest of the batch', async () => {
    const fake = fakeWriters((kind, ids) =>
      kind === 'retry' && ids.includes(7)
        ? pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00')
        : null,
    );
    const recorder = createRecorder({ pool, nodeId: 'n', logger, writers: fake.writers });
    for (let id = 1; id <= 10; id++) recorder.retry(retryRow(id));
    expect(await recorder.drain(5000)).toBe(true);
    expect(fake.written.retry.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 8, 9, 10]);
    expect(fake.unrecorded.map((u) => [u.id, u.status])).toEqual([[7, 'failed']]);
    expect(fake.unrecorded[0]!.detail).not.toContain('\u0000');
  });

  it('retries a batch whole while the database is away, ending no message for it', async () => {
    let outage = 3;
    const fake = fakeWriters(() => (outage-- > 0 ? pgError('57P01', 'terminating connection') : null));
    const recorder = createRecorder({ pool, nodeId: 'n', logger, writers: fake.writers, retryBaseMs: 1 });
    for (let id = 1; id <= 20; id++) recorder.sent(sentRow(id));
    expect(await recorder.drain(5000)).toBe(true);
    expect(fake.written.sent).toHaveLength(20);
    expect(fake.unrecorded).toEqual([]);
  });

  it('is backlogged while more outcomes wait than connectors should add to', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const fake = fakeWriters();
    const writers: RecorderWriters = {
      ...fake.writers,
      recordSent: async (rows, at, slot) => {
        await gate;
        return fake.writers.recordSent(rows, at, slot);
      },
    };
    const recorder = createRecorder({ pool, nodeId: 'n', logger, writers, maxBacklog: 50, maxBatch: 10 });
    for (let id = 1; id <= 49; id++) recorder.sent(sentRow(id));
    expect(recorder.backlogged).toBe(false);
    recorder.sent(sentRow(50));
    expect(recorder.backlogged).toBe(true);
    open();
    expect(await recorder.drain(5000)).toBe(true);
    expect(recorder.backlogged).toBe(false);
    expect(fake.written.sent).toHaveLength(50);
  });

  it('gives up at the drain deadline and stops retrying, leaving the rest to crash recovery', async () => {
    const fake = fakeWriters(() => pgError('08006', 'connection failure'));
    const recorder = createRecorder({ pool, nodeId: 'n', logger, writers: fake.writers, retryBaseMs: 1 });
    recorder.sent(sentRow(1));
    expect(await recorder.drain(100)).toBe(false);
    // Let a retry already waiting run out; after that no statement runs any more.
    await new Promise((r) => setTimeout(r, 50));
    const calls = fake.calls;
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.calls).toBe(calls);
    expect(fake.unrecorded).toEqual([]);
  });

  it('writes lent receipts with their results and settles each once: written, or given back', async () => {
    const fake = fakeWriters((kind, ids) =>
      kind === 'sent' && ids.includes(3) ? pgError('22P05', 'unsupported Unicode escape sequence') : null,
    );
    const seen: SentResult[] = [];
    const settled: number[][] = [];
    const outcome = { state: 'delivered' as const, errorCode: null, doneAt: new Date() };
    const recorder = createRecorder({
      pool,
      nodeId: 'n',
      logger,
      writers: {
        ...fake.writers,
        recordSent: (rows, at, slot) => {
          seen.push(...rows);
          expect(slot).toBe(5);
          return fake.writers.recordSent(rows, at, slot);
        },
      },
      lendReceipts: (rows): LentReceipts => ({
        // Receipts wait for 2 and 3 (3's row the database refuses), not for 1.
        outcomes: new Map(rows.filter((r) => r.id !== 1).map((r) => [r.id, outcome])),
        slot: 5,
        settle: (written) => settled.push([...written].sort((a, b) => a - b)),
      }),
    });
    for (const id of [1, 2, 3]) recorder.sent(sentRow(id));
    expect(await recorder.drain(5000)).toBe(true);
    expect(seen.find((r) => r.id === 1)?.receipt).toBeUndefined();
    expect(seen.find((r) => r.id === 2)?.receipt).toEqual(outcome);
    expect(fake.written.sent.sort((a, b) => a - b)).toEqual([1, 2]);
    expect(fake.unrecorded.map((u) => u.id)).toEqual([3]);
    // One settle for the batch: 2's receipt was written; 3's goes back to the ingest.
    expect(settled).toEqual([[2]]);
  });
});
