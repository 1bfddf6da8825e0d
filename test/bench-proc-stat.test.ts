// bench/proc-stat.ts's treeCpu, which the side-by-side benchmark reads for each system's CPU per
// message: a child's CPU counts while it runs and, once it has exited and been waited for, through
// its parent's reaped time, so a reading taken across its exit loses nothing.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { treeCpu } from '../bench/proc-stat.ts';

const SPIN =
  'const end = Date.now() + 400; while (Date.now() < end); console.log("spun"); setInterval(() => {}, 1000)';

describe('treeCpu', () => {
  it('counts a live child and, after it exits, the same time as reaped', async () => {
    const before = treeCpu(process.pid);
    const child = spawn(process.execPath, ['-e', SPIN], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(child.stdout!, 'data');
    const live = treeCpu(process.pid) - before;
    expect(treeCpu(child.pid!)).toBeGreaterThanOrEqual(0.3);
    expect(live).toBeGreaterThanOrEqual(0.3);
    child.kill('SIGTERM');
    await once(child, 'exit');
    const after = treeCpu(process.pid) - before;
    expect(after).toBeGreaterThanOrEqual(live - 0.02);
  });

  it('throws nothing for a process that is gone: it has no tree', () => {
    expect(treeCpu(2 ** 22 + 12345)).toBe(0);
  });
});
