// Webhooks on for every message vs off, end to end (issue 11: at most 10 % lower).
//
// One default install (embedded PostgreSQL, the simulator) in a child process, as bench/e2e.ts
// starts it, with a receiving server in this process that answers every POST after 50 ms. Phases
// alternate off/on (A/B/A/B…), each a new tenant sending N messages in batches of 10,000 (two in
// flight, as bench/e2e.ts): "off" has no endpoint, "on" has one subscribed to message.status, so
// every message makes two events (sent, delivered). Figures: messages final per second (the core
// benchmark's end-to-end rate), and for "on" the time until the receiver held every message's
// `delivered` event.
//
// Usage: node --import tsx bench/webhooks.ts [--messages N] [--rounds R]   (default 20000, 2)
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { createTenant, phone, startHongyan, waitAllFinal } from './e2e.ts';
import { settle } from './settle.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function post(base: string, route: string, key: string, body: unknown) {
  const res = await fetch(`${base}${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function runWebhooksBench({ messages = 20_000, rounds = 2 } = {}) {
  const delivered = new Map<string, number>();
  let eventsReceived = 0;
  let postsReceived = 0;
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      postsReceived++;
      const events = JSON.parse(body).events as { data: { status: string } }[];
      eventsReceived += events.length;
      const n = events.filter((e) => e.data.status === 'delivered').length;
      delivered.set(req.url ?? '', (delivered.get(req.url ?? '') ?? 0) + n);
      setTimeout(() => res.writeHead(204).end(), 50);
    });
  });
  receiver.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hookBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hongyan-bench-webhooks-'));
  chmodSync(dataDir, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, HONGYAN_WEBHOOK_ALLOW_RANGES: '127.0.0.1/32' };
  delete env.DATABASE_URL;
  console.log(
    `webhooks bench: ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}, ${messages} messages a phase`,
  );
  const { child, url } = await startHongyan(dataDir, env);
  const db = new pg.Pool({
    connectionString: `postgresql://postgres@localhost/hongyan?host=${encodeURIComponent(path.join(dataDir, 'run'))}`,
    max: 2,
  });
  const rates: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const hookLag: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const mode of ['off', 'on'] as const) {
        const tenant = await createTenant(url, dataDir, env, `bench webhooks ${mode} ${round}`);
        // Free text signed 【鸿雁】, whatever `tenant create` grants in this tree.
        await grantSending({ db, tenantId: tenant.id, signatures: ['鸿雁'], freeText: true });
        const hookPath = `/hook/${tenant.id}`;
        if (mode === 'on') {
          const ep = await post(url, '/v1/webhooks/endpoints', tenant.key, {
            url: `${hookBase}${hookPath}`,
            events: ['message.status'],
          });
          if (ep.status !== 201)
            throw new Error(`endpoint answered ${ep.status}: ${JSON.stringify(ep.body)}`);
        }
        await settle({ label: `webhooks ${mode}` });
        const t0 = Date.now();
        const inflight: Promise<void>[] = [];
        for (let offset = 0; offset < messages; offset += 10_000) {
          const n = Math.min(10_000, messages - offset);
          inflight.push(
            post(url, '/v1/batches', tenant.key, {
              content: '【鸿雁】您的订单已发货，单号{code}',
              type: 'notification',
              recipients: Array.from({ length: n }, (_, i) => ({
                to: phone(round * 10_000_000 + offset + i),
                vars: { code: String(offset + i) },
              })),
            }).then((res) => {
              if (res.status !== 202)
                throw new Error(`batch answered ${res.status}: ${JSON.stringify(res.body)}`);
            }),
          );
          if (inflight.length >= 2) await inflight.shift();
        }
        await Promise.all(inflight);
        const tFinal = await waitAllFinal(db, tenant.id, messages, 900_000);
        const rate = (messages / (tFinal - t0)) * 1000;
        rates[mode].push(rate);
        let line = `  ${mode.padEnd(3)} round ${round + 1}: ${rate.toFixed(0)} messages/s end to end`;
        if (mode === 'on') {
          const deadline = Date.now() + 900_000;
          while ((delivered.get(hookPath) ?? 0) < messages && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 20));
          const lag = Date.now() - tFinal;
          hookLag.push(lag);
          line += `; every delivered event at the receiver ${lag} ms after the last message was final (${delivered.get(hookPath) ?? 0}/${messages})`;
        }
        console.log(line);
      }
    }
  } finally {
    await db.end();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
    receiver.closeAllConnections();
    receiver.close();
  }
  const off = median(rates.off);
  const on = median(rates.on);
  console.log('\nresults');
  console.log(`  webhooks off: median ${off.toFixed(0)} messages/s end to end`);
  console.log(
    `  webhooks on (every message, receiver answering in 50 ms): median ${on.toFixed(0)} messages/s`,
  );
  console.log(`  on/off: ${(on / off).toFixed(3)} (issue 11: at least 0.90)`);
  console.log(
    `  receiver: ${postsReceived} POSTs, ${eventsReceived} events; lag after the last final message, median ${median(hookLag)} ms`,
  );
  return { off, on, ratio: on / off };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runWebhooksBench({ messages: arg('--messages', 20_000), rounds: arg('--rounds', 2) });
}
