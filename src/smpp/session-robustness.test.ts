// SmppSession against misbehaving peers: garbage, unframeable lengths, silence, a peer that does not
// read, and a flood of requests. Each peer is a scripted raw socket or our own server.

import { afterEach, describe, expect, it } from 'vitest';
import { CommandStatus } from './constants.ts';
import type { Pdu } from './pdu.ts';
import { buildPdu, encodePdu } from './pdu.ts';
import type { RawPeer } from './session.testkit.ts';
import { delay, rawClient, rawServer, waitFor } from './session.testkit.ts';
import type { SmppServerOptions, SmppSession } from './session.ts';
import { connectAndBind, createSmppServer } from './session.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(options: Partial<SmppServerOptions> = {}) {
  const server = createSmppServer({
    onBind: () => ({ status: 0, systemId: 'SMSC' }),
    onRequest: () => ({ command: 'submit_sm_resp', messageId: 'm' }),
    ...options,
  });
  const { port } = await server.listen(0, '127.0.0.1');
  cleanups.push(() => server.close());
  return { server, port };
}

async function rawBoundClient(port: number): Promise<RawPeer> {
  const peer = await rawClient(port);
  cleanups.push(() => peer.socket.destroy());
  peer.send(buildPdu('bind_transceiver', { sequenceNumber: 1, systemId: 'raw', password: 'pw' }));
  await peer.next((p) => p.command === 'bind_transceiver_resp');
  return peer;
}

function withHeader(commandId: number, seq: number, body: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(16 + body.length, 0);
  header.writeUInt32BE(commandId, 4);
  header.writeUInt32BE(seq, 12);
  return Buffer.concat([header, body]);
}

const submitBody = (seq: number) =>
  encodePdu(
    buildPdu('submit_sm', { sequenceNumber: seq, destinationAddr: '1', shortMessage: Buffer.from('hi') }),
  );

/** A carrier on a raw socket: answers the bind with `behind` in the same write; then scripted. */
async function rawCarrier(behind: Buffer = Buffer.alloc(0)) {
  let carrier: RawPeer | undefined;
  const server = await rawServer((peer) => {
    carrier = peer;
    void peer
      .next((p) => p.command === 'bind_transceiver')
      .then((bind) => {
        const resp = buildPdu('bind_transceiver_resp', {
          sequenceNumber: bind.sequenceNumber,
          systemId: 'C',
        });
        peer.sendRaw(Buffer.concat([encodePdu(resp), behind]));
      });
  });
  cleanups.push(() => server.close());
  return { port: server.port, peer: () => carrier! };
}

/** Our ESME bound as a transceiver to `port`; `onRequest` sees each request, answered ESME_ROK. */
async function bindEsme(port: number, onRequest: (pdu: Pdu) => unknown): Promise<SmppSession> {
  const session = await connectAndBind({
    host: '127.0.0.1',
    port,
    systemId: 'esme',
    password: 'pw',
    mode: 'transceiver',
    handlers: {
      onRequest: async (_s, pdu) => {
        await onRequest(pdu);
        return undefined;
      },
    },
  });
  cleanups.push(() => session.close('test over'));
  return session;
}

const receipt = (seq: number, id: number) =>
  buildPdu('deliver_sm', {
    sequenceNumber: seq,
    sourceAddr: '8613800138000',
    esmClass: 0x04,
    shortMessage: Buffer.from(`id:${id} stat:DELIVRD err:000`),
  });

