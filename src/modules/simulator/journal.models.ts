// The simulator's state file, as pure functions: how a pending receipt or reply, its
// acknowledgement and a reservation of sequential ids are written as lines, and how the lines of a
// file are replayed into the set of deliveries still owed. The file I/O is in journal.ts.
//
// One JSON array per line, so that a line cut short by a crash is recognised (it does not parse,
// or it lacks its newline) and skipped instead of misread:
//   ["V",1]                                  format version, first line of a compacted file
//   ["A",seq,"r"|"m",systemId,messageId,handset,handsetTon,handsetNpi,sender,senderTon,senderNpi,
//        submittedAt,doneAt,fate,text]         a receipt ("r") or reply ("m") owed to a client
//   ["D",seq]                                the client acknowledged it (or it was dropped)
//   ["N",upTo]                               sequential ids up to upTo may have been given out

import type { Fate } from './decisions.models.ts';
import { DELIVERED, fateCode, fateOfCode } from './decisions.models.ts';
import type { PendingDelivery } from './deliveries.ts';

export const JOURNAL_VERSION = 1;

export function versionLine(): string {
  return `["V",${JOURNAL_VERSION}]\n`;
}

/** A JSON string literal; the common case (nothing to escape) without JSON.stringify. */
function str(value: string): string {
  return SAFE.test(value) ? `"${value}"` : JSON.stringify(value);
}
const SAFE = /^[^"\\\u0000-\u001f\u2028\u2029]*$/;

/**
 * The line of an owed item. Built by hand: JSON.stringify of the array measured ~4 µs, a tenth of
 * the simulator's whole budget per message at 10 000 msg/s; this is valid JSON all the same.
 */
export function addedLine(item: PendingDelivery): string {
  return (
    '["A",' +
    item.seq +
    (item.kind === 'receipt' ? ',"r",' : ',"m",') +
    str(item.systemId) +
    ',' +
    str(item.messageId) +
    ',' +
    str(item.handset) +
    ',' +
    item.handsetTon +
    ',' +
    item.handsetNpi +
    ',' +
    str(item.sender) +
    ',' +
    item.senderTon +
    ',' +
    item.senderNpi +
    ',' +
    Math.round(item.submittedAt) +
    ',' +
    Math.round(item.doneAt) +
    ',"' +
    fateCode(item.fate) +
    '",' +
    str(item.text) +
    ']\n'
  );
}

export function doneLine(seq: number): string {
  return '["D",' + seq + ']\n';
}

export function reservedLine(upTo: number): string {
  return '["N",' + upTo + ']\n';
}

export interface ReplayedJournal {
  /** Deliveries added and never acknowledged, by seq, in the order they were added. */
  items: Map<number, PendingDelivery>;
  /** The highest sequential id that may have been given out; 0 when none was. */
  reservedUpTo: number;
  /** Lines read, including the ones that did not parse. */
  lines: number;
  /** Whole lines (ending in a newline) that did not parse, or named an unknown record. */
  badLines: number;
  /** Length of the file up to the end of its last whole line: what a crash left intact. */
  intactBytes: number;
  /** The file ended in a partial line (a write cut short by the crash). */
  truncatedTail: boolean;
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

function parseAdded(r: unknown[]): PendingDelivery | undefined {
  const [, seq, kind, systemId, messageId, handset, hTon, hNpi, sender, sTon, sNpi, at, doneAt, fate, text] =
    r;
  if (r.length !== 15 || !isInt(seq) || (kind !== 'r' && kind !== 'm')) return undefined;
  if (!isStr(systemId) || !isStr(messageId) || !isStr(handset) || !isStr(sender) || !isStr(text)) {
    return undefined;
  }
  if (!isInt(hTon) || !isInt(hNpi) || !isInt(sTon) || !isInt(sNpi) || !isInt(at) || !isInt(doneAt)) {
    return undefined;
  }
  const known: Fate | undefined = isStr(fate) ? fateOfCode(fate) : undefined;
  if (known === undefined) return undefined;
  return {
    kind: kind === 'r' ? 'receipt' : 'reply',
    seq,
    systemId,
    messageId,
    handset,
    handsetTon: hTon,
    handsetNpi: hNpi,
    sender,
    senderTon: sTon,
    senderNpi: sNpi,
    submittedAt: at,
    doneAt,
    fate: kind === 'm' ? DELIVERED : known,
    text,
    attempts: 0,
  };
}

/**
 * Replays a state file's whole lines one at a time, so that a large file is read in chunks rather
 * than as one string (V8 strings stop near 512 MB).
 */
export class JournalReplay {
  readonly items = new Map<number, PendingDelivery>();
  reservedUpTo = 0;
  lines = 0;
  badLines = 0;

  /** One whole line, without its newline. */
  line(line: string): void {
    this.lines++;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      this.badLines++;
      return;
    }
    if (!Array.isArray(record)) {
      this.badLines++;
      return;
    }
    const tag = record[0];
    if (tag === 'A') {
      const item = parseAdded(record);
      if (item === undefined) this.badLines++;
      else this.items.set(item.seq, item);
    } else if (tag === 'D' && isInt(record[1])) {
      this.items.delete(record[1]);
    } else if (tag === 'N' && isInt(record[1])) {
      this.reservedUpTo = Math.max(this.reservedUpTo, record[1]);
    } else if (tag !== 'V') {
      this.badLines++;
    }
  }
}

/** Replays a state file's text (as read from disk) into what is still owed. */
export function replayJournal(text: string): ReplayedJournal {
  const replay = new JournalReplay();
  const lastNewline = text.lastIndexOf('\n');
  const intact = lastNewline < 0 ? '' : text.slice(0, lastNewline);
  const truncatedTail = lastNewline < text.length - 1;
  if (intact !== '') for (const line of intact.split('\n')) replay.line(line);
  return {
    items: replay.items,
    reservedUpTo: replay.reservedUpTo,
    lines: replay.lines + (truncatedTail ? 1 : 0),
    badLines: replay.badLines,
    intactBytes: Buffer.byteLength(intact) + (lastNewline < 0 ? 0 : 1),
    truncatedTail,
  };
}

/**
 * Compact when the file holds at least `minRecords` lines and four times as many lines as owed
 * deliveries: each rewrite then costs at most a quarter of the writes that made it necessary.
 */
export function shouldCompact({
  records,
  live,
  minRecords,
}: {
  records: number;
  live: number;
  minRecords: number;
}): boolean {
  return records >= minRecords && records >= 4 * live;
}
