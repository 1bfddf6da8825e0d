// Routing's cost (issue 10: routing adds no more than 5 % to the core benchmark's end-to-end time).
//
// Two measurements:
// - per decision: the CPU cost of routing one claimed message (chooseChannel), the only work
//   routing adds to the hot path (the claim, submit and receipt statements are unchanged), for a
//   few table shapes. Compare with the pipeline's CPU per message (docs/architecture.md: ~340 µs
//   of Hongyan CPU per message end to end, 2 cores).
// - end to end: two default installs (embedded PostgreSQL, the built-in simulator), both up for
//   the whole run. "plain" is the core benchmark's install: one channel, no route table. "routed"
//   has a second channel to the simulator (its own system id, so each gets its own receipts) and a
//   route table of several rules (tenant, type, carrier, signature) whose last rule spreads every
//   message over both channels 1:1, so each message is judged against every rule before it is
//   routed. Phases alternate plain/routed (A/B/A/B…) and only one install sends at a time; each
//   phase is a new tenant sending N messages in batches of 10,000, two in flight. Printed: messages
//   final per second of each phase and the channels that carried it, the medians and routed/plain.
//   The routed install also has two binds' windows where plain has one; against the simulator
//   the window is rarely what limits a 2-core machine (the CPU is), but read a ratio above 1 so.
//
// Usage: npm run bench -- --routing [--messages N]   (end to end, default 20,000 a phase, 2 rounds)
//        node --import tsx bench/routing.ts [--e2e] [--messages N] [--rounds R]
//                                                    (per decision; with --e2e, end to end)
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb } from '../src/db/pool.ts';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { createRoutingRepository } from '../src/modules/routing/routing.repository.ts';
import { createTenant, phone, startHongyan, waitAllFinal } from './e2e.ts';
import { settle } from './settle.ts';
import {
  type ChannelHealth,
  chooseChannel,
  newSpreadState,
  type RouteRule,
  type RoutingChannel,
} from '../src/modules/routing/routing.models.ts';

const channel = (id: number): RoutingChannel => ({
  id,
  name: `c${id}`,
  enabled: true,
  carriers: ['cmcc', 'cucc', 'ctcc', 'cbn', 'intl'],
  messageTypes: ['verification', 'notification', 'marketing'],
  weight: id,
});

function measure(label: string, rules: RouteRule[], channelCount: number, n = 1_000_000) {
  const channels = new Map(Array.from({ length: channelCount }, (_, i) => [i + 1, channel(i + 1)]));
  const health = new Map<number, ChannelHealth>([...channels.keys()].map((id) => [id, { bound: true }]));
  const spread = newSpreadState();
  const prefixes = ['139', '186', '189', '170', '192', '135'];
  const overrides = new Map([['+8613900000007', 'ctcc' as const]]);
  const messages = Array.from({ length: 1024 }, (_, i) => ({
    tenantId: (i % 20) + 1,
    type: (['verification', 'notification', 'marketing'] as const)[i % 3]!,
    recipient: `+86${prefixes[i % prefixes.length]}${String(i).padStart(8, '0')}`,
    content: '【鸿雁】您的验证码是123456，5分钟内有效',
  }));
  let sink = 0;
  for (let i = 0; i < 100_000; i++)
    sink += chooseChannel(messages[i & 1023]!, { rules, overrides }, channels, health, spread).kind.length;
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++)
    sink += chooseChannel(messages[i & 1023]!, { rules, overrides }, channels, health, spread).kind.length;
  const cpu = process.cpuUsage(t0);
  console.log(
    `${label}: ${(((cpu.user + cpu.system) / n) * 1).toFixed(2)} µs CPU per decision (${n} decisions, sink ${sink % 7})`,
  );
}

const rule = (id: number, fields: Partial<RouteRule>, members: number[]): RouteRule => ({
  id,
  position: id,
  tenantId: null,
  messageType: null,
  carrier: null,
  countryPrefix: null,
  signature: null,
  channels: members.map((m, i) => ({ channelId: m, tier: i < 2 ? 1 : 2, weight: m })),
  ...fields,
});

/** CPU per routing decision for a few table shapes. */
export function runDecisionBench(): void {
  measure('no route table, 2 channels', [], 2);
  measure('no route table, 8 channels', [], 8);
  measure(
    '20 rules (tenant, type, carrier, signature), 4 channels',
    [
      ...Array.from({ length: 16 }, (_, i) => rule(i + 1, { tenantId: 100 + i }, [1, 2])),
      rule(17, { messageType: 'marketing', signature: '其他' }, [3]),
      rule(18, { carrier: 'ctcc' }, [3, 4, 1]),
      rule(19, { carrier: 'cucc' }, [2, 4]),
      rule(20, {}, [1, 2, 3]),
    ],
    4,
  );
}

type Mode = 'plain' | 'routed';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function startInstance(mode: Mode) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `hongyan-bench-routing-${mode}-`));
  chmodSync(dataDir, 0o755);
  // Port 0: two installs at once, neither on the customer SMPP server's default port.
  const env: NodeJS.ProcessEnv = { ...process.env, HONGYAN_SMPP_PORT: '0' };
  delete env.DATABASE_URL;
  const { child, url } = await startHongyan(dataDir, env);
  const connectionString = `postgresql://postgres@localhost/hongyan?host=${encodeURIComponent(path.join(dataDir, 'run'))}`;
  const db = new pg.Pool({ connectionString, max: 2 });
  if (mode === 'routed') await addRouting(connectionString, db);
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

