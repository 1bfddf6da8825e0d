// Side-by-side benchmark against Kannel (`npm run bench -- --kannel [--messages N]`): both systems
// in one run, through the same independent SMSC (bench/npm-smsc.ts on the npm smpp package, in
// its own process, alphanumeric message ids), driven by the same HTTP client (keep-alive, 50
// connections, 50 clients). The phases run one after the other, so they never share the CPU:
//
//   1. Kannel (the Debian package): sendsms → SMPP → receipts back through dlr-url, end to end;
//   2. Hongyan single sends (POST /v1/messages), end to end until every message is final;
//   3. Hongyan batches (POST /v1/batches, 10,000 a request), accepted/s and end to end.
//
// Prints each figure and Hongyan's ratios to Kannel (targets: singles ≥ 1.2×, batches ≥ 2.5×).
// Without Kannel installed it says how to install it and measures Hongyan alone. Kannel, Hongyan,
// the SMSC and the temp folders are stopped and removed on exit and on Ctrl-C.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCleanup } from './kannel/cleanup.ts';
import { findKannel, KANNEL_INSTALL_HINT } from './kannel/gateway.ts';
import { type HongyanFigures, measureHongyan } from './kannel/hongyan-phase.ts';
import { CLIENTS, createAgent } from './kannel/http-load.ts';
import { type KannelFigures, measureKannel } from './kannel/kannel-phase.ts';
import { startSmscProcess } from './kannel/smsc.ts';

const TARGETS = { singles: 1.2, batches: 2.5 };

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

function printFigures(
  messages: number,
  kannel: KannelFigures | undefined,
  { single, batch }: HongyanFigures,
) {
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  console.log(
    `hongyan singles: accepted ${single.accepted}/s (p50 ${ms(single.p50)}, p99 ${ms(single.p99)}); ` +
      `end to end ${single.e2e} messages/s; ${submitted(single.submits, messages)}`,
  );
  console.log(
    `hongyan batches: accepted ${batch.accepted}/s; end to end ${batch.e2e} messages/s; ` +
      submitted(batch.submits, messages),
  );
  console.log(`\nside by side (${messages} messages each, end to end: every message final)`);
  if (kannel) console.log(`  Kannel sendsms → dlr-url     ${kannel.e2e} messages/s`);
  else console.log('  Kannel                       not measured (see above)');
  console.log(
    `  Hongyan POST /v1/messages    ${single.e2e} messages/s${ratio(single.e2e, kannel?.e2e, TARGETS.singles)}`,
  );
  console.log(
    `  Hongyan POST /v1/batches     ${batch.e2e} messages/s${ratio(batch.e2e, kannel?.e2e, TARGETS.batches)}`,
  );
}

export async function runKannelBench({ messages = 50_000 }: { messages?: number } = {}) {
  const cleanup = createCleanup();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hongyan-kannel-bench-'));
  chmodSync(tmp, 0o755); // the embedded PostgreSQL may run as another account
  cleanup.add(() => rmSync(tmp, { recursive: true, force: true }));
  const agent = createAgent();
  cleanup.add(() => agent.destroy());
  console.log(
    `hongyan bench --kannel: ${messages} messages per system, ${CLIENTS} keep-alive connections, ` +
      `${os.cpus().length} cores, node ${process.version}, temp ${tmp}`,
  );
  try {
    const smsc = await startSmscProcess(cleanup);
    const load = [os.loadavg()[0]!];
    const binaries = findKannel();
    let kannel: KannelFigures | undefined;
    if (binaries === null) console.log(KANNEL_INSTALL_HINT);
    else {
      try {
        kannel = await measureKannel({
          binaries,
          dir: path.join(tmp, 'kannel'),
          smsc,
          messages,
          agent,
          cleanup,
        });
        console.log(
          `kannel ${kannel.version}: sendsms accepted ${kannel.accepted}/s (p50 ${kannel.p50.toFixed(1)} ms, ` +
            `p99 ${kannel.p99.toFixed(1)} ms); end to end ${kannel.e2e} messages/s; ` +
            `${submitted(kannel.submits, messages)}; store ${kannel.store ? 'on' : 'off'}`,
        );
      } catch (error) {
        // A broken Kannel install must not cost the Hongyan figures of the same run.
        console.log(
          `kannel: FAILED, measuring Hongyan alone: ${error instanceof Error ? error.message : error}`,
        );
      }
    }
    load.push(os.loadavg()[0]!);
    const hongyan = await measureHongyan({
      dataDir: path.join(tmp, 'hongyan'),
      smsc,
      messages,
      agent,
      cleanup,
    });
    load.push(os.loadavg()[0]!);
    printFigures(messages, kannel, hongyan);
    // Other work on the machine slows one phase more than another: the reader can tell from this.
    const [beforeKannel, beforeHongyan, atEnd] = load.map((l) => l.toFixed(1));
    console.log(
      `  load average (1 min): ${beforeKannel} before Kannel, ${beforeHongyan} before Hongyan, ` +
        `${atEnd} at the end, on ${os.cpus().length} cores`,
    );
    return { kannel, hongyan };
  } finally {
    await cleanup.run();
  }
}
