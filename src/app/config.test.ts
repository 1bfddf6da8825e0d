import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, renderConfigReference } from './config.ts';

const temps: string[] = [];
/** A temporary folder, removed after the file's tests. */
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hy-config-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('has working defaults with nothing set', () => {
    const c = loadConfig({ env: {}, configFile: null, cwd: '/srv/hy' });
    expect(c).toMatchObject({
      databaseUrl: null,
      dataDir: '/srv/hy/data',
      httpPort: 8080,
      httpHost: '127.0.0.1',
      simulator: true,
      simulatorPort: 2775,
      defaultRegion: 'CN',
      maxParts: 10,
      receiptWindowHours: 72,
    });
  });

  it('reads the environment, which wins over the config file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'hongyan.json');
    writeFileSync(file, JSON.stringify({ httpPort: 9000, simulator: 'off', defaultRegion: 'us' }));
    const c = loadConfig({ env: { HONGYAN_HTTP_PORT: '9100' }, configFile: file, cwd: dir });
    expect(c).toMatchObject({ httpPort: 9100, simulator: false, defaultRegion: 'US', configFile: file });
  });

  it('reports every bad value at once, naming the setting and what it accepts', () => {
    try {
      loadConfig({
        env: {
          HONGYAN_HTTP_PORT: '80a',
          HONGYAN_SIMULATOR: 'maybe',
          DATABASE_URL: 'mysql://x',
          HONGYAN_MAX_PARTS: '0',
        },
        configFile: null,
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems).toHaveLength(4);
      expect(problems.join('\n')).toMatch(/HONGYAN_HTTP_PORT: expected an integer/);
      expect(problems.join('\n')).toMatch(/HONGYAN_SIMULATOR: expected on or off/);
      expect(problems.join('\n')).toMatch(/DATABASE_URL: expected a postgres:\/\/ URL/);
      expect(problems.join('\n')).toMatch(/HONGYAN_MAX_PARTS: expected 1..255/);
    }
  });

  it('refuses a heartbeat longer than half the time after which peers take a node for dead', () => {
    // A node stops sending when it has not beaten for three quarters of nodeDeadAfterMs: with a
    // slower heartbeat it would stop between every two beats.
    const at = (heartbeat: string, deadAfter: string) =>
      loadConfig({
        env: { HONGYAN_HEARTBEAT_INTERVAL_MS: heartbeat, HONGYAN_NODE_DEAD_AFTER_MS: deadAfter },
        configFile: null,
      });
    expect(() => at('1001', '2000')).toThrow(
      /heartbeatIntervalMs \(1001\) must be at most half of nodeDeadAfterMs \(2000\)/,
    );
    expect(at('1000', '2000')).toMatchObject({ heartbeatIntervalMs: 1000, nodeDeadAfterMs: 2000 });
    // Only once each value is valid: a bad value is reported as itself, not as this.
    expect(() => at('x', '2000')).toThrow(ConfigError);
    expect(() => at('x', '2000')).not.toThrow(/must be at most half/);
  });

  it('refuses unknown keys and unreadable config files', () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ htpPort: 1 }));
    expect(() => loadConfig({ env: {}, configFile: file })).toThrow(/unknown setting "htpPort"/);
    writeFileSync(file, '{ not json');
    expect(() => loadConfig({ env: {}, configFile: file })).toThrow(/cannot read config file/);
    expect(() => loadConfig({ env: {}, configFile: path.join(dir, 'missing.json') })).toThrow(
      /cannot read config file/,
    );
  });

  it('docs/configuration.md is the generated reference', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(doc).toBe(renderConfigReference());
  });
});
