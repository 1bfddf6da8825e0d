// The HTTP side of the side-by-side benchmark, the same for Kannel and Hongyan: one keep-alive
// agent with 50 sockets, 50 clients that each send their next request as soon as the last one
// is answered, and a small HTTP server that counts Kannel's final delivery reports (dlr-url).
import http from 'node:http';
import { phone } from '../e2e.ts';

export const CLIENTS = 50;

// The same text through both systems: Chinese, so UCS-2 on the wire, one part.
export const content = (i: number) => `【鸿雁】您的验证码是${String(i % 1_000_000).padStart(6, '0')}`;
export const perSecond = (n: number, ms: number) => Math.round((n / ms) * 1000);

export function createAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
}

export function request(
  agent: http.Agent,
  url: URL,
  {
    method = 'GET',
    headers = {},
    body,
  }: { method?: string; headers?: http.OutgoingHttpHeaders; body?: Buffer } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: body ? { ...headers, 'content-length': body.length } : headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export const BATCH_SIZE = 10_000;

/**
 * Sends `messages` recipients (phone(0)…) through POST /v1/batches, BATCH_SIZE a request and two in
 * flight; returns each request's latency, sorted. A batch that accepted fewer than it was given
 * throws: its refused recipients would leave the wait for final messages waiting for ever.
 */
export async function postBatches({
  agent,
  url,
  key,
  messages,
}: {
  agent: http.Agent;
  url: string;
  key: string;
  messages: number;
}): Promise<number[]> {
  const latencies: number[] = [];
  const inflight: Promise<void>[] = [];
  for (let offset = 0; offset < messages; offset += BATCH_SIZE) {
    const recipients = Array.from({ length: Math.min(BATCH_SIZE, messages - offset) }, (_, i) => ({
      to: phone(offset + i),
      vars: { code: String((offset + i) % 1_000_000).padStart(6, '0') },
    }));
    const start = performance.now();
    const sent = request(agent, new URL('/v1/batches', url), {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: Buffer.from(
        JSON.stringify({ content: '【鸿雁】您的验证码是{code}', type: 'notification', recipients }),
      ),
    }).then((res) => {
      if (res.status !== 202) throw new Error(`/v1/batches answered ${res.status}: ${res.text}`);
      const accepted = (JSON.parse(res.text) as { accepted: number }).accepted;
      if (accepted !== recipients.length)
        throw new Error(
          `/v1/batches accepted ${accepted} of ${recipients.length}: ${res.text.slice(0, 500)}`,
        );
      latencies.push(performance.now() - start);
    });
    sent.catch(() => {}); // awaited below; a failure while another is awaited must not crash the run
    inflight.push(sent);
    if (inflight.length >= 2) await inflight.shift();
  }
  await Promise.all(inflight);
  return latencies.sort((a, b) => a - b);
}

// Runs `send(i)` for i in [0, total) from `clients` concurrent loops; returns each call's latency.
export async function runClients({
  total,
  clients = CLIENTS,
  send,
}: {
  total: number;
  clients?: number;
  send: (i: number) => Promise<void>;
}): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const i = next++;
        const start = performance.now();
        await send(i);
        latencies.push(performance.now() - start);
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// Kannel DLR types (the %d of dlr-url): 1 delivered, 2 undelivered, 16 rejected by the SMSC are
// final; 4 (buffered) and 8 (taken by the SMSC) are not, and dlr-mask=19 does not ask for them.
const FINAL_DLR_TYPES = new Set(['1', '2', '16']);

export interface ReceiptCounter {
  /** dlr-url to give Kannel, with `?i=<message>&t=%d&f=%F` appended. */
  url: string;
  /** The first final report of each message: its DLR type and the SMSC's id Kannel matched it by. */
  finals: ReadonlyMap<string, { type: string; smscId: string }>;
  // Resolves with the time (Date.now()) the `expected`-th distinct message got its final report.
  allFinal: (expected: number, stallMs?: number) => Promise<number>;
  close: () => Promise<void>;
}

export async function startReceiptCounter(): Promise<ReceiptCounter> {
  const finals = new Map<string, { type: string; smscId: string }>();
  let lastFinalAt = 0;
  let onFinal: (() => void) | null = null;
  const server = http.createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const id = query.get('i');
    const type = query.get('t') ?? '';
    if (id !== null && FINAL_DLR_TYPES.has(type) && !finals.has(id)) {
      finals.set(id, { type, smscId: query.get('f') ?? '' });
      lastFinalAt = Date.now();
      onFinal?.();
    }
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/dlr`,
    finals,
    allFinal: (expected, stallMs = 60_000) =>
      new Promise((resolve, reject) => {
        let seen = finals.size;
        const check = () => {
          if (finals.size < expected) return;
          clearInterval(watchdog);
          onFinal = null;
          resolve(lastFinalAt);
        };
        // A run that stops making progress fails with the count instead of waiting forever.
        const watchdog = setInterval(() => {
          if (finals.size === seen) {
            clearInterval(watchdog);
            onFinal = null;
            reject(new Error(`only ${finals.size}/${expected} final reports, none for ${stallMs} ms`));
          }
          seen = finals.size;
        }, stallMs);
        onFinal = check;
        check();
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
