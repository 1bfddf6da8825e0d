// Waiting for the machine to go quiet between the phases of an A/B benchmark.
//
// The A/B benches (billing, routing, webhooks) keep two installs up for the whole run and let
// only one send at a time. "Only one sends" is not "only one works": after a phase its install
// still trails autovacuum, the statistics keeper's ANALYZE, checkpoints and late receipts, and on
// 2 cores that work takes a share of the next phase of the other install (a routed phase at
// ~1,680/s among phases at ~4,000–5,000/s was that). Before each phase the bench waits until the
// whole machine's CPU (from /proc/stat, every process counted) stays under a threshold for two
// consecutive windows, and prints how long that took when it had to wait.
import { readFileSync } from 'node:fs';
import os from 'node:os';

function cpuTimes(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, ...fields] = line.trim().split(/\s+/);
  const n = fields.map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Resolves once the machine's CPU use stayed below `below` (a share of all cores) for two
 * consecutive `windowMs` windows, or after `maxMs` (then it says so). Returns the wait in ms.
 * On a machine without /proc/stat it returns at once.
 */
export async function settle({
  below = 0.08,
  windowMs = 500,
  maxMs = 60_000,
  label = '',
}: { below?: number; windowMs?: number; maxMs?: number; label?: string } = {}): Promise<number> {
  let before: { busy: number; total: number };
  try {
    before = cpuTimes();
  } catch {
    return 0;
  }
  const t0 = Date.now();
  let quiet = 0;
  let last = 1;
  while (Date.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, windowMs));
    const now = cpuTimes();
    const total = now.total - before.total;
    last = total > 0 ? (now.busy - before.busy) / total : 0;
    before = now;
    quiet = last < below ? quiet + 1 : 0;
    if (quiet >= 2) {
      const waited = Date.now() - t0;
      if (waited > windowMs * 2 + 200)
        console.log(
          `  (waited ${(waited / 1000).toFixed(1)} s for the machine to go quiet${label ? ` before ${label}` : ''})`,
        );
      return waited;
    }
  }
  console.log(
    `  (the machine did not go quiet within ${maxMs / 1000} s${label ? ` before ${label}` : ''}: ` +
      `${(last * 100).toFixed(0)} % of ${os.cpus().length} cores busy; this phase shares them)`,
  );
  return Date.now() - t0;
}
