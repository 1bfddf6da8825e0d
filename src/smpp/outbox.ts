// Batches PDU writes: everything written in one turn of the event loop leaves in one socket.write
// (one syscall), instead of one syscall per PDU. See session.bench notes in README.md for numbers.

import type { Socket } from 'node:net';

/** Flush at once past this many octets, so a tight loop of writes does not build one huge buffer. */
const FLUSH_AT = 64 * 1024;

export class Outbox {
  /** False between a socket.write that returned false and the socket's 'drain'. */
  writable = true;
  private parts: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly flushLater = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly socket: Socket) {}

  /** Octets accepted here or by the socket and not yet handed to the kernel. */
  get pendingBytes(): number {
    return this.bytes + this.socket.writableLength;
  }

  write(buf: Buffer): void {
    this.parts.push(buf);
    this.bytes += buf.length;
    if (this.bytes >= FLUSH_AT) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      // setImmediate, not nextTick: responses from async handlers resolve in later microtasks of
      // the same I/O turn, and setImmediate still catches them in the same batch.
      setImmediate(this.flushLater);
    }
  }

  flush(): void {
    if (this.bytes === 0) return;
    const data = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    if (this.socket.destroyed || !this.socket.writable) return;
    if (!this.socket.write(data)) this.writable = false;
  }

  /** Call on the socket's 'drain'. */
  drained(): void {
    this.writable = true;
  }
}
