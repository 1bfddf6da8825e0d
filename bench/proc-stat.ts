// CPU time of a local process from /proc/<pid>/stat, for the benches that print CPU per message.
import { readFileSync } from 'node:fs';

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
