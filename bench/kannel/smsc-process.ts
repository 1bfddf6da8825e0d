// The npm-smpp SMSC (bench/npm-smsc.ts) in a process of its own for the side-by-side benchmark,
// as a carrier is: in the benchmark's process it would share one core with the 50 HTTP clients
// and Kannel's dlr-url callbacks, and slow whichever system makes the benchmark busier.
// Talks to its parent over IPC: sends { port } once listening, answers 'stats' with its counts,
// and exits when the parent goes away (Ctrl-C, a crash), so it never outlives the benchmark.
import { type NpmSmscOptions, startNpmSmsc } from '../npm-smsc.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as NpmSmscOptions;
const smsc = await startNpmSmsc(options);
const stop = () => void smsc.close().finally(() => process.exit(0));
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('message', (message) => {
  if (message === 'stats') process.send?.({ stats: smsc.stats() });
});
process.send?.({ port: smsc.port });