/**
 * A second channel to the same simulator and a route table of several rules, the last of which
 * carries everything over both channels 1:1; returns once the worker has bound the new channel.
 */
async function addRouting(connectionString: string, pool: pg.Pool) {
  const added = await pool.query<{ id: number }>(
    `insert into channels (name, host, port, system_id, password, system_type, bind_mode, window_size,
                           max_tps, source_addr, id_convention, is_default)
     select 'simulator-2', host, port, system_id || '2', password, system_type, bind_mode, window_size,
            max_tps, source_addr, id_convention, false
       from channels where name = 'simulator'
     returning id`,
  );
  if (added.rowCount !== 1) throw new Error('routing bench: the install has no "simulator" channel');
  const db = createDb({ connectionString, max: 1 });
  try {
    const routes = createRoutingRepository(db.kysely);
    // Rules that match none of the bench's messages (other tenants, marketing, other networks,
    // another signature), then the one that carries them: every message is judged against each.
    const tenants = await pool.query<{ id: number }>('select id from tenants order by id limit 1');
    const other = tenants.rows[0]!.id;
    await routes.addRoute({ tenantId: other, channels: [{ channel: 'simulator' }] });
    await routes.addRoute({ messageType: 'marketing', channels: [{ channel: 'simulator-2' }] });
    await routes.addRoute({
      carrier: 'ctcc',
      channels: [{ channel: 'simulator' }, { channel: 'simulator-2' }],
    });
    await routes.addRoute({ carrier: 'cucc', channels: [{ channel: 'simulator-2' }] });
    await routes.addRoute({ signature: '其他签名', channels: [{ channel: 'simulator' }] });
    await routes.addRoute({ countryPrefix: '852', channels: [{ channel: 'simulator-2' }] });
    await routes.addRoute({
      carrier: 'cmcc',
      channels: [
        { channel: 'simulator', weight: 1 },
        { channel: 'simulator-2', weight: 1 },
      ],
    });
  } finally {
    await db.close();
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const bound = await pool.query('select 1 from channel_bind_leases where channel_id = $1', [
      added.rows[0]!.id,
    ]);
    if ((bound.rowCount ?? 0) > 0) break;
    if (Date.now() > deadline) throw new Error('routing bench: the second channel was not bound within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** N messages in batches of 10,000, two in flight: messages final per second. */
async function batchesPhase(h: Instance, name: string, n: number, base: number) {
  const tenant = await createTenant(h.url, h.dataDir, h.env, name);
  await grantSending({ db: h.db, tenantId: tenant.id, signatures: ['鸿雁'], freeText: true });
  await settle({ label: name });
  const t0 = Date.now();
  const inflight: Promise<void>[] = [];
  for (let offset = 0; offset < n; offset += 10_000) {
    const size = Math.min(10_000, n - offset);
    inflight.push(
      fetch(`${h.url}/v1/batches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          content: '【鸿雁】您的验证码是{code}，5分钟内有效',
          type: 'notification',
          recipients: Array.from({ length: size }, (_, i) => ({
            to: phone(base + offset + i),
            vars: { code: String((offset + i) % 1_000_000).padStart(6, '0') },
          })),
        }),
      }).then(async (res) => {
        if (res.status !== 202) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
      }),
    );
    if (inflight.length >= 2) await inflight.shift();
  }
  await Promise.all(inflight);
  const rate = (n / ((await waitAllFinal(h.db, tenant.id, n, 900_000)) - t0)) * 1000;
  // Which channels carried the phase (routed: both, by the last rule; plain: the one).
  const carried = await h.db.query<{ name: string | null; n: number }>(
    `select c.name, count(*)::int as n from messages m left join channels c on c.id = m.channel_id
      where m.tenant_id = $1 group by c.name order by c.name`,
    [tenant.id],
  );
  return { rate, carried: carried.rows.map((r) => `${r.name ?? 'none'} ${r.n}`).join(', ') };
}

export async function runRoutingBench({ messages = 20_000, rounds = 2 } = {}) {
  console.log(
    `routing bench: ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}, ` +
      `${messages} batched messages a phase, ${rounds} rounds`,
  );
  runDecisionBench();
  const plain = await startInstance('plain');
  const routed = await startInstance('routed').catch(async (error: unknown) => {
    await plain.stop();
    throw error;
  });
  const instances = { plain, routed };
  const rates = { plain: [] as number[], routed: [] as number[] };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const mode of ['plain', 'routed'] as const) {
        const { rate, carried } = await batchesPhase(
          instances[mode],
          `bench routing ${mode} ${round}`,
          messages,
          round * 10_000_000,
        );
        rates[mode].push(rate);
        console.log(
          `  ${mode.padEnd(6)} round ${round + 1}: ${rate.toFixed(0)} msg/s end to end, carried by ${carried} (load ${os.loadavg()[0]!.toFixed(1)})`,
        );
      }
    }
  } finally {
    await plain.stop();
    await routed.stop();
  }
  const a = median(rates.plain);
  const b = median(rates.routed);
  console.log(
    `\nresults (medians, messages final per second): plain ${a.toFixed(0)}, routed ${b.toFixed(0)}, ` +
      `routed/plain ${(b / a).toFixed(3)} (issue 10: routing adds at most 5 % to the time, i.e. at least 0.952)`,
  );
  return rates;
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  if (process.argv.includes('--e2e'))
    await runRoutingBench({ messages: arg('--messages', 20_000), rounds: arg('--rounds', 2) });
  else runDecisionBench();
}
