// The simulator's pending receipts and replies on disk (`hongyan simulator --state-dir`, and the
// embedded simulator under `<data>/simulator`), so that a carrier killed with kill -9 still sends,
// after its restart, every receipt it owed: a message whose submit_sm_resp a client got must not
// wait 72 hours for `unknown` because the carrier lost its receipt.
//
// One append-only file (journal.models.ts has the lines). What it costs on the 10 000 msg/s path
// (measured, 2 cores: ~7-9 µs of CPU per message for its line, its write and its acknowledgement,
// against ~170-210 µs per message for the whole of `hongyan start`; a 20 000-message run of the
// default install showed no difference beyond the noise of this machine):
// - An owed delivery is written (write(2), no fsync) before the submit_sm_resp can leave: once the
//   kernel has the line, a killed process loses nothing. The session's outbox may put the response
//   on the wire within the same turn (it flushes at once past 64 KB), so gathering these lines
//   until later in the turn would open a window; one write per accepted submit costs ~2.4 µs, and
//   a write failing (a full disk) fails that submit instead of losing its receipt.
// - Acknowledgements are buffered and written every `flushIntervalMs`: one lost in a crash only
//   makes the receipt go out again after the restart, which a client must accept anyway.
// - fdatasync runs off the event loop every `flushIntervalMs` when something was written, for a
//   power loss; kill -9 needs none.
// - The file is rewritten with only what is owed when it holds four times more lines than that
//   (journal.models.ts shouldCompact), into a temporary file renamed over it.

