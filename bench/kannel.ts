// Side-by-side benchmark against Kannel (`npm run bench -- --kannel [--messages N]`): both systems
// in one run, through the same independent SMSC (bench/npm-smsc.ts on the npm smpp package, in
// its own process, alphanumeric message ids), driven by the same HTTP client (keep-alive, 50
// connections, 50 clients). The phases run one after the other, so they never share the CPU:
//
//   1. Kannel (the Debian package): sendsms → SMPP → receipts back through dlr-url, end to end,
//      without its store and then with its spool store (KANNEL_BENCH_STORE=off|on: one only);
//   2. Hongyan single sends (POST /v1/messages), end to end until every message is final;
//   3. Hongyan batches (POST /v1/batches, 10,000 a request), accepted/s and end to end.
//
// Prints each figure, each process's CPU per message, and Hongyan's ratios to the faster Kannel
// of the round (targets: singles ≥ 1.2×, batches ≥ 2.5×).
// With --rounds R (default 1) the phases run R times in turn (a fresh Kannel and a fresh
// Hongyan each round), after an unmeasured Kannel run of up to 5,000 messages that warms the SMSC
// and the dlr-url server; each round printed, then the medians and the ratios of the medians: on
// a machine whose speed drifts, a figure moves between runs minutes apart.
// Without Kannel installed it says how to install it and measures Hongyan alone. Kannel, Hongyan,
// the SMSC and the temp folders are stopped and removed on exit and on Ctrl-C.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCleanup } from './kannel/cleanup.ts';
import { findKannel, KANNEL_INSTALL_HINT } from './kannel/gateway.ts';
import { type HongyanFigures, measureHongyan, relaxations } from './kannel/hongyan-phase.ts';
import { CLIENTS, createAgent } from './kannel/http-load.ts';
import { formatCpu } from './kannel/cpu.ts';
import { type KannelFigures, measureKannel } from './kannel/kannel-phase.ts';
import { startSmscProcess } from './kannel/smsc.ts';

const TARGETS = { singles: 1.2, batches: 2.5 };

// Kannel is measured without its store (its default) and with its spool store, a file per message
// under the temp folder, in turn each round; the ratios are to the faster of the two. The spool's
// speed is the file system's: on this machine's ext4, creating and deleting tens of thousands of
// files a minute sent bearerbox into the kernel's inode allocator (perf: find_get_block_common,
// recently_deleted, find_inode_bit, 60 % of its samples) and its CPU per message from ~450 µs to
// 660–2,100 µs, changing from round to round; the same spool on tmpfs ran at 390–430 µs.
// KANNEL_BENCH_STORE=off or =on measures one of the two only.
function kannelModes(): boolean[] {
  const mode = process.env.KANNEL_BENCH_STORE ?? 'both';
  if (mode === 'both') return [false, true];
  if (mode === 'off' || mode === 'on') return [mode === 'on'];
  throw new Error(`KANNEL_BENCH_STORE: off, on or both, not ${JSON.stringify(mode)}`);
}
const storeName = (store: boolean) => (store ? 'spool store' : 'no store');

/** The Kannel figure the targets are measured against: the faster of the round's. */
function reference(kannels: KannelFigures[]): KannelFigures | undefined {
  return kannels.reduce<KannelFigures | undefined>(
    (best, k) => (best && best.e2e >= k.e2e ? best : k),
    undefined,
  );
}

// A resend (or a lost submit) would make the figures incomparable: say so beside them.
function submitted(submits: number, messages: number): string {
  return submits === messages
    ? `SMSC got ${submits} submits`
    : `SMSC got ${submits} submits, NOT ${messages}`;
}

function ratio(value: number, kannel: number | undefined, target: number): string {
  if (kannel === undefined) return '';
  const r = value / kannel;
  return `  ${r.toFixed(2)}× Kannel (target ≥ ${target}×: ${r >= target ? 'met' : 'NOT met'})`;
}

