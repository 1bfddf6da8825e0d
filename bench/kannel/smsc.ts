// The SMSC both systems send through in the side-by-side benchmark, and the settings of the bind
// that both get from it.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NpmSmscStats } from '../npm-smsc.ts';
import { type Cleanup, stopChild } from './cleanup.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Outstanding submit_sm per bind, the same for both: the window Hongyan gives a fast channel (its
// simulator's) as Kannel's max-pending-submits (whose default is 10).
export const WINDOW = 1000;
export const SMSC_PASSWORD = 'bench';
export const SMSC_SYSTEM_ID = { kannel: 'kannel', hongyan: 'hongyan' } as const;

export interface Smsc {
  port: number;
  pid: number;
  stats(): Promise<NpmSmscStats>;
}

// Alphanumeric ids, so that no reading of an id as a decimal or hex number can match a receipt
// to the wrong message on either side (Kannel's msg-id-type stays unset for them).
export async function startSmscProcess(cleanup: Cleanup): Promise<Smsc> {
  const child = fork(
    path.join(ROOT, 'bench/kannel/smsc-process.ts'),
    [JSON.stringify({ ids: 'alnum', password: SMSC_PASSWORD, window: WINDOW })],
    { cwd: ROOT, execArgv: ['--import', 'tsx', '--max-semi-space-size=64'] },
  );
  cleanup.add(() => stopChild(child, 5000));
  child.on('error', (error) => console.error('SMSC process:', error.message));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the SMSC exited with ${code}`)));
    child.once('message', (m: { port?: number }) =>
      m.port ? resolve(m.port) : reject(new Error('the SMSC sent no port')),
    );
  });
  const stats = () =>
    new Promise<NpmSmscStats>((resolve, reject) => {
      if (!child.connected) return reject(new Error('the SMSC is gone'));
      const onMessage = (m: { stats?: NpmSmscStats }) => {
        if (!m.stats) return;
        child.off('message', onMessage);
        resolve(m.stats);
      };
      child.on('message', onMessage);
      child.send('stats');
    });
  return { port, pid: child.pid!, stats };
}
