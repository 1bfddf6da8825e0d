// A real `hongyan start` in a child process, and the HTTP client that drives it: shared by the
// external-SMSC tests and the carrier benchmark, so that both measure the product as it runs
// (its own event loop, on its own core) and not a copy wired up inside the test process.
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface HongyanChild {
  child: ChildProcess;
  url: string;
  key: string;
  tenantId: number;
  /** Its JSON log lines on stdout (warn and above by default), oldest first, at most 10,000. */
  logs: { level: number; msg: string; [key: string]: unknown }[];
  /** SIGTERM, then wait for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (for a restart that must keep its address). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts `hongyan start --json`. On a fresh database it resolves on the welcome line (the first
 * tenant's API key); with `welcome: false` (a restart) it resolves once GET /healthz answers on
 * `httpPort`, and `key`/`tenantId` are empty. `env` is added to this process's environment.
 */
export async function startHongyanChild({
  env,
  roles = 'api,worker',
  stderr = 'inherit',
  welcome = true,
  httpPort = 0,
}: {
  env: Record<string, string>;
  roles?: string;
  stderr?: 'inherit' | 'ignore';
  welcome?: boolean;
  httpPort?: number;
}): Promise<HongyanChild> {
  // BENCH_CPU_PROF=<dir>: the child writes a V8 CPU profile there when it exits (read it with
  // bench/cpu-profile.ts), to see where a bench's CPU goes.
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`]
    : [];
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=64',
      ...profile,
      path.join(ROOT, 'bin/hongyan.js'),
      'start',
      '--json',
      '--roles',
      roles,
    ],
    {
      cwd: ROOT,
      // No web console: a bench measures the API, and building the console would only delay it.
      env: {
        ...process.env,
        HONGYAN_HTTP_PORT: String(httpPort),
        HONGYAN_LOG_LEVEL: 'warn',
        HONGYAN_CONSOLE: 'off',
        ...env,
      },
      stdio: ['ignore', 'pipe', stderr],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 20_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  let buffer = '';
  const logs: HongyanChild['logs'] = [];
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`hongyan exited early with ${code}`));
    child.once('exit', onExit);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('{"level":') && logs.length < 10_000) logs.push(JSON.parse(line));
        if (!welcome || !line.startsWith('{') || !line.includes('"api_key"')) continue;
        const first = JSON.parse(line) as { http: string; api_key: string; tenant: { id: number } };
        // The first tenant's 10,000 demo parts do not cover a run: credit it as an operator would.
        creditTenant({ ...process.env, HONGYAN_LOG_LEVEL: 'warn', ...env }, first.tenant.id).then(
          () => {
            child.off('exit', onExit);
            resolve({ child, url: first.http, key: first.api_key, tenantId: first.tenant.id, logs, stop });
          },
          (error: unknown) => {
            child.off('exit', onExit);
            void stop().then(() => reject(error));
          },
        );
      }
    });
    if (welcome) return;
    const url = `http://127.0.0.1:${httpPort}`;
    const poll = () => {
      if (child.exitCode !== null) return;
      http
        .get(`${url}/healthz`, (res) => {
          res.resume();
          if (res.statusCode !== 200) return void setTimeout(poll, 100);
          child.off('exit', onExit);
          resolve({ child, url, key: '', tenantId: 0, logs, stop });
        })
        .on('error', () => setTimeout(poll, 100));
    };
    poll();
  });
}

/** `hongyan billing credit` on the child's database: enough quota that no run runs out. */
function creditTenant(env: NodeJS.ProcessEnv, tenantId: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      process.execPath,
      [
        path.join(ROOT, 'bin/hongyan.js'),
        'billing',
        'credit',
        '--tenant',
        String(tenantId),
        '--parts',
        '1000000000',
      ],
      { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`billing credit exited ${code}`))));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function request(
  base: string,
  method: string,
  route: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(route, base),
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Sends `count` single messages over POST /v1/messages from `clients` concurrent clients. */
export async function sendSingles({
  url,
  key,
  count,
  clients = 50,
  message,
}: {
  url: string;
  key: string;
  count: number;
  clients?: number;
  message: (i: number) => Record<string, unknown>;
}): Promise<{ latenciesMs: number[] }> {
  const latenciesMs: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) {
        const i = next++;
        const start = performance.now();
        const res = await request(url, 'POST', '/v1/messages', key, message(i));
        latenciesMs.push(performance.now() - start);
        if (res.status !== 202)
          throw new Error(`single send answered ${res.status}: ${JSON.stringify(res.body)}`);
      }
    }),
  );
  return { latenciesMs };
}

/** Sends recipients through POST /v1/batches, `batchSize` at a time, two requests in flight. */
export async function sendBatches({
  url,
  key,
  recipients,
  content,
  type = 'notification',
  batchSize = 10_000,
}: {
  url: string;
  key: string;
  recipients: { to: string; vars?: Record<string, string> }[];
  content: string;
  type?: string;
  batchSize?: number;
}): Promise<string[]> {
  const ids: string[] = [];
  const inflight: Promise<void>[] = [];
  for (let offset = 0; offset < recipients.length; offset += batchSize) {
    const slice = recipients.slice(offset, offset + batchSize);
    inflight.push(
      request(url, 'POST', '/v1/batches', key, { content, type, recipients: slice }).then((res) => {
        if (res.status !== 202) throw new Error(`batch answered ${res.status}: ${JSON.stringify(res.body)}`);
        ids.push(String(res.body.id));
      }),
    );
    if (inflight.length >= 2) await inflight.shift();
  }
  await Promise.all(inflight);
  return ids;
}