function printFigures(messages: number, kannels: KannelFigures[], { single, batch }: HongyanFigures) {
  const kannel = reference(kannels);
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  console.log(
    `hongyan singles: accepted ${single.accepted}/s (p50 ${ms(single.p50)}, p99 ${ms(single.p99)}); ` +
      `end to end ${single.e2e} messages/s; ${submitted(single.submits, messages)}`,
  );
  console.log(`  ${formatCpu('Hongyan and its PostgreSQL', single.cpu)}`);
  console.log(
    `hongyan batches: accepted ${batch.accepted}/s; end to end ${batch.e2e} messages/s; ` +
      submitted(batch.submits, messages),
  );
  console.log(`  ${formatCpu('Hongyan and its PostgreSQL', batch.cpu)}`);
  console.log(`\nside by side (${messages} messages each, end to end: every message final)`);
  for (const k of kannels) {
    const mark = kannels.length > 1 && k === kannel ? ' (the faster: ratios are to it)' : '';
    console.log(`  Kannel sendsms → dlr-url     ${k.e2e} messages/s, ${storeName(k.store)}${mark}`);
  }
  if (!kannel) console.log('  Kannel                       not measured (see above)');
  console.log(
    `  Hongyan POST /v1/messages    ${single.e2e} messages/s${ratio(single.e2e, kannel?.e2e, TARGETS.singles)}`,
  );
  console.log(
    `  Hongyan POST /v1/batches     ${batch.e2e} messages/s${ratio(batch.e2e, kannel?.e2e, TARGETS.batches)}`,
  );
  // The work each gateway did per message, whatever share of the machine it had in its phase.
  const gateway = [
    ...kannels.map((k) => `Kannel ${storeName(k.store)} ${k.cpu.gateway}`),
    `singles ${single.cpu.gateway}`,
    `batches ${batch.cpu.gateway}`,
  ];
  console.log(`  gateway CPU per message (µs): ${gateway.join(', ')}`);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
};

