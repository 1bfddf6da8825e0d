// SMSC side: a TCP server whose every connection is an SmppSession. Used by the customer-facing
// SMPP server and by the carrier simulator; the owner decides binds and answers requests.

import type { AddressInfo } from 'node:net';
import net from 'node:net';
import tls from 'node:tls';
import { SmppSession } from './session-core.ts';
import { isBound } from './session-rules.ts';
import type { BindHandler, RequestHandler, SessionOptions, SmppLogger } from './session-types.ts';
import { noopLogger } from './session-types.ts';

export interface SmppServerOptions {
  /** Decides each bind: `{ status: 0, systemId }` accepts. */
  onBind: BindHandler;
  /** Answers submit_sm, query_sm, ... (and deliver_sm_resp-less alert_notification). */
  onRequest?: RequestHandler;
  /** Every accepted connection, before it binds: attach listeners here. */
  onSession?: (session: SmppSession) => void;
  sessionOptions?: Omit<SessionOptions, 'role' | 'handlers' | 'logger'>;
  logger?: SmppLogger;
  /** Listen with TLS (key and cert at least); sessions start once the handshake is done. */
  tls?: tls.TlsOptions;
}

export interface SmppServer {
  readonly server: net.Server;
  /** Sessions whose connection is open, bound or not. */
  readonly sessions: ReadonlySet<SmppSession>;
  /** Listens; port 0 picks a free port. Resolves with the bound address. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  address(): AddressInfo | null;
  /** Stops accepting, unbinds bound sessions (closes the others), resolves when all are closed. */
  close(): Promise<void>;
}

export function createSmppServer(options: SmppServerOptions): SmppServer {
  const log = options.logger ?? noopLogger;
  const sessions = new Set<SmppSession>();
  const handlers = { onBind: options.onBind, ...(options.onRequest ? { onRequest: options.onRequest } : {}) };
  const onSocket = (socket: net.Socket) => {
    const session = new SmppSession(socket, {
      ...options.sessionOptions,
      role: 'smsc',
      handlers,
      logger: log,
    });
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    log.debug({ remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'SMPP connection accepted');
    options.onSession?.(session);
  };
  const server = options.tls ? tls.createServer(options.tls, onSocket) : net.createServer(onSocket);
  // A failed TLS handshake is that client's problem: logged, never the server's error.
  server.on('tlsClientError', (error) => log.debug({ err: error }, 'SMPP TLS handshake failed'));
  server.on('error', (error) => log.error({ err: error }, 'SMPP server error'));

  return {
    server,
    sessions,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.removeListener('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    address() {
      const address = server.address();
      return typeof address === 'object' ? address : null;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(
        [...sessions].map((session) => {
          if (isBound(session.state)) return session.unbind().catch(() => {});
          session.close('server closing');
          return undefined;
        }),
      );
      await closed;
    },
  };
}
