// Batches PDU writes: everything written in one turn of the event loop leaves in one socket.write
// (one syscall), instead of one syscall per PDU.
// Measured (2 cores, client and server in one process, window 1000, 140-octet submit_sm, sync
// handler): one write per PDU made 42,500 write(2) calls for 20,000 submit_sm+resp round trips and
// ran 35-43k round trips/s; this batching made ~600 calls and ran 68-81k/s. cork()+uncork() on
// setImmediate and concat flushed on nextTick measured the same within noise.

import type { Socket } from 'node:net';

/** Flush at once past this many octets, so a tight loop of writes does not build one huge buffer. */
const FLUSH_AT = 64 * 1024;

export class Outbox {
  /** False between a socket.write that returned false and the socket's 'drain'. */
  writable = true;
  private parts: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;
  private soon = false;
  private readonly flushLater = () => {
    this.scheduled = false;
    this.flush();
  };
  private readonly flushSoon = () => {
    this.soon = false;
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

  /**
   * As write, but the buffer leaves at the end of this microtask drain, before any timer or I/O
   * callback runs: for our own requests, each written because its sender decided just now that it
   * may be sent (a connector, that its node's claim still stands: dispatch/nodes.ts). Left for the
   * end of the turn, a request waits behind every other callback of the turn; a long one, or a
   * loop blocked there past the node's fence, would send it when the node's peers may already have
   * taken the node for dead and sent the message themselves. Requests written in one drain (a
   * connector's pump, the continuations of one read's responses) still leave in one socket.write
   * (40,000 round trips at a window of 1,000: 160 writes, as before).
   */
  writeSoon(buf: Buffer): void {
    this.parts.push(buf);
    this.bytes += buf.length;
    if (this.bytes >= FLUSH_AT) {
      this.flush();
    } else if (!this.soon) {
      // No end-of-turn flush besides: this one comes first, and takes what the turn wrote so far.
      this.soon = true;
      queueMicrotask(this.flushSoon);
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
