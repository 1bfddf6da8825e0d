// Submits per second into Hongyan's customer SMPP server, with the npm `smpp` package as the
// customer's ESME (not our own stack), and the time until every message's receipt came back.
//
// One default install (embedded PostgreSQL, the simulator) in a child process, as bench/e2e.ts
// starts it. A tenant with an SMPP account (no TPS cap, a window of 10,000) binds `--binds`
// transceivers and keeps `--window` submit_sm outstanding on each, registered_delivery 1, until N
// are accepted. Figures: accepted submits/s (first submit to the N-th submit_sm_resp), the
// submit_sm_resp latency p50/p99, and receipts/s end to end (first submit to the N-th receipt
// deliver_sm at the client).
//
// Usage: npm run bench -- --smpp-server [--messages N]   (default 20,000; 2 binds, window 100)
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { NpmEsme, ucs2 } from '../src/modules/smpp-server/npm-esme.testkit.ts';
import { createTenant, startHongyan } from './e2e.ts';
import { freePort } from './hongyan-child.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function sendOnBind(esme: NpmEsme, from: number, count: number, window: number, latencies: number[]) {
  let next = 0;
  let refused = 0;
  const worker = async () => {
    while (next < count) {
      const i = from + next++;
      const started = performance.now();
      const resp = await esme.submit({
        source_addr: '10690000',
        destination_addr: `138${String(i % 100_000_000).padStart(8, '0')}`,
        data_coding: 8,
        short_message: ucs2(`【鸿雁】SMPP 压测 ${i}`),
      });
      latencies.push(performance.now() - started);
      if (resp.command_status !== 0) {
        refused++;
        next--; // sent again: N accepted is the target
      }
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return refused;
}

export async function runSmppServerBench({ messages }: { messages?: number | undefined } = {}) {
  const total = messages ?? arg('--messages', 20_000);
  const binds = arg('--binds', 2);
  const window = arg('--window', 100);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hongyan-bench-smpp-server-'));
  chmodSync(dataDir, 0o755);
  const smppPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HONGYAN_SMPP_PORT: String(smppPort),
    HONGYAN_SMPP_OUTBOX_POLL_MS: '200',
  };
  delete env.DATABASE_URL; // the default install: embedded PostgreSQL
  console.log(
    `smpp-server bench: ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}, ${total} messages, ${binds} binds × window ${window}`,
  );
  const { child, url } = await startHongyan(dataDir, env);
  const db = new pg.Pool({
    connectionString: `postgresql://postgres@localhost/hongyan?host=${encodeURIComponent(path.join(dataDir, 'run'))}`,
    max: 2,
  });
  const esmes: NpmEsme[] = [];
  try {
    const tenant = await createTenant(url, dataDir, env, 'bench smpp');
    await grantSending({ db, tenantId: tenant.id, signatures: ['鸿雁'], freeText: true });
    const res = await fetch(`${url}/v1/smpp-accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tps: 1_000_000, window: 10_000 }),
    });
    const { account, password } = (await res.json()) as { account: { system_id: string }; password: string };
    for (let b = 0; b < binds; b++) {
      const esme = await NpmEsme.connect(smppPort);
      const bound = await esme.bind('transceiver', account.system_id, password);
      if (bound.command_status !== 0) throw new Error(`bind refused: ${bound.command_status}`);
      esmes.push(esme);
    }
    const latencies: number[] = [];
    const perBind = Math.ceil(total / binds);
    const started = performance.now();
    const refused = await Promise.all(
      esmes.map((esme, b) =>
        sendOnBind(esme, b * perBind, Math.min(perBind, total - b * perBind), window, latencies),
      ),
    );
    const submitted = performance.now();
    const receipts = () =>
      esmes.reduce((n, e) => n + e.delivered.filter((d) => d.kind === 'receipt').length, 0);
    const deadline = Date.now() + 600_000;
    while (receipts() < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const receipted = performance.now();
    latencies.sort((a, b) => a - b);
    const seconds = (submitted - started) / 1000;
    console.log(
      `accepted submits/s:   ${(total / seconds).toFixed(0)} (${total} in ${seconds.toFixed(1)} s)`,
    );
    console.log(
      `submit_sm_resp ms:    p50 ${percentile(latencies, 50).toFixed(1)}, p99 ${percentile(latencies, 99).toFixed(1)}`,
    );
    console.log(`refused (resent):     ${refused.reduce((a, b) => a + b, 0)}`);
    console.log(
      `receipts/s end to end: ${(receipts() / ((receipted - started) / 1000)).toFixed(0)} (${receipts()}/${total} receipts in ${((receipted - started) / 1000).toFixed(1)} s)`,
    );
  } finally {
    await Promise.all(esmes.map((e) => e.close().catch(() => {})));
    await db.end();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runSmppServerBench();
}
