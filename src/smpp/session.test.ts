// SmppSession between our client and our server over real sockets on 127.0.0.1.

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandStatus } from './constants.ts';
import {
  BindError,
  ConnectError,
  InvalidStateError,
  RequestTimeoutError,
  SessionClosedError,
} from './errors.ts';
import type { SubmitSm } from './pdu.ts';
import { buildPdu } from './pdu.ts';
import { delay, waitFor } from './session.testkit.ts';
import type { ConnectAndBindOptions, SmppServer, SmppServerOptions, SmppSession } from './session.ts';
import { connectAndBind, createSmppServer } from './session.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(
  options: Partial<SmppServerOptions> = {},
): Promise<{ server: SmppServer; port: number }> {
  const server = createSmppServer({
    onBind: (_session, pdu) =>
      pdu.password === 'secret'
        ? { status: 0, systemId: 'HONGYAN-SMSC' }
        : { status: CommandStatus.ESME_RINVPASWD },
    onRequest: (_session, pdu) =>
      pdu.command === 'submit_sm' ? { command: 'submit_sm_resp', messageId: `id-${pdu.sequenceNumber}` } : 0,
    ...options,
  });
  const { port } = await server.listen(0, '127.0.0.1');
  cleanups.push(() => server.close());
  return { server, port };
}

async function connect(port: number, options: Partial<ConnectAndBindOptions> = {}): Promise<SmppSession> {
  const session = await connectAndBind({
    host: '127.0.0.1',
    port,
    mode: 'transceiver',
    systemId: 'tenant1',
    password: 'secret',
    windowSize: 10,
    requestTimeoutMs: 1000,
    enquireLinkIntervalMs: 0,
    connectTimeoutMs: 1000,
    ...options,
  });
  cleanups.push(() => session.close());
  return session;
}

const submit = (text = 'hello'): Omit<SubmitSm, 'sequenceNumber' | 'commandStatus' | 'tlvs'> => {
  const {
    sequenceNumber: _s,
    commandStatus: _c,
    tlvs: _t,
    ...fields
  } = buildPdu('submit_sm', {
    destinationAddr: '8613800138000',
    shortMessage: Buffer.from(text),
  });
  return fields;
};

