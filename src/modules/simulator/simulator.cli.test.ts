import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../app/config.ts';
import {
  embeddedSimulatorProfile,
  embeddedSimulatorStateDir,
  parsePortOption,
  resolveProfileOption,
  runSimulatorCommand,
} from './simulator.cli.ts';
import { bindClient, runCleanups, submitInit, until } from './test-helpers.ts';

afterEach(runCleanups);

const temps: string[] = [];
/** A temporary folder, removed after the file's tests. */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

const config = { ...loadConfig({ env: {} }), logLevel: 'silent' };

function tempFile(content: string): string {
  const dir = tempDir('hy-sim-');
  const file = path.join(dir, 'profiles.json');
  writeFileSync(file, content);
  return file;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('hongyan simulator', () => {
  it('prints where it listens, serves binds, and unbinds them on SIGTERM', async () => {
    const signals = new EventEmitter();
    const lines: string[] = [];
    const running = runSimulatorCommand({
      config,
      host: '127.0.0.1',
      port: '0',
      signals,
      print: (l) => lines.push(l),
    });
    await until(() => lines.length === 1);
    const match =
      /^carrier simulator listening on smpp:\/\/127\.0\.0\.1:(\d+) — profiles: default, sequential, realistic, flaky, throttle, blackhole, bindfail/.exec(
        lines[0]!,
      );
    expect(match).not.toBeNull();
    const client = await bindClient(Number(match![1]), 'hongyan');
    expect((await client.session.request(submitInit())).commandStatus).toBe(0);
    signals.emit('SIGTERM');
    await running;
    expect((await client.session.closed).reason).toBe('unbound by peer');
  });

  it('forces a profile given by name', async () => {
    const signals = new EventEmitter();
    const lines: string[] = [];
    const running = runSimulatorCommand({
      config,
      port: '0',
      profile: 'realistic',
      signals,
      print: (l) => lines.push(l),
    });
    await until(() => lines.length === 1);
    expect(lines[0]).toMatch(/every bind uses profile "realistic"$/);
    signals.emit('SIGINT');
    await running;
  });

  it('says so when the port is taken', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    const error = await runSimulatorCommand({ config, port: String(port), print: () => {} }).catch(
      (e: unknown) => e,
    );
    busy.close();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems[0]).toMatch(
      new RegExp(`^--host/--port: cannot listen on 127.0.0.1:${port}: .*EADDRINUSE`),
    );
  });

  it('refuses a bad --port with a clear message', () => {
    expect(parsePortOption('2776')).toBe(2776);
    expect(parsePortOption('0')).toBe(0);
    for (const bad of ['abc', '70000', '-1', '', '12.5']) {
      expect(problemsOf(() => parsePortOption(bad))).toEqual([
        `--port: expected an integer 0..65535, got "${bad}"`,
      ]);
    }
  });

  it('refuses an unknown profile name', () => {
    expect(problemsOf(() => resolveProfileOption('nope'))).toEqual([
      '--profile: unknown profile "nope" (profiles: default, sequential, realistic, flaky, throttle, blackhole, bindfail; or give a .json file of profiles)',
    ]);
  });

  it('loads a profiles file, and reports each bad field of a bad one', () => {
    const good = tempFile(JSON.stringify({ profiles: [{ name: 'default', base: 'realistic' }] }));
    expect(resolveProfileOption(good).profiles.map((p) => [p.name, p.deliveryRate])).toEqual([
      ['default', 0.95],
    ]);
    const bad = tempFile(JSON.stringify([{ name: 'x', deliveryRate: -1, idFormat: 'roman' }]));
    expect(problemsOf(() => resolveProfileOption(bad))).toEqual([
      `--profile ${bad}: profiles[0] "x": deliveryRate: must be a number from 0 to 1`,
      `--profile ${bad}: profiles[0] "x": idFormat: must be one of decimal, sequential, hex, uuid, hex-resp-decimal-receipt, decimal-resp-hex-receipt`,
    ]);
    const broken = tempFile('{ not json');
    expect(problemsOf(() => resolveProfileOption(broken))[0]).toMatch(/cannot read a JSON profiles file/);
  });

  it('--state-dir: receipts owed when it stops are sent by the next run on the same folder', async () => {
    const dir = tempDir('hy-sim-cli-state-');
    const run = async (onListening: (port: number) => Promise<void>) => {
      const signals = new EventEmitter();
      const lines: string[] = [];
      const running = runSimulatorCommand({
        config,
        port: '0',
        profile: 'sequential',
        stateDir: dir,
        signals,
        print: (l) => lines.push(l),
      });
      await until(() => lines.length === 2);
      await onListening(Number(/:(\d+) —/.exec(lines[0]!)![1]));
      signals.emit('SIGTERM');
      await running;
      return lines;
    };
    const first = await run(async (port) => {
      const sender = await bindClient(port, 'hongyan', { mode: 'transmitter' });
      expect((await sender.session.request(submitInit())).messageId).toBe('1001');
    });
    expect(first[1]).toBe(`state kept in ${dir} (0 receipts and replies owed from before)`);
    const second = await run(async (port) => {
      const receiver = await bindClient(port, 'hongyan');
      // The owed receipt goes out with the bind_resp; our client may refuse a deliver_sm that
      // arrives in the same read as its bind_resp (ESME_RINVBNDSTS), and the CLI's simulator
      // resends it after its real 1 s backoff.
      await until(() => receiver.delivered.some((d) => d.tlvs.receiptedMessageId === '1001'), 3_000);
    });
    expect(second[1]).toBe(`state kept in ${dir} (1 receipts and replies owed from before)`);
  });

  it('gives the embedded simulator its profile and the id convention its channel needs', () => {
    expect(embeddedSimulatorProfile('', 'hongyan')).toEqual({ profiles: [], idConvention: 'as-is' });
    expect(embeddedSimulatorProfile('flaky', 'hongyan')).toMatchObject({
      forceProfile: 'flaky',
      idConvention: 'hex-resp-decimal-receipt',
    });
    const file = tempFile(
      JSON.stringify([{ name: 'hongyan', base: 'default', idFormat: 'decimal-resp-hex-receipt' }]),
    );
    expect(embeddedSimulatorProfile(file, 'hongyan').idConvention).toBe('decimal-resp-hex-receipt');
    expect(problemsOf(() => embeddedSimulatorProfile('nope', 'hongyan'))[0]).toMatch(
      /^HONGYAN_SIMULATOR_PROFILE: unknown profile "nope"/,
    );
  });

  it('keeps the embedded simulator state per database: one folder for the embedded one', () => {
    const embedded = embeddedSimulatorStateDir({ dataDir: '/d', databaseUrl: null });
    expect(embedded).toBe('/d/simulator');
    const a = embeddedSimulatorStateDir({ dataDir: '/d', databaseUrl: 'postgres://h/a' });
    const b = embeddedSimulatorStateDir({ dataDir: '/d', databaseUrl: 'postgres://h/b' });
    expect(a).toMatch(/^\/d\/simulator\/db-[0-9a-f]{16}$/);
    expect(b).not.toBe(a);
    expect(embeddedSimulatorStateDir({ dataDir: '/d', databaseUrl: 'postgres://h/a' })).toBe(a);
  });
});