import {
  closeSync,
  fdatasync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { SmppLogger } from '../../smpp/session-types.ts';
import type { PendingDelivery } from './deliveries.ts';
import {
  addedLine,
  doneLine,
  JournalReplay,
  reservedLine,
  shouldCompact,
  versionLine,
} from './journal.models.ts';

export const JOURNAL_FILE = 'deliveries.log';

export interface JournalOptions {
  dir: string;
  log: SmppLogger;
  /** Buffered acknowledgements are written, and the file fdatasync'ed, this often. Default 200 ms. */
  flushIntervalMs?: number;
  /** No compaction below this many lines. Default 200 000. */
  compactMinRecords?: number;
}

/** Where the store-and-forward router reports what it owes and what was acknowledged. */
export interface DeliveryJournal {
  /** An item is owed to a client: gives it its seq and writes it before returning. */
  added(item: PendingDelivery): void;
  /** The client acknowledged the item (or it was dropped). */
  done(item: PendingDelivery): void;
}

export class FileJournal implements DeliveryJournal {
  /** Owed deliveries, by seq: what a compaction writes. */
  private readonly live: Map<number, PendingDelivery>;
  private readonly file: string;
  private fd: number;
  private nextSeq: number;
  private records: number;
  private reserved: number;
  private pending: string[] = [];
  private dirty = false;
  private syncing = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly compactMinRecords: number;
  private readonly counters = { compactions: 0, writes: 0 };
  /** What the file held at open, to be delivered again; handed over once. */
  private restored: PendingDelivery[];

  constructor(private readonly options: JournalOptions) {
    mkdirSync(options.dir, { recursive: true });
    this.file = path.join(options.dir, JOURNAL_FILE);
    this.compactMinRecords = options.compactMinRecords ?? 200_000;
    const replayed = readJournal(this.file);
    if (replayed.badLines > 0 || replayed.truncatedTail) {
      options.log.warn(
        { file: this.file, badLines: replayed.badLines, truncatedTail: replayed.truncatedTail },
        'simulator state: skipped lines that a crash cut short',
      );
    }
    this.live = replayed.items;
    this.restored = [...replayed.items.values()];
    this.reserved = replayed.reservedUpTo;
    let maxSeq = 0;
    for (const seq of this.live.keys()) if (seq > maxSeq) maxSeq = seq;
    this.nextSeq = maxSeq + 1;
    // Start from a clean file: only what is owed, and no partial line for the next append to join.
    this.fd = -1;
    this.records = 0;
    this.compact();
    this.timer = setInterval(() => {
      try {
        this.flush();
      } catch (error) {
        // A full disk must not take the process down from a timer: the next flush tries again,
        // and an owed receipt that cannot be written fails its submit instead (added() throws).
        options.log.error({ err: error, file: this.file }, 'simulator state: cannot write');
      }
    }, options.flushIntervalMs ?? 200);
    this.timer.unref();
  }

  /** What the previous run owed (still unacknowledged at open); the second call gets nothing. */
  takeRestored(): PendingDelivery[] {
    const items = this.restored;
    this.restored = [];
    return items;
  }

  /** Sequential ids given out so far may reach this number (0: none). */
  get reservedUpTo(): number {
    return this.reserved;
  }

  /** Records that sequential ids up to `upTo` may be given out; written before returning. */
  reserve(upTo: number): void {
    if (upTo <= this.reserved) return;
    this.write(reservedLine(upTo));
    this.reserved = upTo;
  }

  added(item: PendingDelivery): void {
    if (this.closed) return;
    item.seq = this.nextSeq++;
    // Written first: an item whose line could not be written fails its submit, and is not owed.
    this.write(addedLine(item));
    this.live.set(item.seq, item);
  }

  done(item: PendingDelivery): void {
    if (this.closed || !this.live.delete(item.seq)) return;
    this.pending.push(doneLine(item.seq));
    this.records++;
    if (this.pending.length >= 4096) this.writePending();
  }

  stats(): { live: number; records: number; compactions: number } {
    return { live: this.live.size, records: this.records, compactions: this.counters.compactions };
  }

  /** Writes buffered acknowledgements, then fdatasyncs off the event loop; compacts when due. */
  flush(): void {
    if (this.closed) return;
    this.writePending();
    if (
      !this.syncing &&
      shouldCompact({ records: this.records, live: this.live.size, minRecords: this.compactMinRecords })
    ) {
      this.compact();
      return;
    }
    if (!this.dirty || this.syncing) return;
    this.dirty = false;
    this.syncing = true;
    const fd = this.fd;
    fdatasync(fd, (error) => {
      this.syncing = false;
      if (error && !this.closed) this.options.log.warn({ err: error }, 'simulator state: fdatasync failed');
      // A compaction or close that came during the sync left the old descriptor to us.
      if (fd !== this.fd) closeSync(fd);
    });
  }

  /**
   * Writes what is buffered, syncs, and closes; what is still owed stays for the next start. A
   * file that holds nothing (nothing owed, no sequential ids to go on from) is removed, with its
   * folder when that is empty: a clean stop leaves nothing behind.
   */
  close(): void {
    if (this.closed) return;
    this.writePending();
    clearInterval(this.timer);
    this.closed = true;
    const fd = this.fd;
    this.fd = -1;
    try {
      fsyncSync(fd);
    } finally {
      if (!this.syncing) closeSync(fd);
    }
    if (this.live.size === 0 && this.reserved === 0) {
      rmSync(this.file, { force: true });
      try {
        rmdirSync(this.options.dir);
      } catch {
        // not empty (another file was put there), or already gone
      }
    }
  }

  private writePending(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.writeRaw(text);
  }

  private write(line: string): void {
    this.records++;
    this.writeRaw(line);
  }

  private writeRaw(text: string): void {
    writeSync(this.fd, text);
    this.dirty = true;
  }

  /** Rewrites the file with only what is owed, in a new file renamed over the old one. */
  private compact(): void {
    this.pending = [];
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      let chunk = versionLine() + (this.reserved > 0 ? reservedLine(this.reserved) : '');
      for (const item of this.live.values()) {
        chunk += addedLine(item);
        if (chunk.length >= 1 << 20) {
          writeSync(fd, chunk);
          chunk = '';
        }
      }
      if (chunk !== '') writeSync(fd, chunk);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    syncDirectory(this.options.dir);
    const old = this.fd;
    this.fd = openSync(this.file, 'a');
    // An fdatasync in flight on the old descriptor closes it when it returns.
    if (old >= 0 && !this.syncing) closeSync(old);
    this.records = this.live.size + 1 + (this.reserved > 0 ? 1 : 0);
    this.dirty = false;
    this.counters.compactions++;
  }
}

/** Replays the file in chunks of whole lines; a missing file owes nothing. */
function readJournal(file: string): {
  items: Map<number, PendingDelivery>;
  reservedUpTo: number;
  badLines: number;
  truncatedTail: boolean;
} {
  const replay = new JournalReplay();
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { items: replay.items, reservedUpTo: 0, badLines: 0, truncatedTail: false };
    }
    throw error;
  }
  const chunk = Buffer.alloc(4 << 20);
  let carry = Buffer.alloc(0);
  try {
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      const data =
        carry.length === 0 ? chunk.subarray(0, read) : Buffer.concat([carry, chunk.subarray(0, read)]);
      const end = data.lastIndexOf(0x0a);
      if (end < 0) {
        carry = Buffer.from(data);
        continue;
      }
      for (const line of data.toString('utf8', 0, end).split('\n')) replay.line(line);
      carry = Buffer.from(data.subarray(end + 1));
    }
  } finally {
    closeSync(fd);
  }
  return {
    items: replay.items,
    reservedUpTo: replay.reservedUpTo,
    badLines: replay.badLines,
    truncatedTail: carry.length > 0,
  };
}

/** Makes a rename durable (where the platform allows opening a folder). */
function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a folder; the rename is then as durable as they make it.
  } finally {
    closeSync(fd);
  }
}
