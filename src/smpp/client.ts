// ESME side: connect to an SMSC and bind. Reconnecting is the carrier connector's job (it owns the
// policy); backoffDelay in backoff.ts computes its waits.

import net from 'node:net';
import { ConnectError } from './errors.ts';
import { SmppSession } from './session-core.ts';
import type { BindParams, SessionOptions } from './session-types.ts';

export interface ConnectAndBindOptions extends Omit<SessionOptions, 'role'>, BindParams {
  host: string;
  port: number;
  /** TCP connect timeout. Default 10 000 ms. The bind itself waits at most requestTimeoutMs. */
  connectTimeoutMs?: number;
}

/**
 * Connects and binds. Resolves with a bound session; rejects with ConnectError when TCP fails,
 * BindError (with the status) when the SMSC refuses, RequestTimeoutError when the bind gets no
 * answer, SessionClosedError when the SMSC hangs up first. A failed bind closes the socket.
 */
export async function connectAndBind(options: ConnectAndBindOptions): Promise<SmppSession> {
  const { host, port, connectTimeoutMs = 10_000, mode, systemId, password, systemType, ...rest } = options;
  const { interfaceVersion, addrTon, addrNpi, addressRange, ...sessionOptions } = rest;
  const socket = await connect(host, port, connectTimeoutMs);
  const session = new SmppSession(socket, { ...sessionOptions, role: 'esme' });
  try {
    await session.bind({
      mode,
      systemId,
      password,
      systemType,
      interfaceVersion,
      addrTon,
      addrNpi,
      addressRange,
    });
  } catch (error) {
    session.close(`bind failed: ${(error as Error).message}`);
    throw error;
  }
  return session;
}

function connect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const onError = (error: Error) => {
      clearTimeout(timer);
      reject(new ConnectError(`connect to ${host}:${port} failed: ${error.message}`, { cause: error }));
    };
    const timer = setTimeout(() => {
      socket.removeListener('error', onError);
      socket.destroy();
      reject(new ConnectError(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      resolve(socket);
    });
  });
}