describe('bad input', () => {
  it('nacks garbage in the middle of a stream and processes the PDUs after it', async () => {
    const { port } = await startServer();
    const peer = await rawBoundClient(port);
    const badSmLength = Buffer.from(submitBody(3));
    badSmLength[badSmLength.length - 3] = 200; // sm_length now runs past the end
    peer.sendRaw(
      Buffer.concat([
        withHeader(0x00000099, 2, Buffer.from('garbage')),
        badSmLength,
        submitBody(4),
        encodePdu(buildPdu('enquire_link', { sequenceNumber: 5 })),
      ]),
    );
    const nack = await peer.next((p) => p.sequenceNumber === 2);
    expect(nack).toMatchObject({ command: 'generic_nack', commandStatus: CommandStatus.ESME_RINVCMDID });
    const badResp = await peer.next((p) => p.sequenceNumber === 3);
    expect(badResp).toMatchObject({
      command: 'submit_sm_resp',
      commandStatus: CommandStatus.ESME_RINVMSGLEN,
    });
    expect(await peer.next((p) => p.sequenceNumber === 4)).toMatchObject({
      commandStatus: 0,
      messageId: 'm',
    });
    expect(await peer.next((p) => p.sequenceNumber === 5)).toMatchObject({ command: 'enquire_link_resp' });
    expect(peer.ended).toBe(false);
  });

  it('answers requests in the wrong state with ESME_RINVBNDSTS', async () => {
    const { port } = await startServer();
    const peer = await rawClient(port);
    cleanups.push(() => peer.socket.destroy());
    peer.sendRaw(submitBody(7));
    peer.send(buildPdu('enquire_link', { sequenceNumber: 8 }));
    expect(await peer.next((p) => p.sequenceNumber === 7)).toMatchObject({
      command: 'submit_sm_resp',
      commandStatus: CommandStatus.ESME_RINVBNDSTS,
    });
    expect(await peer.next((p) => p.sequenceNumber === 8)).toMatchObject({ command: 'enquire_link_resp' });
    peer.send(buildPdu('bind_transmitter', { sequenceNumber: 9, systemId: 'a', password: 'b' }));
    peer.send(buildPdu('bind_transmitter', { sequenceNumber: 10, systemId: 'a', password: 'b' }));
    expect(await peer.next((p) => p.sequenceNumber === 10)).toMatchObject({
      commandStatus: CommandStatus.ESME_RALYBND,
    });
  });

  it('takes a deliver_sm that arrives in the same read as its bind_resp', async () => {
    // Carriers push stored receipts right behind the bind_resp; often both land in one TCP read.
    const delivered: string[] = [];
    const carrier = await rawCarrier(encodePdu(receipt(77, 1001)));
    await bindEsme(carrier.port, (pdu) => {
      if (pdu.command === 'deliver_sm') delivered.push(pdu.shortMessage.toString('latin1'));
    });
    expect(await carrier.peer().next((p) => p.sequenceNumber === 77)).toMatchObject({
      command: 'deliver_sm_resp',
      commandStatus: CommandStatus.ESME_ROK,
    });
    expect(delivered).toEqual(['id:1001 stat:DELIVRD err:000']);
  });

  it('takes the carrier’s receipts while its own unbind goes out, and answers them before it closes', async () => {
    // The carrier sees a bound session until it reads our unbind: a receipt refused meanwhile
    // (ESME_RINVBNDSTS) was lost with an SMSC that takes any answer as delivery (npm `smpp`).
    const delivered: string[] = [];
    const carrier = await rawCarrier();
    const session = await bindEsme(carrier.port, async (pdu) => {
      // Stored slowly: the connection must not end before the answer is written.
      await delay(50);
      if (pdu.command === 'deliver_sm') delivered.push(pdu.shortMessage.toString('latin1'));
    });
    const peer = carrier.peer();
    const {
      sequenceNumber: _s,
      commandStatus: _c,
      tlvs: _t,
      ...fields
    } = buildPdu('submit_sm', { destinationAddr: '8613800138000', shortMessage: Buffer.from('hi') });
    const submitted = session.request(fields);
    const submit = await peer.next((p) => p.command === 'submit_sm');
    const unbound = session.unbind();
    // While the unbind waits for the submit's answer, and after it is sent, before its answer.
    peer.send(receipt(201, 1001));
    expect(await peer.next((p) => p.sequenceNumber === 201)).toMatchObject({
      command: 'deliver_sm_resp',
      commandStatus: CommandStatus.ESME_ROK,
    });
    peer.send(buildPdu('submit_sm_resp', { sequenceNumber: submit.sequenceNumber, messageId: '1002' }));
    await expect(submitted).resolves.toMatchObject({ messageId: '1002' });
    const unbind = await peer.next((p) => p.command === 'unbind');
    peer.send(receipt(202, 1002));
    peer.send(buildPdu('unbind_resp', { sequenceNumber: unbind.sequenceNumber }));
    await unbound;
    expect(await peer.next((p) => p.sequenceNumber === 202)).toMatchObject({
      command: 'deliver_sm_resp',
      commandStatus: CommandStatus.ESME_ROK,
    });
    expect(delivered).toEqual(['id:1001 stat:DELIVRD err:000', 'id:1002 stat:DELIVRD err:000']);
    expect(await session.closed).toEqual({ reason: 'unbound' });
  });

  it('nacks an unframeable command_length with ESME_RINVCMDLEN and closes', async () => {
    const { server, port } = await startServer();
    const peer = await rawBoundClient(port);
    peer.sendRaw(Buffer.from('0000000a000000150000000000000006', 'hex'));
    const nack = await peer.next((p) => p.command === 'generic_nack');
    expect(nack.commandStatus).toBe(CommandStatus.ESME_RINVCMDLEN);
    expect(nack.sequenceNumber).toBe(6);
    await peer.closed();
    await waitFor(() => server.sessions.size === 0);
  });

  it('drops a response to no pending request and carries on', async () => {
    const { port } = await startServer();
    const peer = await rawBoundClient(port);
    peer.send(buildPdu('deliver_sm_resp', { sequenceNumber: 12345 }));
    peer.sendRaw(submitBody(2));
    expect(await peer.next((p) => p.sequenceNumber === 2)).toMatchObject({ commandStatus: 0 });
  });
});

