// CPU time of a local process from /proc/<pid>/stat, for the benches that print CPU per message.
import { readdirSync, readFileSync } from 'node:fs';

export const CLOCK_TICKS = 100; // USER_HZ on Linux

/**
 * utime+stime of a process, and of its children that exited and were waited for, in ticks, with
 * its parent's pid. Throws when the process is gone or /proc is not readable. The fields are
 * counted after the command name, which is in parentheses and may hold spaces.
 */
export function procTicks(pid: number): { ppid: number; own: number; reaped: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
}

/**
 * CPU seconds of a process and everything under it: each live descendant's own time, and the time
 * of the children each of them waited for (a PostgreSQL server's exited backends, say). A process
 * that exits between two readings moves from its own line to its parent's reaped time, so the
 * difference of two readings stays whole; one orphaned to init is lost to it.
 */
export function treeCpu(root: number): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const p = procTicks(Number(entry));
      parent.set(Number(entry), p.ppid);
      ticks.set(Number(entry), p.own + p.reaped);
    } catch {
      // exited while listed
    }
  }
  let sum = 0;
  for (const [pid, t] of ticks) {
    for (let q: number | undefined = pid; q !== undefined && q > 1; q = parent.get(q)) {
      if (q === root) {
        sum += t;
        break;
      }
    }
  }
  return sum / CLOCK_TICKS;
}
