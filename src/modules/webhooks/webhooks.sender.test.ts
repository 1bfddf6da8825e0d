// The guarded POST against real local sockets: what it refuses, and that it refuses before any
// byte reaches the receiver.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressPolicyOf } from './ssrf.models.ts';
import { checkUrlTarget, postWebhook } from './webhooks.sender.ts';

const limits = { connectTimeoutMs: 2000, responseTimeoutMs: 2000, maxResponseBytes: 1024 };
const allowLoopback = addressPolicyOf('127.0.0.1/32');
const none = addressPolicyOf('');

let server: http.Server;
let port: number;
const received: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    received.push(req.url ?? '');
    req.resume();
    req.on('end', () => {
      if (req.url === '/redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/ok` }).end();
      } else if (req.url === '/big') {
        res.writeHead(200).end('x'.repeat(10_000));
      } else if (req.url === '/slow') {
        setTimeout(() => res.writeHead(200).end(), 5_000).unref();
      } else {
        res.writeHead(200).end('ok');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const post = (url: string, extra: Partial<Parameters<typeof postWebhook>[0]> = {}) =>
  postWebhook({ url, body: '{"events":[]}', headers: {}, policy: allowLoopback, limits, ...extra });

describe('postWebhook', () => {
  it('delivers to an allowed receiver', async () => {
    const out = await post(`http://127.0.0.1:${port}/ok`);
    expect(out).toMatchObject({ ok: true, statusCode: 200, error: null });
  });

  it('refuses 127.0.0.1 without the allowance, sending nothing', async () => {
    const before = received.length;
    const out = await post(`http://127.0.0.1:${port}/ok`, { policy: none });
    expect(out.ok).toBe(false);
    expect(out.error).toMatch(/127\.0\.0\.1 refused \(loopback\)/);
    expect(out.refused).toBe(true);
    expect(received.length).toBe(before);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[::1]:9/', 'loopback'],
    ['http://[::ffff:10.0.0.1]/', 'private'],
    ['http://100.100.100.200/', 'metadata'],
    ['http://10.1.2.3/', 'private'],
  ])('refuses %s (%s) before connecting', async (url, range) => {
    const out = await post(url, { policy: none });
    expect(out.ok).toBe(false);
    expect(out.error).toContain(`(${range})`);
  });

  it('refuses a host name that resolves to a private address, in the socket look-up', async () => {
    const out = await post('http://hooks.internal.example/', {
      policy: none,
      resolve: async () => [{ address: '10.0.0.5', family: 4 }],
    });
    expect(out.ok).toBe(false);
    expect(out.error).toMatch(/10\.0\.0\.5 refused \(private\)/);
    expect(out.refused).toBe(true);
  });

  it('closes the DNS-rebinding gap: public at registration, loopback at connect, refused at connect', async () => {
    let answers = 0;
    const rebinding = async () =>
      answers++ === 0 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
    expect(await checkUrlTarget(`http://rebind.example:${port}/ok`, none, rebinding)).toBeNull();
    const before = received.length;
    const out = await post(`http://rebind.example:${port}/ok`, { policy: none, resolve: rebinding });
    expect(out.ok).toBe(false);
    expect(out.error).toMatch(/127\.0\.0\.1 refused \(loopback\)/);
    expect(received.length).toBe(before);
  });

  it('does not follow a redirect: a 302 is a failed attempt', async () => {
    const before = received.filter((u) => u === '/ok').length;
    const out = await post(`http://127.0.0.1:${port}/redirect`);
    expect(out).toMatchObject({ ok: false, statusCode: 302 });
    expect(received.filter((u) => u === '/ok').length).toBe(before);
  });

  it('fails a response larger than the limit', async () => {
    const out = await post(`http://127.0.0.1:${port}/big`);
    expect(out.ok).toBe(false);
    expect(out.error).toMatch(/larger than 1024 bytes/);
  });

  it('fails a response that does not come within the timeout', async () => {
    const out = await post(`http://127.0.0.1:${port}/slow`, {
      limits: { ...limits, responseTimeoutMs: 200 },
    });
    expect(out.ok).toBe(false);
    expect(out.error).toMatch(/no response within 200 ms/);
  });
});