export async function runKannelBench({
  messages = 50_000,
  rounds = 1,
}: { messages?: number; rounds?: number } = {}) {
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error('--rounds: an integer 1..50');
  const relaxed = relaxations().join(', '); // before anything is started: a bad value throws
  const cleanup = createCleanup();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hongyan-kannel-bench-'));
  chmodSync(tmp, 0o755); // the embedded PostgreSQL may run as another account
  cleanup.add(() => rmSync(tmp, { recursive: true, force: true }));
  const agent = createAgent();
  cleanup.add(() => agent.destroy());
  console.log(
    `hongyan bench --kannel: ${messages} messages per system, ${CLIENTS} keep-alive connections, ` +
      `${os.cpus().length} cores, node ${process.version}, temp ${tmp}` +
      (rounds > 1 ? `, ${rounds} rounds` : ''),
  );
  if (relaxed) console.log(`Hongyan with ${relaxed}: an upper bound, not Hongyan as it ships`);
  try {
    const smsc = await startSmscProcess(cleanup);
    const binaries = findKannel();
    if (binaries === null) console.log(KANNEL_INSTALL_HINT);
    if (binaries !== null && rounds > 1) {
      // Kannel goes first in each round: unwarmed, the SMSC process and this process's dlr-url
      // server (JIT, buffers) made round 1's Kannel figure the lowest (1,294/s against 1,762 and
      // 2,563 in rounds 2 and 3 of one run, while Hongyan's singles held 1,465–1,541).
      const warm = createCleanup();
      cleanup.add(() => warm.run());
      const n = Math.min(messages, 5_000);
      try {
        const w = await measureKannel({
          binaries,
          dir: path.join(tmp, 'kannel-warm-up'),
          smsc,
          messages: n,
          agent,
          cleanup: warm,
          store: kannelModes()[0]!,
        });
        console.log(`warm-up (not counted): Kannel ${n} messages, ${w.e2e} messages/s end to end`);
      } catch (error) {
        console.log(`warm-up: Kannel failed: ${error instanceof Error ? error.message : error}`);
      }
      await warm.run();
    }
    const modes = kannelModes();
    const results: { kannels: KannelFigures[]; hongyan: HongyanFigures }[] = [];
    for (let round = 1; round <= rounds; round++) {
      if (rounds > 1) console.log(`\n-- round ${round} of ${rounds}`);
      // What a round starts (Hongyan, its PostgreSQL, Kannel) stops when the round ends: a Hongyan
      // of an earlier round still bound to the SMSC would take the next one's receipts and CPU.
      const roundCleanup = createCleanup();
      cleanup.add(() => roundCleanup.run());
      const load = [os.loadavg()[0]!];
      const kannels: KannelFigures[] = [];
      for (const store of binaries === null ? [] : modes) {
        try {
          const kannel = await measureKannel({
            binaries: binaries!,
            dir: path.join(tmp, `kannel-${round}-${store ? 'store' : 'nostore'}`),
            smsc,
            messages,
            agent,
            cleanup: roundCleanup,
            store,
          });
          kannels.push(kannel);
          console.log(
            `kannel ${kannel.version}, ${storeName(store)}: sendsms accepted ${kannel.accepted}/s ` +
              `(p50 ${kannel.p50.toFixed(1)} ms, p99 ${kannel.p99.toFixed(1)} ms); ` +
              `end to end ${kannel.e2e} messages/s; ${submitted(kannel.submits, messages)}`,
          );
          console.log(`  ${formatCpu('bearerbox and smsbox', kannel.cpu)}`);
        } catch (error) {
          // A broken Kannel install must not cost the Hongyan figures of the same run.
          console.log(
            `kannel, ${storeName(store)}: FAILED: ${error instanceof Error ? error.message : error}`,
          );
        }
      }
      load.push(os.loadavg()[0]!);
      const hongyan = await measureHongyan({
        dataDir: path.join(tmp, `hongyan-${round}`),
        smsc,
        messages,
        agent,
        cleanup: roundCleanup,
      });
      await roundCleanup.run();
      load.push(os.loadavg()[0]!);
      printFigures(messages, kannels, hongyan);
      // Other work on the machine slows one phase more than another: the reader can tell from this.
      const [beforeKannel, beforeHongyan, atEnd] = load.map((l) => l.toFixed(1));
      console.log(
        `  load average (1 min): ${beforeKannel} before Kannel, ${beforeHongyan} before Hongyan, ` +
          `${atEnd} at the end, on ${os.cpus().length} cores`,
      );
      results.push({ kannels, hongyan });
    }
    if (rounds > 1) {
      const list = (values: number[]) => values.join(', ');
      const of = <T>(pick: (r: (typeof results)[number]) => T | undefined): T[] =>
        results.flatMap((r) => {
          const v = pick(r);
          return v === undefined ? [] : [v];
        });
      const kannelOf = (r: (typeof results)[number], store: boolean) =>
        r.kannels.find((x) => x.store === store);
      const refs = of((r) => reference(r.kannels)?.e2e);
      const k = refs.length > 0 ? median(refs) : undefined;
      const singles = median(results.map((r) => r.hongyan.single.e2e));
      const batches = median(results.map((r) => r.hongyan.batch.e2e));
      console.log(`\nmedians of ${rounds} rounds (end to end, messages/s)`);
      if (relaxed) console.log(`  Hongyan with ${relaxed}: an upper bound`);
      for (const store of binaries === null ? [] : modes) {
        const values = of((r) => kannelOf(r, store)?.e2e);
        if (values.length > 0)
          console.log(`  Kannel, ${storeName(store).padEnd(20)} ${median(values)}  (${list(values)})`);
      }
      if (k !== undefined && modes.length > 1)
        console.log(`  Kannel, the faster of a round  ${k}  (${list(refs)}): ratios are to it`);
      console.log(
        `  Hongyan POST /v1/messages    ${singles}${ratio(singles, k, TARGETS.singles)}  ` +
          `(${list(results.map((r) => r.hongyan.single.e2e))})`,
      );
      console.log(
        `  Hongyan POST /v1/batches     ${batches}${ratio(batches, k, TARGETS.batches)}  ` +
          `(${list(results.map((r) => r.hongyan.batch.e2e))})`,
      );
      const cpuLine = [
        ...(binaries === null ? [] : modes).map(
          (store) => [`Kannel ${storeName(store)}`, of((r) => kannelOf(r, store)?.cpu.gateway)] as const,
        ),
        ['singles', of((r) => r.hongyan.single.cpu.gateway)] as const,
        ['batches', of((r) => r.hongyan.batch.cpu.gateway)] as const,
      ]
        .filter(([, values]) => values.length > 0)
        .map(([name, values]) => `${name} ${median(values)} (${list(values)})`);
      console.log(`  gateway CPU per message, µs: ${cpuLine.join('; ')}`);
      if (k !== undefined) {
        const per = (pick: (h: HongyanFigures) => number) =>
          of((r) => {
            const ref = reference(r.kannels);
            return ref ? (pick(r.hongyan) / ref.e2e).toFixed(2) : undefined;
          }).join(', ');
        console.log(
          `  ratios per round: singles ${per((h) => h.single.e2e)}; batches ${per((h) => h.batch.e2e)}`,
        );
      }
    }
    return results[results.length - 1]!;
  } finally {
    await cleanup.run();
  }
}
