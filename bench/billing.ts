// Billing on vs HONGYAN_BILLING=off, end to end (issue 9: on at most 10 % below off).
//
// Two default installs (embedded PostgreSQL, the simulator), one started with billing off and one
// with it on, both up for the whole run; phases alternate off/on (A/B/A/B…) and only one sends at
// a time. Each phase is a new tenant (credited far beyond the run) sending N messages in batches
// of 10,000, two in flight, then N/10 single sends from 50 clients, as bench/e2e.ts does; the
// figures are messages final per second for each, their medians and on/off.
//
// Usage: npm run bench -- --billing [--messages N] [--rounds R]   (default 20000, 2)
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { createTenant, phone, startHongyan, waitAllFinal } from './e2e.ts';
import { settle } from './settle.ts';

type Mode = 'off' | 'on';

async function post(base: string, route: string, key: string, body: unknown) {
  const res = await fetch(`${base}${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { accepted?: number } };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function startInstance(mode: Mode) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `hongyan-bench-billing-${mode}-`));
  chmodSync(dataDir, 0o755);
  // Port 0: two installs at once, neither on the customer SMPP server's default port.
  const env: NodeJS.ProcessEnv = { ...process.env, HONGYAN_BILLING: mode, HONGYAN_SMPP_PORT: '0' };
  delete env.DATABASE_URL;
  const { child, url } = await startHongyan(dataDir, env);
  const db = new pg.Pool({
    connectionString: `postgresql://postgres@localhost/hongyan?host=${encodeURIComponent(path.join(dataDir, 'run'))}`,
    max: 2,
  });
  return {
    mode,
    url,
    db,
    dataDir,
    env,
    async stop() {
      await db.end();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
type Instance = Awaited<ReturnType<typeof startInstance>>;

/** A tenant credited far beyond the run, sending free text signed 【鸿雁】. */
async function benchTenant(h: Instance, name: string) {
  const tenant = await createTenant(h.url, h.dataDir, h.env, name);
  await grantSending({ db: h.db, tenantId: tenant.id, signatures: ['鸿雁'], freeText: true });
  return tenant;
}

/** N messages in batches of 10,000, two in flight: messages final per second. */
async function batchesPhase(h: Instance, tenant: { id: number; key: string }, n: number, base: number) {
  await settle({ label: `billing ${h.mode} batches` });
  const t0 = Date.now();
  const inflight: Promise<void>[] = [];
  for (let offset = 0; offset < n; offset += 10_000) {
    const size = Math.min(10_000, n - offset);
    inflight.push(
      post(h.url, '/v1/batches', tenant.key, {
        content: '【鸿雁】您的验证码是{code}，5分钟内有效',
        type: 'notification',
        recipients: Array.from({ length: size }, (_, i) => ({
          to: phone(base + offset + i),
          vars: { code: String((offset + i) % 1_000_000).padStart(6, '0') },
        })),
      }).then((res) => {
        if (res.status !== 202) throw new Error(`batch answered ${res.status}: ${JSON.stringify(res.body)}`);
      }),
    );
    if (inflight.length >= 2) await inflight.shift();
  }
  await Promise.all(inflight);
  return (n / ((await waitAllFinal(h.db, tenant.id, n, 900_000)) - t0)) * 1000;
}

/** N single sends from 50 clients: messages final per second. */
async function singlesPhase(h: Instance, tenant: { id: number; key: string }, n: number, base: number) {
  await settle({ label: `billing ${h.mode} singles` });
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < n) {
        const i = next++;
        const res = await post(h.url, '/v1/messages', tenant.key, {
          to: phone(base + i),
          content: `【鸿雁】您的验证码是${String(i).padStart(6, '0')}`,
          type: 'verification',
        });
        if (res.status !== 202) throw new Error(`single send answered ${res.status}`);
      }
    }),
  );
  return (n / ((await waitAllFinal(h.db, tenant.id, n, 900_000)) - t0)) * 1000;
}

export async function runBillingBench({ messages = 20_000, rounds = 2 } = {}) {
  const singles = Math.max(1, Math.round(messages / 10));
  console.log(
    `billing bench: ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}, ` +
      `${messages} batched + ${singles} single sends a phase, ${rounds} rounds`,
  );
  const off = await startInstance('off');
  const on = await startInstance('on').catch(async (error: unknown) => {
    await off.stop();
    throw error;
  });
  const instances = { off, on };
  const rates = {
    batches: { off: [] as number[], on: [] as number[] },
    singles: { off: [] as number[], on: [] as number[] },
  };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const mode of ['off', 'on'] as const) {
        const h = instances[mode];
        const batchTenant = await benchTenant(h, `bench billing ${mode} ${round}`);
        const b = await batchesPhase(h, batchTenant, messages, round * 10_000_000);
        const singleTenant = await benchTenant(h, `bench billing singles ${mode} ${round}`);
        const s = await singlesPhase(h, singleTenant, singles, 50_000_000 + round * 10_000_000);
        rates.batches[mode].push(b);
        rates.singles[mode].push(s);
        console.log(
          `  billing ${mode.padEnd(3)} round ${round + 1}: batches ${b.toFixed(0)} msg/s, singles ${s.toFixed(0)} msg/s ` +
            `end to end (load ${os.loadavg()[0]!.toFixed(1)})`,
        );
      }
    }
  } finally {
    await instances.off.stop();
    await instances.on.stop();
  }
  console.log('\nresults (medians, messages final per second)');
  for (const path of ['batches', 'singles'] as const) {
    const off = median(rates[path].off);
    const on = median(rates[path].on);
    console.log(
      `  ${path}: billing off ${off.toFixed(0)}, on ${on.toFixed(0)}, on/off ${(on / off).toFixed(3)} (issue 9: at least 0.90)`,
    );
  }
  return rates;
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  await runBillingBench({ messages: arg('--messages', 20_000), rounds: arg('--rounds', 2) });
}