describe('bind', () => {
  it('binds a transceiver; both sides see each other', async () => {
    const { server, port } = await startServer();
    const client = await connect(port, { logger: pino({ enabled: false }) });
    expect(client.state).toBe('BOUND_TRX');
    expect(client.systemId).toBe('HONGYAN-SMSC');
    await waitFor(() => [...server.sessions].some((s) => s.state === 'BOUND_TRX'));
    const serverSide = [...server.sessions][0]!;
    expect(serverSide.systemId).toBe('tenant1');
    expect(serverSide.mode).toBe('transceiver');
  });

  it('rejects a refused bind with BindError carrying the status, and closes', async () => {
    const { server, port } = await startServer();
    const error = await connect(port, { password: 'wrong' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BindError);
    expect((error as BindError).status).toBe(CommandStatus.ESME_RINVPASWD);
    await waitFor(() => server.sessions.size === 0);
  });

  it('rejects with ConnectError when nothing listens', async () => {
    const { port, server } = await startServer();
    await server.close();
    await expect(connect(port)).rejects.toBeInstanceOf(ConnectError);
  });

  it('binds a receiver after an async bind decision, and refuses submit_sm on it locally', async () => {
    const { port } = await startServer({
      onBind: async () => {
        await delay(50);
        return { status: 0 };
      },
    });
    const client = await connect(port, { mode: 'receiver' });
    expect(client.state).toBe('BOUND_RX');
    await expect(client.request(submit())).rejects.toBeInstanceOf(InvalidStateError);
  });
});

describe('requests', () => {
  it('resolves with the response whatever its status, in both directions', async () => {
    const delivered: string[] = [];
    const { server, port } = await startServer({
      onRequest: async (_session, pdu) => {
        if (pdu.command !== 'submit_sm') return 0;
        if (pdu.shortMessage.toString() === 'throttle me') return CommandStatus.ESME_RTHROTTLED;
        return { command: 'submit_sm_resp', messageId: 'abc123' };
      },
    });
    const client = await connect(port, {
      handlers: {
        onRequest: (_session, pdu) => {
          if (pdu.command === 'deliver_sm') delivered.push(pdu.shortMessage.toString());
          return undefined;
        },
      },
    });
    const ok = await client.request(submit());
    expect(ok).toMatchObject({ command: 'submit_sm_resp', commandStatus: 0, messageId: 'abc123' });
    const throttled = await client.request(submit('throttle me'));
    expect(throttled.commandStatus).toBe(CommandStatus.ESME_RTHROTTLED);

    const serverSide = [...server.sessions][0]!;
    const {
      sequenceNumber: _s,
      commandStatus: _c,
      tlvs: _t,
      ...deliver
    } = buildPdu('deliver_sm', {
      esmClass: 4,
      shortMessage: Buffer.from('id:abc123 stat:DELIVRD'),
    });
    const resp = await serverSide.request(deliver);
    expect(resp).toMatchObject({ command: 'deliver_sm_resp', commandStatus: 0 });
    expect(delivered).toEqual(['id:abc123 stat:DELIVRD']);
  });

  it('answers ESME_RSYSERR when a handler throws, and keeps going', async () => {
    let calls = 0;
    const { port } = await startServer({
      onRequest: () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return { command: 'submit_sm_resp', messageId: 'ok' };
      },
    });
    const client = await connect(port);
    expect((await client.request(submit())).commandStatus).toBe(CommandStatus.ESME_RSYSERR);
    expect((await client.request(submit())).commandStatus).toBe(0);
  });

  it('never has more than windowSize requests outstanding', async () => {
    let outstanding = 0;
    let maxOutstanding = 0;
    const { port } = await startServer({
      onRequest: async () => {
        outstanding++;
        maxOutstanding = Math.max(maxOutstanding, outstanding);
        await delay(5);
        outstanding--;
        return { command: 'submit_sm_resp', messageId: 'x' };
      },
    });
    const client = await connect(port, { windowSize: 4 });
    let maxInFlight = 0;
    client.on('pdu', () => {
      maxInFlight = Math.max(maxInFlight, client.inFlight);
    });
    const all = Array.from({ length: 40 }, () => client.request(submit()));
    expect(client.inFlight).toBe(4);
    expect(client.queued).toBe(36);
    expect(client.windowFree).toBe(0);
    const resps = await Promise.all(all);
    expect(resps.every((r) => r.commandStatus === 0)).toBe(true);
    expect(maxOutstanding).toBe(4);
    expect(maxInFlight).toBeLessThanOrEqual(4);
    expect(client.windowFree).toBe(4);
  });

  it('lets a dispatcher fill the window with waitForSlot and the slot event', async () => {
    const { port } = await startServer({
      onRequest: async () => {
        await delay(2);
        return { command: 'submit_sm_resp', messageId: 'x' };
      },
    });
    const client = await connect(port, { windowSize: 3 });
    let slotEvents = 0;
    client.on('slot', () => slotEvents++);
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      await client.waitForSlot();
      expect(client.inFlight).toBeLessThan(3);
      pending.push(client.request(submit()));
    }
    await Promise.all(pending);
    expect(slotEvents).toBeGreaterThan(0);
  });

  it('times out one request without disturbing the others', async () => {
    const { port } = await startServer({
      onRequest: (_session, pdu) =>
        pdu.command === 'submit_sm' && pdu.shortMessage.toString() === 'black hole'
          ? new Promise(() => {})
          : { command: 'submit_sm_resp', messageId: 'ok' },
    });
    const client = await connect(port, { requestTimeoutMs: 100 });
    const lost = client.request(submit('black hole'));
    const fine = client.request(submit());
    await expect(fine).resolves.toMatchObject({ messageId: 'ok' });
    const error = await lost.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ command: 'submit_sm', timeoutMs: 100 });
    expect(client.inFlight).toBe(0);
    await expect(client.request(submit())).resolves.toMatchObject({
      messageId: 'ok',
    });
  });

  it('fails pending requests with SessionClosedError when the peer disconnects', async () => {
    const { server, port } = await startServer({ onRequest: () => new Promise(() => {}) });
    const client = await connect(port, { windowSize: 2 });
    const closed = new Promise((resolve) => client.once('close', resolve));
    const pending = [1, 2, 3].map(() => client.request(submit()));
    await waitFor(() => [...server.sessions].some((s) => s.state === 'BOUND_TRX'));
    await delay(20);
    for (const s of server.sessions) s.close('test kill');
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(SessionClosedError);
    expect(await closed).toMatchObject({ reason: expect.stringContaining('closed') });
    expect(client.state).toBe('CLOSED');
    await expect(client.request(submit())).rejects.toBeInstanceOf(SessionClosedError);
  });
});

describe('unbind', () => {
  it('waits for outstanding responses, then unbinds both sides', async () => {
    const { server, port } = await startServer({
      onRequest: async () => {
        await delay(50);
        return { command: 'submit_sm_resp', messageId: 'late' };
      },
    });
    const client = await connect(port);
    await waitFor(() => server.sessions.size === 1);
    const serverSide = [...server.sessions][0]!;
    const pending = client.request(submit());
    await delay(5);
    await client.unbind();
    await expect(pending).resolves.toMatchObject({ messageId: 'late' });
    expect(client.state).toBe('CLOSED');
    expect(await client.closed).toEqual({ reason: 'unbound' });
    expect(await serverSide.closed).toEqual({ reason: 'unbound by peer' });
  });

  it('server close() unbinds its clients', async () => {
    const { server, port } = await startServer();
    const client = await connect(port);
    await waitFor(() => server.sessions.size === 1);
    await server.close();
    expect(await client.closed).toEqual({ reason: 'unbound by peer' });
    expect(server.sessions.size).toBe(0);
  });
});
