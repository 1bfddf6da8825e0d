import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox.ts';

function fakeSocket() {
  const writes: Buffer[] = [];
  const socket = {
    destroyed: false,
    writable: true,
    writableLength: 0,
    write: (data: Buffer) => {
      writes.push(Buffer.from(data));
      return true;
    },
  } as unknown as Socket;
  return { socket, writes };
}

describe('Outbox', () => {
  it('hands what one turn wrote to the socket in one write, at the end of the turn', async () => {
    const { socket, writes } = fakeSocket();
    const outbox = new Outbox(socket);
    outbox.write(Buffer.from('a'));
    outbox.write(Buffer.from('b'));
    await Promise.resolve();
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(writes.map(String)).toEqual(['ab']);
  });

  it('hands a request to the socket before any timer or I/O callback runs, with what the drain wrote before it', async () => {
    const { socket, writes } = fakeSocket();
    const outbox = new Outbox(socket);
    // What a callback that ran first would see (a process stopped there sends it only on waking).
    const seenByTheNextCallback = new Promise<string[]>((resolve) =>
      setImmediate(() => resolve(writes.map(String))),
    );
    // A continuation already queued in this drain (another response's submitter, say): what it
    // writes leaves in the same socket.write.
    queueMicrotask(() => outbox.writeSoon(Buffer.from('submit2')));
    outbox.write(Buffer.from('resp,'));
    outbox.writeSoon(Buffer.from('submit1,'));
    expect(writes).toEqual([]);
    expect(await seenByTheNextCallback).toEqual(['resp,submit1,submit2']);
  });
});
