// Where a V8 CPU profile's time went: the functions with the most self time, the packages and
// files they are in, and the functions with the most total time (self and callees), in ms and in
// µs per request. For profiles written by a bench's Hongyan child (BENCH_CPU_PROF=<dir>,
// bench/hongyan-child.ts). With --phases (the phases.json bench/signed.ts writes beside the
// profile), only the samples taken during the counted phases count, of one mode with --mode,
// and the requests are theirs: start-up, module loading and warm-up are left out.
//
//   npx tsx bench/cpu-profile.ts <file.cpuprofile> [--phases <dir>/phases.json [--mode signed]]
//     [--requests N] [--top 40]
//
// Read it knowing what V8 samples: the main thread's stack at fixed wall-clock intervals, so on a
// machine short of CPU a function the kernel preempted keeps collecting samples without using
// CPU. On the busy 2-core machine, `writev` (node-postgres sending a statement, which wakes a
// PostgreSQL backend that then takes the core) held 27–29% of the samples while `perf record -e
// cpu-clock` put all kernel time at 15% of the process's CPU; and V8's own threads (optimizing
// compiler, concurrent marking: 23% of the CPU in that perf run) are not in the profile at all.
// Compare "busy µs/req" with the bench's CPU per request (/proc) before trusting the split.
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

const file = process.argv[2];
if (!file) throw new Error('usage: bench/cpu-profile.ts <file.cpuprofile> [--requests N] [--top N]');
const top = Number(arg('--top') ?? 40);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const phasesFile = arg('--phases');
const mode = arg('--mode');
const windows = phasesFile
  ? (
      JSON.parse(readFileSync(phasesFile, 'utf8')) as {
        mode: string;
        fromUs: number;
        toUs: number;
        requests: number;
      }[]
    ).filter((p) => mode === undefined || p.mode === mode)
  : undefined;
const requests = windows ? windows.reduce((sum, w) => sum + w.requests, 0) : Number(arg('--requests') ?? 0);
const counted = (at: number) => !windows || windows.some((w) => at >= w.fromUs && at < w.toUs);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

function where(url: string): { file: string; pkg: string } {
  const clean = url.replace(/^file:\/\//, '');
  const nm = clean.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = clean.slice(nm + 'node_modules/'.length).split('/');
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return { file: `${pkg}/${rest.slice(pkg.split('/').length).join('/')}`, pkg };
  }
  if (clean === '') return { file: '(native)', pkg: '(native)' };
  if (clean.startsWith('node:')) return { file: clean, pkg: 'node' };
  const src = clean.indexOf('/src/');
  return src >= 0 ? { file: clean.slice(src + 1), pkg: 'hongyan' } : { file: path.basename(clean), pkg: '?' };
}

function label(n: ProfileNode): string {
  const { file: f } = where(n.callFrame.url);
  return `${n.callFrame.functionName || '(anonymous)'} ${f}:${n.callFrame.lineNumber + 1}`;
}

const self = new Map<string, number>();
const total = new Map<string, number>();
const files = new Map<string, number>();
const pkgs = new Map<string, number>();
let all = 0;
let idle = 0;
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

let at = profile.startTime;
profile.samples.forEach((id, i) => {
  // A sample's time is its own delta; the time until the next sample is what it stands for.
  at += profile.timeDeltas[i] ?? 0;
  const us = profile.timeDeltas[i + 1] ?? 0;
  if (!counted(at)) return;
  const node = byId.get(id)!;
  const name = node.callFrame.functionName;
  if (name === '(idle)' || name === '(program)' || name === '(root)') {
    if (name === '(idle)') idle += us;
    else all += us;
    if (name !== '(idle)') add(self, name, us);
    return;
  }
  all += us;
  add(self, label(node), us);
  const w = where(node.callFrame.url);
  add(files, w.file, us);
  add(pkgs, w.pkg, us);
  const seen = new Set<string>();
  for (let n: ProfileNode | undefined = node; n; n = byId.get(parent.get(n.id) ?? -1)) {
    const l = label(n);
    if (!seen.has(l)) {
      seen.add(l);
      add(total, l, us);
    }
  }
});

const per = (us: number) => (requests > 0 ? `${(us / requests).toFixed(1).padStart(7)} µs/req` : '');
function print(title: string, m: Map<string, number>, n: number) {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    const pct = ((us / all) * 100).toFixed(1).padStart(5);
    console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${pct}% ${per(us)}  ${k}`);
  }
}

console.log(
  `busy ${(all / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms` +
    (requests > 0 ? `, ${requests} requests: ${(all / requests).toFixed(0)} µs/req busy` : ''),
);
print('self time by function', self, top);
print('self time by package', pkgs, 15);
print('self time by file', files, 25);
print('total time (self and callees) by function', total, top);
