// Kannel's two boxes from the Debian package (bearerbox: the SMPP side and the queues; smsbox: the
// sendsms HTTP interface and the dlr-url callbacks), started for the side-by-side benchmark with
// a configuration written into a temp folder, on free ports of 127.0.0.1 only.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChild } from './cleanup.ts';

const TEMPLATE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kannel.conf');

export const KANNEL_INSTALL_HINT =
  'Kannel is not installed (no bearerbox found), so the benchmark measures Hongyan alone.\n' +
  '  To compare with Kannel, install the Debian package and run again:\n' +
  '    sudo apt-get update && sudo apt-get install -y kannel\n' +
  '    npm run bench -- --kannel';

export interface KannelBinaries {
  bearerbox: string;
  smsbox: string;
}

// Debian installs the boxes in /usr/sbin, which is not on an ordinary user's PATH.
export function findKannel(
  dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'],
): KannelBinaries | null {
  for (const dir of dirs) {
    const bearerbox = path.join(dir, 'bearerbox');
    const smsbox = path.join(dir, 'smsbox');
    if (existsSync(bearerbox) && existsSync(smsbox)) return { bearerbox, smsbox };
  }
  return null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface KannelSettings {
  dir: string;
  smscPort: number;
  systemId: string;
  password: string;
  window: number;
  store: boolean;
}

export function kannelConfig({
  dir,
  ports,
  smscPort,
  systemId,
  password,
  window,
  store,
}: KannelSettings & { ports: { admin: number; smsbox: number; sendsms: number } }): string {
  const fields: Record<string, string | number> = {
    adminPort: ports.admin,
    smsboxPort: ports.smsbox,
    sendsmsPort: ports.sendsms,
    smscPort,
    systemId,
    password,
    window,
    dir,
    store: store ? `store-type = spool\nstore-location = "${dir}/spool"` : '',
  };
  return readFileSync(TEMPLATE, 'utf8').replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = fields[name];
    if (value === undefined) throw new Error(`kannel.conf: no value for {{${name}}}`);
    return String(value);
  });
}

function httpGet(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
  });
}

export interface KannelGateway {
  /** As bearerbox reports it, e.g. "1.4.5". */
  version: string;
  /** bearerbox and smsbox */
  pids: number[];
  sendsmsUrl: string;
  statusUrl: string;
  stop(): Promise<void>;
}

export async function startKannel({
  binaries,
  ...settings
}: KannelSettings & { binaries: KannelBinaries }): Promise<KannelGateway> {
  const { dir } = settings;
  mkdirSync(dir, { recursive: true });
  const ports = { admin: await freePort(), smsbox: await freePort(), sendsms: await freePort() };
  const configFile = path.join(dir, 'kannel.conf');
  writeFileSync(configFile, kannelConfig({ ...settings, ports }));
  if (settings.store) mkdirSync(path.join(dir, 'spool'));

  const children: ChildProcess[] = [];
  const spawnBox = (binary: string, name: string) => {
    const out = openSync(path.join(dir, `${name}.out`), 'a');
    // -v 4: errors only on the console too, as Hongyan runs at warn level.
    const child = spawn(binary, ['-v', '4', configFile], { cwd: dir, stdio: ['ignore', out, out] });
    closeSync(out); // the child has its own copy
    // A box that cannot be executed reports it here; waitUntil turns it into the run's error.
    child.once('error', (error) =>
      writeFileSync(path.join(dir, `${name}.out`), `${error.message}\n`, { flag: 'a' }),
    );
    children.push(child);
    return child;
  };
  // bearerbox drains its queues before it exits; a benchmark that is over has nothing to drain.
  const stop = async () => void (await Promise.all(children.map((child) => stopChild(child, 5000))));

  const statusUrl = `http://127.0.0.1:${ports.admin}/status.txt?password=bench`;
  const sendsmsUrl = `http://127.0.0.1:${ports.sendsms}/cgi-bin/sendsms`;
  let version = 'unknown';
  try {
    const bearerbox = spawnBox(binaries.bearerbox, 'bearerbox');
    await waitUntil('bearerbox and its SMPP bind', bearerbox, dir, async () => {
      const status = await httpGet(statusUrl);
      version = /version `([^']+)'/.exec(status.text)?.[1] ?? version;
      return /npm\[npm\].*\(online/.test(status.text);
    });
    const smsbox = spawnBox(binaries.smsbox, 'smsbox');
    await waitUntil('smsbox', smsbox, dir, async () => {
      // Without credentials sendsms answers 403: the box is up and connected to bearerbox.
      const status = await httpGet(sendsmsUrl);
      return status.status === 403 || status.status === 202;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { version, pids: children.map((child) => child.pid!), sendsmsUrl, statusUrl, stop };
}

async function waitUntil(
  what: string,
  child: ChildProcess,
  dir: string,
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const exited = child.exitCode ?? child.signalCode;
    if (exited !== null) throw new Error(`${what} exited with ${exited}\n${logTails(dir)}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after 20 s\n${logTails(dir)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The temp folder goes away with the run, so a failure carries the end of each log with it.
function logTails(dir: string): string {
  return ['bearerbox.out', 'bearerbox.log', 'smsbox.out', 'smsbox.log']
    .filter((name) => existsSync(path.join(dir, name)))
    .map((name) => {
      const lines = readFileSync(path.join(dir, name), 'utf8').trimEnd().split('\n').slice(-8);
      return `--- ${name}\n${lines.join('\n')}`;
    })
    .join('\n');
}
