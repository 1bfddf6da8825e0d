// One webhook POST, guarded against SSRF. The address is checked where the socket connects: a
// custom `lookup` refuses a name that resolves inside (every address it resolves to is judged, so
// a name cannot pass with one public address and connect to a private one), an IP literal is
// judged before any connection, and the connected socket's remote address is judged again before a
// byte is written (no DNS-rebinding gap between a check and the connect). Redirects are never
// followed (a 3xx is a failure), and connect, response and size limits bound every attempt.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { type AddressPolicy, refusedRange } from './ssrf.models.ts';
import { hostOf } from './webhooks.models.ts';

export interface SendLimits {
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  maxResponseBytes: number;
}

export interface SendOutcome {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** The address is refused (SSRF): retrying cannot help, the delivery is dead-lettered at once. */
  refused: boolean;
}

export class AddressRefusedError extends Error {
  constructor(
    readonly address: string,
    readonly range: string,
  ) {
    super(`address ${address} refused (${range})`);
    this.name = 'AddressRefusedError';
  }
}

type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;

const systemResolve: Resolve = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

/** A `lookup` for sockets that answers only addresses the policy allows. */
export function guardedLookup(policy: AddressPolicy, resolve: Resolve = systemResolve): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    resolve(hostname).then(
      (addresses) => {
        for (const a of addresses) {
          const range = refusedRange(a.address, policy);
          if (range) return callback(new AddressRefusedError(a.address, range));
        }
        if (addresses.length === 0) return callback(new Error(`${hostname} resolves to no address`));
        if (options.all) return callback(null, addresses);
        return callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: unknown) => callback(error),
    );
  }) as LookupFunction;
}

/** Where a URL would connect, judged before any connection (for registration time). */
export async function checkUrlTarget(
  url: string,
  policy: AddressPolicy,
  resolve: Resolve = systemResolve,
): Promise<{ address: string; range: string } | null> {
  const { host, literal } = hostOf(url);
  const addresses = literal ? [host] : (await resolve(host).catch(() => [])).map((a) => a.address);
  for (const address of addresses) {
    const range = refusedRange(address, policy);
    if (range) return { address, range };
  }
  return null;
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
};

export async function postWebhook({
  url,
  body,
  headers,
  policy,
  limits,
  resolve = systemResolve,
}: {
  url: string;
  body: string;
  headers: Record<string, string>;
  policy: AddressPolicy;
  limits: SendLimits;
  resolve?: Resolve;
}): Promise<SendOutcome> {
  const started = performance.now();
  const done = (statusCode: number | null, error: string | null): SendOutcome => ({
    refused: error !== null && /^address \S+ refused \(/.test(error),
    ok: error === null && statusCode !== null && statusCode >= 200 && statusCode < 300,
    statusCode,
    error:
      error ?? (statusCode !== null && (statusCode < 200 || statusCode >= 300) ? `HTTP ${statusCode}` : null),
    durationMs: Math.round(performance.now() - started),
  });
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return done(null, 'invalid URL');
  }
  const { host, literal } = hostOf(url);
  if (literal) {
    const range = refusedRange(host, policy);
    if (range) return done(null, `address ${host} refused (${range})`);
  }
  const isHttps = target.protocol === 'https:';
  return new Promise<SendOutcome>((resolvePromise) => {
    let settled = false;
    const finish = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(responseTimer);
      resolvePromise(done(statusCode, error));
    };
    const request = (isHttps ? https : http).request(target, {
      method: 'POST',
      agent: isHttps ? agents.https : agents.http,
      lookup: guardedLookup(policy, resolve),
      // JSON unless the caller names another type (a vendor's form-encoded callback).
      headers: { 'content-type': 'application/json', ...headers, 'content-length': Buffer.byteLength(body) },
    });
    const responseTimer = setTimeout(() => {
      request.destroy(new Error(`no response within ${limits.responseTimeoutMs} ms`));
    }, limits.responseTimeoutMs);
    // Nothing is written before the connected address is judged: the request is ended (headers
    // and body) only then.
    const judgeSocket = (socket: Socket) => {
      const range = socket.remoteAddress ? refusedRange(socket.remoteAddress, policy) : null;
      if (range) request.destroy(new AddressRefusedError(socket.remoteAddress!, range));
      else request.end(body);
    };
    request.on('socket', (socket: Socket) => {
      if (!socket.connecting) {
        judgeSocket(socket);
        return;
      }
      const connectTimer = setTimeout(
        () => request.destroy(new Error(`no connection within ${limits.connectTimeoutMs} ms`)),
        limits.connectTimeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(connectTimer);
        judgeSocket(socket);
      });
      socket.once('close', () => clearTimeout(connectTimer));
    });
    request.on('error', (error) => finish(null, error.message));
    request.on('response', (response) => {
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxResponseBytes) {
          finish(null, `response larger than ${limits.maxResponseBytes} bytes`);
          response.destroy();
          request.destroy();
        }
      });
      response.on('end', () => finish(response.statusCode ?? null, null));
      response.on('error', (error) => finish(null, error.message));
      response.on('aborted', () => finish(null, 'response aborted'));
    });
  });
}
