// Through a real socket: what only a real connection shows (timeouts, the per-address cap, raw
// bytes and parser errors), with short timeouts from the settings rather than waits.
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenant } from '../../test/helpers/app.ts';
import { createTestDatabase } from '../../test/helpers/db.ts';
import { loadConfig } from '../app/config.ts';
import { createContext } from '../app/context.ts';
import { buildHttpServer } from './server.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let port: number;
let auth: string;
const logs: { level: number; msg: string }[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  const config = loadConfig({
    env: {
      HONGYAN_HTTP_HEADERS_TIMEOUT_MS: '400',
      HONGYAN_HTTP_REQUEST_TIMEOUT_MS: '600',
      HONGYAN_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '4',
    },
    configFile: null,
  });
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  const ctx = createContext({ config, db: t.db, logger });
  app = await buildHttpServer(ctx);
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
  auth = `Bearer ${(await newTenant(ctx, 'A')).key}`;
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

function open(localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Everything the server sends until it closes the connection. */
function untilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

async function exchange(request: Buffer | string): Promise<string> {
  const socket = await open();
  const answer = untilClosed(socket);
  socket.write(request);
  return answer;
}

function parse(raw: string) {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  return { status, body: JSON.parse(body) as { error: { code: string; message: string } } };
}

async function healthz(localAddress?: string): Promise<number> {
  const socket = await open(localAddress);
  const answer = untilClosed(socket);
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(await answer)?.[1]);
}

const post = (headers: string, body: Buffer | string) =>
  Buffer.concat([
    Buffer.from(
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nConnection: close\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n`,
    ),
    Buffer.from(body),
  ]);

const errorLines = () => logs.filter((l) => l.level >= 50);

describe('timeouts', () => {
  it('answers 408 request.timeout and closes a request whose body never finishes, without logging an error', async () => {
    const before = errorLines().length;
    const socket = await open();
    const answer = untilClosed(socket);
    socket.write(
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\n` +
        'Content-Length: 1000\r\n\r\n{"to":"+8613800138000",',
    );
    expect(await healthz()).toBe(200);
    expect(parse(await answer)).toMatchObject({ status: 408, body: { error: { code: 'request.timeout' } } });
    expect(errorLines().slice(before)).toEqual([]);
  });

  it('answers 408 request.timeout to headers that never finish', async () => {
    const raw = await exchange('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(parse(raw)).toMatchObject({ status: 408, body: { error: { code: 'request.timeout' } } });
  });
});

describe('connections per address', () => {
  it('answers the connection over the cap 429 request.too_many_connections and accepts again once one closes', async () => {
    const held = await Promise.all([open(), open(), open(), open()]);
    const refused = await exchange('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(parse(refused)).toMatchObject({
      status: 429,
      body: { error: { code: 'request.too_many_connections' } },
    });
    const closed = held.map((s) => new Promise((resolve) => s.on('close', resolve)));
    for (const s of held) s.destroy();
    await Promise.all(closed);
    expect(await healthz()).toBe(200);
  });

  it('keeps answering other addresses while one address floods it with slow requests', async () => {
    // Linux routes all of 127.0.0.0/8 to loopback: 127.0.0.2 is another client address.
    const flood = await Promise.all(Array.from({ length: 40 }, () => open()));
    const answers = flood.map(untilClosed);
    for (const s of flood) {
      s.write(
        'POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
      );
    }
    expect(await healthz('127.0.0.2')).toBe(200);
    const statuses = (await Promise.all(answers)).map((raw) => parse(raw).status);
    // Four held until the request timeout, every other one refused at once.
    expect(statuses.filter((s) => s === 429)).toHaveLength(36);
    expect(statuses.filter((s) => s === 408)).toHaveLength(4);
  });
});

describe('bytes and parser errors', () => {
  it('refuses a latin1 body 415 and invalid UTF-8 bytes 400 request.invalid_encoding', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('{"to":"+8613800138000","content":"caf'),
      Buffer.from([0xe9, 0x22, 0x7d]),
    ]);
    const declared = await exchange(post('Content-Type: application/json; charset=latin1\r\n', latin1));
    expect(parse(declared)).toMatchObject({
      status: 415,
      body: { error: { code: 'request.unsupported_media_type' } },
    });
    const undeclared = await exchange(post('Content-Type: application/json\r\n', latin1));
    expect(parse(undeclared)).toMatchObject({
      status: 400,
      body: { error: { code: 'request.invalid_encoding' } },
    });
    const good = await exchange(
      post('Content-Type: application/json; charset=utf-8\r\n', '{"to":"+8613800138000","content":"café"}'),
    );
    expect(Number(/^HTTP\/1\.1 (\d{3})/.exec(good)?.[1])).toBe(202);
  });

  it('answers headers over 16 KiB 431 and a request Node cannot parse 400, in the documented shape', async () => {
    const big = await exchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(parse(big)).toMatchObject({ status: 431, body: { error: { code: 'request.headers_too_large' } } });
    const method = await exchange('FOO@ /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(parse(method)).toMatchObject({ status: 400, body: { error: { code: 'request.malformed' } } });
    const url = await exchange('GET /v1/messages/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(parse(url)).toMatchObject({ status: 400, body: { error: { code: 'request.malformed' } } });
  });

  it('logs a client that disconnects mid-body as neither an error nor service.unavailable', async () => {
    const before = logs.length;
    const socket = await open();
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write(
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\n` +
        'Content-Length: 1000\r\n\r\n{"to":',
    );
    // Wait until the server is reading the body (its debug line would otherwise race the close).
    expect(await healthz()).toBe(200);
    socket.destroy();
    await closed;
    // The server sees the close on its next read; a later request on another socket comes after it.
    expect(await healthz()).toBe(200);
    const after = logs.slice(before);
    expect(after.filter((l) => l.level >= 50)).toEqual([]);
    expect(after.some((l) => l.msg.includes('service.unavailable'))).toBe(false);
  });
});

describe('shutting down', () => {
  it('answers a request that arrives while the server closes 503 service.unavailable in the documented shape', async () => {
    const config = loadConfig({ env: {}, configFile: null });
    const closingApp = await buildHttpServer(
      createContext({ config, db: t.db, logger: pino({ level: 'silent' }) }),
    );
    await closingApp.listen({ host: '127.0.0.1', port: 0 });
    const closingPort = (closingApp.server.address() as { port: number }).port;
    const socket = await new Promise<Socket>((resolve) => {
      const s = connect(closingPort, '127.0.0.1', () => resolve(s));
    });
    const answer = untilClosed(socket);
    // Half a request keeps the connection busy, so closing waits for it instead of dropping it.
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    await new Promise((resolve) => setImmediate(resolve));
    const closed = closingApp.close();
    // The listener stops after the preClose hooks ran: from then on the node is closing.
    while (closingApp.server.listening) await new Promise((resolve) => setImmediate(resolve));
    socket.write('\r\n');
    const raw = await answer;
    await closed;
    expect(parse(raw)).toMatchObject({ status: 503, body: { error: { code: 'service.unavailable' } } });
    expect(raw.toLowerCase()).toContain('retry-after: 1');
  });
});
