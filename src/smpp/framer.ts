// Cuts a TCP byte stream into whole PDUs by command_length.
// Chunks are kept in a list, not concatenated on arrival: a PDU inside one chunk is returned as a
// zero-copy view, and one spread over several chunks is copied once into a buffer of its exact
// size. So a stream fed one byte at a time costs O(n), where `Buffer.concat(rest, chunk)` on every
// chunk would cost O(n²).

import { HEADER_LENGTH } from './constants.ts';

export const DEFAULT_MAX_PDU_LENGTH = 65536;

/** A command_length that cannot be framed: the stream has lost sync and must be closed. */
export interface FramingError {
  commandLength: number;
  /** Present when the header's first 8 / 16 octets had arrived, to address the generic_nack. */
  commandId?: number;
  sequenceNumber?: number;
  message: string;
}

export interface FramerOutput {
  /** Whole PDUs in arrival order, each exactly command_length octets. */
  frames: Buffer[];
  /** Set once framing failed; every later push returns it again and no frames. */
  error: FramingError | null;
}

export class PduFramer {
  readonly maxPduLength: number;
  private chunks: Buffer[] = [];
  private head = 0;
  private offset = 0;
  private buffered = 0;
  private error: FramingError | null = null;

  constructor(options: { maxPduLength?: number } = {}) {
    this.maxPduLength = options.maxPduLength ?? DEFAULT_MAX_PDU_LENGTH;
  }

  /** Octets received and not yet returned as a frame. */
  get bufferedLength(): number {
    return this.buffered;
  }

  push(chunk: Buffer): FramerOutput {
    const frames: Buffer[] = [];
    if (this.error !== null) return { frames, error: this.error };
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    while (this.buffered >= 4) {
      const length = this.peekUInt32(0);
      if (length < HEADER_LENGTH || length > this.maxPduLength) {
        this.error = {
          commandLength: length,
          ...(this.buffered >= 8 ? { commandId: this.peekUInt32(4) } : {}),
          ...(this.buffered >= HEADER_LENGTH ? { sequenceNumber: this.peekUInt32(12) } : {}),
          message: `command_length ${length} outside ${HEADER_LENGTH}..${this.maxPduLength}`,
        };
        this.chunks = [];
        this.head = 0;
        this.offset = 0;
        this.buffered = 0;
        return { frames, error: this.error };
      }
      if (this.buffered < length) break;
      frames.push(this.take(length));
    }
    return { frames, error: null };
  }

  private peekUInt32(at: number): number {
    const first = this.chunks[this.head]!;
    const start = this.offset + at;
    if (start + 4 <= first.length) return first.readUInt32BE(start);
    let value = 0;
    for (let i = 0; i < 4; i++) value = value * 256 + this.peekByte(at + i);
    return value;
  }

  private peekByte(at: number): number {
    let index = this.head;
    let pos = this.offset + at;
    for (;;) {
      const chunk = this.chunks[index]!;
      if (pos < chunk.length) return chunk[pos]!;
      pos -= chunk.length;
      index++;
    }
  }

  private take(length: number): Buffer {
    const first = this.chunks[this.head]!;
    let frame: Buffer;
    if (first.length - this.offset >= length) {
      frame = first.subarray(this.offset, this.offset + length);
      this.offset += length;
      if (this.offset === first.length) this.dropHead();
    } else {
      frame = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const chunk = this.chunks[this.head]!;
        const n = Math.min(chunk.length - this.offset, length - filled);
        chunk.copy(frame, filled, this.offset, this.offset + n);
        filled += n;
        this.offset += n;
        if (this.offset === chunk.length) this.dropHead();
      }
    }
    this.buffered -= length;
    return frame;
  }

  private dropHead(): void {
    this.head++;
    this.offset = 0;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 1024) {
      // Compact now and then so that a stream of tiny chunks does not grow the array for ever.
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