describe('liveness', () => {
  async function silentSmsc(answerEnquireLink: boolean) {
    const peers: RawPeer[] = [];
    const server = await rawServer((peer) => {
      peers.push(peer);
      peer.socket.on('data', () => {
        for (const pdu of peer.pdus.splice(0)) answer(peer, pdu);
        peer.received.length = 0;
      });
    });
    const answer = (peer: RawPeer, pdu: Pdu) => {
      if (pdu.command === 'bind_transceiver') {
        peer.send(buildPdu('bind_transceiver_resp', { sequenceNumber: pdu.sequenceNumber, systemId: 'S' }));
      }
      if (pdu.command === 'enquire_link' && answerEnquireLink) {
        peer.send(buildPdu('enquire_link_resp', { sequenceNumber: pdu.sequenceNumber }));
      }
    };
    cleanups.push(() => server.close());
    return { port: server.port, peers };
  }

  const bindTo = (port: number, overrides: object = {}): Promise<SmppSession> =>
    connectAndBind({
      host: '127.0.0.1',
      port,
      mode: 'transceiver',
      systemId: 'me',
      password: 'pw',
      requestTimeoutMs: 100,
      enquireLinkIntervalMs: 50,
      livenessTimeoutMs: 400,
      ...overrides,
    }).then((s) => {
      cleanups.push(() => s.close());
      return s;
    });

  it('closes a session whose peer stops answering enquire_link', async () => {
    const { port } = await silentSmsc(false);
    const session = await bindTo(port);
    const started = Date.now();
    const info = await session.closed;
    expect(info.reason).toMatch(/enquire_link got no response/);
    // Probe after ~50 ms, unanswered after 100 ms more; well before the 400 ms liveness timeout.
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('closes on silence even without probes when livenessTimeoutMs passes', async () => {
    const { port } = await silentSmsc(false);
    const session = await bindTo(port, { enquireLinkIntervalMs: 0, livenessTimeoutMs: 150 });
    expect((await session.closed).reason).toMatch(/liveness timeout/);
  });

  it('keeps a quiet but answering link open, probing it', async () => {
    const { port } = await silentSmsc(true);
    const session = await bindTo(port);
    let probes = 0;
    session.on('pdu', (pdu, direction) => {
      if (direction === 'out' && pdu.command === 'enquire_link') probes++;
    });
    await delay(500);
    expect(session.state).toBe('BOUND_TRX');
    expect(probes).toBeGreaterThanOrEqual(3);
  });

  it('answers enquire_link from the peer at once', async () => {
    const { port } = await startServer();
    const peer = await rawClient(port);
    cleanups.push(() => peer.socket.destroy());
    peer.send(buildPdu('enquire_link', { sequenceNumber: 77 }));
    expect(await peer.next((p) => p.sequenceNumber === 77)).toMatchObject({ command: 'enquire_link_resp' });
  });
});

describe('flow control', () => {
  it('queues requests while the peer does not read, with bounded buffers, and resumes on drain', async () => {
    let serverSide: SmppSession | undefined;
    const { port } = await startServer({
      onSession: (s) => {
        serverSide = s;
        s.once('bound', () => s.socket.pause());
      },
    });
    const client = await connectAndBind({
      host: '127.0.0.1',
      port,
      mode: 'transceiver',
      systemId: 'me',
      password: 'pw',
      windowSize: 100_000,
      requestTimeoutMs: 10_000,
      enquireLinkIntervalMs: 0,
    });
    cleanups.push(() => client.close());
    await waitFor(() => serverSide?.state === 'BOUND_TRX');
    const submit = buildPdu('submit_sm', {
      destinationAddr: '8613800138000',
      shortMessage: Buffer.alloc(254, 0x41),
    });
    const count = 40_000; // ~12 MB: more than loopback socket buffers hold
    const all = Array.from({ length: count }, () => client.request(submit));
    let maxWritable = 0;
    await waitFor(() => {
      maxWritable = Math.max(maxWritable, client.socket.writableLength);
      return client.queued > 0 && client.windowFree === 0;
    }, 2000);
    await delay(50);
    maxWritable = Math.max(maxWritable, client.socket.writableLength);
    expect(client.queued).toBeGreaterThan(0);
    expect(client.queued + client.inFlight).toBe(count);
    // One flushed batch (64 KiB) beyond the socket's high-water mark at most, not megabytes.
    expect(maxWritable).toBeLessThan(256 * 1024);
    serverSide!.socket.resume();
    const resps = await Promise.all(all);
    expect(resps.every((r) => r.commandStatus === 0)).toBe(true);
    expect(client.queued).toBe(0);
  });

  it('caps concurrent handlers and pauses reading instead of queueing without bound', async () => {
    let running = 0;
    let maxRunning = 0;
    const { port } = await startServer({
      sessionOptions: { maxConcurrentHandlers: 3 },
      onRequest: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await delay(2);
        running--;
        return { command: 'submit_sm_resp', messageId: 'm' };
      },
    });
    const peer = await rawBoundClient(port);
    const flood = Buffer.concat(Array.from({ length: 200 }, (_, i) => submitBody(100 + i)));
    peer.sendRaw(flood);
    await waitFor(() => peer.pdus.filter((p) => p.command === 'submit_sm_resp').length === 200, 3000);
    expect(maxRunning).toBe(3);
  });

  it('reads a response that arrives behind requests waiting for a busy handler', async () => {
    // The SMSC answers our submit_sm only after pushing two deliver_sm; our one handler slot is
    // busy for 200 ms with the first, the second waits, and the submit_sm_resp behind it must not.
    const server = await rawServer((peer) => {
      peer.socket.on('data', () => {
        for (const pdu of peer.pdus.splice(0)) {
          if (pdu.command === 'bind_transceiver') {
            peer.send(
              buildPdu('bind_transceiver_resp', { sequenceNumber: pdu.sequenceNumber, systemId: 'S' }),
            );
          } else if (pdu.command === 'submit_sm') {
            const deliver = (seq: number) =>
              encodePdu(
                buildPdu('deliver_sm', { sequenceNumber: seq, shortMessage: Buffer.from(`m${seq}`) }),
              );
            peer.sendRaw(Buffer.concat([deliver(100), deliver(101)]));
            const resp = buildPdu('submit_sm_resp', { sequenceNumber: pdu.sequenceNumber, messageId: 'x1' });
            setTimeout(() => peer.send(resp), 20);
          }
        }
        peer.received.length = 0;
      });
    });
    cleanups.push(() => server.close());
    const events: string[] = [];
    const client = await connectAndBind({
      host: '127.0.0.1',
      port: server.port,
      mode: 'transceiver',
      systemId: 'me',
      password: 'pw',
      requestTimeoutMs: 150,
      enquireLinkIntervalMs: 0,
      maxConcurrentHandlers: 1,
      handlers: {
        onRequest: async (_session, pdu) => {
          const seq = pdu.sequenceNumber;
          events.push(`start ${seq}`);
          await delay(200);
          events.push(`end ${seq}`);
          return 0;
        },
      },
    });
    cleanups.push(() => client.close());
    const deliverResps: number[] = [];
    client.on('pdu', (pdu, direction) => {
      if (direction === 'out' && pdu.command === 'deliver_sm_resp') deliverResps.push(pdu.sequenceNumber);
    });
    const resp = await client.request(buildPdu('submit_sm', { destinationAddr: '1' }));
    events.push('submit_sm_resp');
    expect(resp).toMatchObject({ command: 'submit_sm_resp', messageId: 'x1' });
    await waitFor(() => deliverResps.length === 2, 2000);
    expect(deliverResps).toEqual([100, 101]);
    expect(events).toEqual(['start 100', 'submit_sm_resp', 'end 100', 'start 101', 'end 101']);
  });

  it('answers enquire_link at once while requests wait for a busy handler', async () => {
    const { port } = await startServer({
      sessionOptions: { maxConcurrentHandlers: 1 },
      onRequest: async () => {
        await delay(100);
        return { command: 'submit_sm_resp', messageId: 'm' };
      },
    });
    const peer = await rawBoundClient(port);
    peer.sendRaw(Buffer.concat([submitBody(2), submitBody(3), submitBody(4)]));
    await delay(20);
    peer.send(buildPdu('enquire_link', { sequenceNumber: 5 }));
    await peer.next((p) => p.sequenceNumber === 4, 2000);
    const order = peer.pdus.filter((p) => p.sequenceNumber >= 2).map((p) => p.sequenceNumber);
    expect(order).toEqual([5, 2, 3, 4]);
  });
});
