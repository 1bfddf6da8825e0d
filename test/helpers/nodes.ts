// What the tests that run real `hongyan start` processes repeat: starting a node and learning its
// id, polling the database for a state, queueing plain messages, and ending what a failed test
// left running (a node it stopped with SIGSTOP among them).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { insertMessages } from '../../src/modules/messages/messages.repository.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/hongyan.js');

export interface StartedNode {
  child: ChildProcess;
  nodeId: string;
  /** Set when the node has the api role. */
  httpUrl: string | null;
}

// Every child started by this test file (vitest gives each file its own copy of this module).
const started: ChildProcess[] = [];

/**
 * Starts `hongyan start --roles <roles>` (worker by default) without the embedded simulator, and
 * resolves on its "hongyan started" line. `env` is added to this process's environment and
 * must name the DATABASE_URL.
 */
export function startNode({
  env,
  roles = 'worker',
  timeoutMs = 30_000,
}: {
  env: Record<string, string>;
  roles?: string;
  timeoutMs?: number;
}): Promise<StartedNode> {
  const child = spawn(process.execPath, [BIN, 'start', '--roles', roles], {
    env: {
      ...process.env,
      HONGYAN_SIMULATOR: 'off',
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    let up = false;
    const timer = setTimeout(() => reject(new Error(`hongyan did not start:\n${output}`)), timeoutMs);
    const onExit = (code: number | null) => reject(new Error(`hongyan exited with ${code}:\n${output}`));
    child.once('exit', onExit);
    // Both pipes are read for the child's whole life: a full pipe would block its logger. Each
    // keeps its own partial line, so that a chunk of one cannot land inside a line of the other.
    const watch = (stream: NodeJS.ReadableStream) => {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        if (up) return;
        output += chunk;
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        const line = lines.find((l) => l.includes('"msg":"hongyan started"'));
        if (line === undefined) return;
        const entry = JSON.parse(line) as { nodeId: string; httpUrl: string | null };
        up = true;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, nodeId: entry.nodeId, httpUrl: entry.httpUrl });
      });
    };
    watch(child.stdout!);
    watch(child.stderr!);
  });
}

/** Kills the children still running, woken first in case the test left one stopped. */
export function killLeftoverNodes() {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  }
}

export async function waitFor(what: string, check: () => Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Queues `count` one-part notifications now: message i is "<label> i" to +86139 and i in 8 digits. */
export function insertQueued(
  db: Parameters<typeof insertMessages>[0],
  tenantId: number,
  count: number,
  label: string,
) {
  return insertMessages(
    db,
    Array.from({ length: count }, (_, i) => ({
      tenantId,
      batchId: null,
      type: 'notification' as const,
      priority: 1,
      recipient: `+86139${String(i).padStart(8, '0')}`,
      content: `${label} ${i}`,
      encoding: 'gsm7' as const,
      parts: 1,
      clientRef: null,
      sendAt: null,
    })),
    new Date(),
  );
}
