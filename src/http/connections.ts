// The HTTP layer below Fastify's routes: answers for requests Node's parser refuses, and a cap
// on connections per client address. Without them a client that opens connections and never
// finishes a request (slowloris) holds a file descriptor each until the process runs out and
// /healthz stops answering.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { ErrorFactory } from '../shared/errors.ts';
import { headersTooLarge, malformedRequest, requestTimeout, tooManyConnections } from './http.errors.ts';

/** A complete HTTP/1.1 answer in the documented error shape, for a socket no route owns. */
export function rawErrorResponse(error: ErrorFactory): string {
  const e = error();
  const body = JSON.stringify({ error: { code: e.code, message: e.message } });
  const reason =
    {
      400: 'Bad Request',
      408: 'Request Timeout',
      429: 'Too Many Requests',
      431: 'Request Header Fields Too Large',
    }[e.statusCode] ?? 'Error';
  return (
    `HTTP/1.1 ${e.statusCode} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * Fastify's clientErrorHandler: Node's parser refused the request (timeout, headers too large,
 * bad method or URL), or a timeout hit a request whose body never arrived. These are the
 * client's doing, so they are logged at debug, never as errors.
 */
export function createClientErrorHandler(log: FastifyBaseLogger) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const error =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? requestTimeout
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? headersTooLarge
          : malformedRequest;
    log.debug({ code: err.code, remote: socket.remoteAddress }, `client error: ${error.code}`);
    // Headers already sent for this socket (a response under way) cannot be followed by another.
    const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !current?.headersSent) socket.write(rawErrorResponse(error));
    socket.destroy();
  };
}

/**
 * Counts open sockets per remote address and refuses one over `max` (0: no cap) with a 429 in
 * the documented shape before reading anything from it. The counter is a plain map: one entry
 * per address with an open connection, removed when its last one closes.
 */
export function capConnectionsPerAddress(server: Server, max: number, log: FastifyBaseLogger) {
  if (max <= 0) return { open: () => 0 };
  const open = new Map<string, number>();
  // A flood is logged once a second with a count, not once per refused connection.
  let refused = 0;
  let lastWarning = 0;
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      refused++;
      const now = Date.now();
      if (now - lastWarning >= 1000) {
        log.warn({ remote: address, max, refused }, 'connections refused: too many open from one address');
        lastWarning = now;
        refused = 0;
      }
      // Destroyed once the answer is handed to the kernel: a request the client sends anyway
      // meets a closed socket, whatever the parser Node attached to it makes of it.
      socket.write(rawErrorResponse(tooManyConnections), () => socket.destroy());
      socket.setTimeout(1000, () => socket.destroy());
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
  return { open: (address: string) => open.get(address) ?? 0 };
}
