// Test helpers for session tests: a scripted raw SMPP peer (framer + codec over a bare socket, no
// session logic) and small waiting utilities. Used only by *.test.ts files.

import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { PduFramer } from './framer.ts';
import type { DecodeResult, Pdu } from './pdu.ts';
import { decodePdu, encodePdu } from './pdu.ts';

/** A peer that records what it receives and sends exactly what the test tells it to. */
export class RawPeer {
  readonly received: DecodeResult[] = [];
  private readonly framer = new PduFramer();
  private waiters: (() => void)[] = [];
  ended = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.framer.push(chunk).frames) this.received.push(decodePdu(frame));
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  send(pdu: Pdu): void {
    this.socket.write(encodePdu(pdu));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The received PDUs that decoded, in order. */
  get pdus(): Pdu[] {
    return this.received.flatMap((r) => (r.ok ? [r.pdu] : []));
  }

  /** Resolves with the first received PDU matching `match`, waiting for it if needed. */
  async next(match: (pdu: Pdu) => boolean, timeoutMs = 1000): Promise<Pdu> {
    await this.until(() => this.pdus.some(match), timeoutMs);
    return this.pdus.find(match)!;
  }

  async closed(timeoutMs = 1000): Promise<void> {
    await this.until(() => this.ended, timeoutMs);
  }

  private async until(condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('RawPeer: timed out waiting');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** A TCP server on 127.0.0.1 whose connections are RawPeers. */
export async function rawServer(
  onPeer: (peer: RawPeer) => void,
): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    onPeer(new RawPeer(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** A RawPeer connected to a server on 127.0.0.1. */
export async function rawClient(port: number): Promise<RawPeer> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return new RawPeer(socket);
}

export async function waitFor(condition: () => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('waitFor: timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
