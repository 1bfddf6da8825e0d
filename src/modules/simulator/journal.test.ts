// The simulator's state file: each owed receipt on disk when added() returns, acknowledgements
// buffered, a line cut short by a crash skipped, compaction, and reload after a restart.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DELIVERED, EXPIRED, fateFor } from './decisions.models.ts';
import type { PendingDelivery } from './deliveries.ts';
import { FileJournal, JOURNAL_FILE } from './journal.ts';
import { addedLine, doneLine, replayJournal, reservedLine, versionLine } from './journal.models.ts';
import { silentLogger } from './test-helpers.ts';

const dirs: string[] = [];
const journals: FileJournal[] = [];
afterEach(() => {
  for (const j of journals.splice(0)) j.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hy-sim-state-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string, compactMinRecords = 1_000_000): FileJournal {
  // A long flush interval: the tests decide when acknowledgements are written.
  const journal = new FileJournal({ dir, log: silentLogger, flushIntervalMs: 3_600_000, compactMinRecords });
  journals.push(journal);
  return journal;
}

function receipt(messageId: string, fields: Partial<PendingDelivery> = {}): PendingDelivery {
  return {
    kind: 'receipt',
    seq: 0,
    systemId: 'hongyan',
    messageId,
    handset: '8613800138000',
    handsetTon: 1,
    handsetNpi: 1,
    sender: '106900',
    senderTon: 0,
    senderNpi: 0,
    submittedAt: 1_764_480_000_000,
    doneAt: 1_764_480_000_080,
    fate: DELIVERED,
    text: 'hello\tworld "quoted"\n',
    attempts: 0,
    ...fields,
  };
}

const fileOf = (dir: string) => path.join(dir, JOURNAL_FILE);
const idsOf = (items: PendingDelivery[]) => items.map((i) => i.messageId);
/** What a restart would read now, without opening (and so compacting) the file. */
const owedOnDisk = (dir: string) =>
  idsOf([...replayJournal(readFileSync(fileOf(dir), 'utf8')).items.values()]);

describe('FileJournal', () => {
  it('has each owed item on disk when added() returns, and a restart gets back exactly those', () => {
    const dir = tempDir();
    const a = open(dir);
    const undelivered = fateFor(
      { deliveryRate: 0, expiredRate: 0, undeliveredSuffixes: ['0'] },
      '10',
      Math.random,
    );
    const items = [
      receipt('1001'),
      receipt('1002', { fate: EXPIRED }),
      receipt('1003', { fate: undelivered }),
      { ...receipt(''), kind: 'reply' as const, text: '退订' },
    ];
    for (const item of items) a.added(item);
    expect(items.map((i) => i.seq)).toEqual([1, 2, 3, 4]);
    // No close, no flush: what a kill -9 at this instant leaves.
    const b = open(dir);
    const restored = b.takeRestored();
    expect(restored).toEqual(items.map((i) => ({ ...i, attempts: 0 })));
    expect(b.takeRestored()).toEqual([]);
  });

  it('forgets what was acknowledged once the acknowledgements are written', () => {
    const dir = tempDir();
    const a = open(dir);
    const items = ['1', '2', '3'].map((id) => receipt(id));
    for (const item of items) a.added(item);
    a.done(items[1]!);
    // Acknowledgements wait for the next flush: a crash before it only sends the receipt again.
    expect(owedOnDisk(dir)).toEqual(['1', '2', '3']);
    a.flush();
    expect(owedOnDisk(dir)).toEqual(['1', '3']);
    a.done(items[0]!);
    a.close();
    expect(idsOf(open(dir).takeRestored())).toEqual(['3']);
  });

  it('skips a last line cut short by a crash, and appends after it as whole lines', () => {
    const dir = tempDir();
    const one = receipt('1', { seq: 1 });
    const two = receipt('2', { seq: 2 });
    writeFileSync(fileOf(dir), versionLine() + addedLine(one) + addedLine(two).slice(0, 40));
    const a = open(dir);
    expect(idsOf(a.takeRestored())).toEqual(['1']);
    const three = receipt('3');
    a.added(three);
    expect(three.seq).toBe(2);
    const b = open(dir);
    expect(idsOf(b.takeRestored())).toEqual(['1', '3']);
    expect(readFileSync(fileOf(dir), 'utf8').endsWith('\n')).toBe(true);
  });

  it('compacts to what is owed once the file holds four times as many lines', () => {
    const dir = tempDir();
    const a = open(dir, 40);
    const items = Array.from({ length: 30 }, (_, i) => receipt(String(1001 + i)));
    for (const item of items) a.added(item);
    for (const item of items.slice(0, 28)) a.done(item);
    a.reserve(11_000);
    expect(a.stats().records).toBeGreaterThanOrEqual(40);
    const compactionsBefore = a.stats().compactions;
    a.flush();
    expect(a.stats().compactions).toBe(compactionsBefore + 1);
    const lines = readFileSync(fileOf(dir), 'utf8').trimEnd().split('\n');
    expect(lines).toEqual(
      [versionLine(), reservedLine(11_000), addedLine(items[28]!), addedLine(items[29]!)].map((l) =>
        l.trimEnd(),
      ),
    );
    // Still appendable after the rename, and seqs stay unique.
    const next = receipt('2000');
    a.added(next);
    expect(next.seq).toBe(31);
    const b = open(dir);
    expect(idsOf(b.takeRestored())).toEqual(['1029', '1030', '2000']);
    expect(b.reservedUpTo).toBe(11_000);
  });

  it('leaves nothing behind after a clean close that owes nothing, unless sequential ids must go on', () => {
    const root = tempDir();
    const dir = path.join(root, 'simulator');
    const a = open(dir);
    const item = receipt('1');
    a.added(item);
    a.done(item);
    a.close();
    expect(existsSync(dir)).toBe(false);
    const b = open(dir);
    b.reserve(11_000);
    b.close();
    expect(open(dir).reservedUpTo).toBe(11_000);
  });

  it('reads back a file larger than its read chunk, lines split across chunks included', () => {
    const dir = tempDir();
    const a = open(dir);
    // ~190 bytes a line: 30 000 lines make ~5.7 MB, more than the 4 MB read chunk.
    const text = 'x'.repeat(60);
    for (let i = 0; i < 30_000; i++) a.added(receipt(String(1_000_000 + i), { text }));
    const restored = open(dir).takeRestored();
    expect(restored).toHaveLength(30_000);
    expect(restored.every((r, i) => r.messageId === String(1_000_000 + i) && r.text === text)).toBe(true);
  });

  it('keeps the highest reservation of sequential ids across restarts', () => {
    const dir = tempDir();
    const a = open(dir);
    expect(a.reservedUpTo).toBe(0);
    a.reserve(11_000);
    a.reserve(21_000);
    a.reserve(5_000);
    expect(open(dir).reservedUpTo).toBe(21_000);
  });
});

describe('replayJournal', () => {
  it('counts lines that do not parse, and ignores acknowledgements of unknown items', () => {
    const text =
      versionLine() +
      addedLine(receipt('1', { seq: 1 })) +
      '{"not":"a record"}\n' +
      'garbage\n' +
      '["A",2,"r"]\n' +
      doneLine(7) +
      '["Z",1]\n' +
      reservedLine(3000);
    const r = replayJournal(text);
    expect([...r.items.keys()]).toEqual([1]);
    expect(r).toMatchObject({ reservedUpTo: 3000, badLines: 4, truncatedTail: false, lines: 8 });
    expect(r.intactBytes).toBe(Buffer.byteLength(text));
  });

  it('reports a partial last line and where the intact part ends', () => {
    const whole = versionLine() + addedLine(receipt('1', { seq: 1 }));
    const r = replayJournal(`${whole}["A",2,"r","hon`);
    expect(r.truncatedTail).toBe(true);
    expect(r.intactBytes).toBe(Buffer.byteLength(whole));
    expect(r.items.size).toBe(1);
    expect(replayJournal('')).toMatchObject({ lines: 0, truncatedTail: false, intactBytes: 0 });
  });
});
