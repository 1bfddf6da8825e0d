// The Kannel side of `npm run bench -- --kannel`: its configuration, finding the Debian boxes,
// and, where Kannel is installed, that each message sent through it gets the final report the
// SMSC decided for it (which fails if Kannel misreads the SMSC's alphanumeric ids). Figures are
// not asserted here: the benchmark prints them.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { phone } from '../bench/e2e.ts';
import { findKannel, kannelConfig, startKannel } from '../bench/kannel/gateway.ts';
import { createAgent, request, runClients, startReceiptCounter } from '../bench/kannel/http-load.ts';
import { relaxations } from '../bench/kannel/hongyan-phase.ts';
import { sendsmsUrl } from '../bench/kannel/kannel-phase.ts';
import { outcomeByLastDigit, startNpmSmsc } from '../bench/npm-smsc.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'hy-kannel-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The settings of a Kannel config file that are not comments: name → values, in order. */
function settings(config: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of config.split('\n')) {
    const m = /^\s*([a-z-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    found.set(m[1]!, [...(found.get(m[1]!) ?? []), m[2]!.replace(/^"(.*)"$/, '$1')]);
  }
  return found;
}

describe('Kannel configuration for the side-by-side benchmark', () => {
  const config = kannelConfig({
    dir: '/tmp/k',
    ports: { admin: 13000, smsbox: 13001, sendsms: 13013 },
    smscPort: 2775,
    systemId: 'kannel',
    password: 'secret',
    window: 1000,
    store: true,
  });
  const s = settings(config);

  it('fills every field of the template', () => {
    expect(config).not.toMatch(/\{\{/);
    expect(s.get('port')).toEqual(['2775']);
    expect(s.get('smsc-username')).toEqual(['kannel']);
    expect(s.get('smsc-password')).toEqual(['secret']);
    expect(s.get('sendsms-port')).toEqual(['13013']);
    expect(s.get('store-location')).toEqual(['/tmp/k/spool']);
  });

  it('listens and connects on 127.0.0.1 only', () => {
    for (const name of ['admin-interface', 'smsbox-interface', 'sendsms-interface', 'host', 'bearerbox-host'])
      expect(s.get(name), name).toEqual(['127.0.0.1']);
    expect(s.get('admin-allow-ip')).toEqual(['127.0.0.1']);
    expect(s.get('box-allow-ip')).toEqual(['127.0.0.1']);
  });

  it('reads message ids as plain strings (no msg-id-type) with the same window as Hongyan', () => {
    expect(s.has('msg-id-type')).toBe(false);
    expect(s.get('max-pending-submits')).toEqual(['1000']);
    expect(s.has('throughput')).toBe(false);
  });

  it('has no message store when asked for none', () => {
    const ports = { admin: 1, smsbox: 2, sendsms: 3 };
    const base = { dir: '/tmp/k', smscPort: 4, systemId: 'k', password: 'p', window: 1, ports };
    expect(settings(kannelConfig({ ...base, store: true })).get('store-type')).toEqual(['spool']);
    const without = settings(kannelConfig({ ...base, store: false }));
    expect(without.has('store-type')).toBe(false);
  });
});

describe('relaxations: what a bound run turns off on the Hongyan side, named in its output', () => {
  afterEach(() => void vi.unstubAllEnvs());

  it('is nothing by default, so that a plain run measures Hongyan as it ships', () => {
    vi.stubEnv('HONGYAN_BILLING', undefined);
    vi.stubEnv('BENCH_SYNCHRONOUS_COMMIT', undefined);
    expect(relaxations()).toEqual([]);
    vi.stubEnv('HONGYAN_BILLING', 'on');
    vi.stubEnv('BENCH_SYNCHRONOUS_COMMIT', 'on');
    expect(relaxations()).toEqual([]);
  });

  it('names billing off and unflushed commits when asked for', () => {
    vi.stubEnv('BENCH_SYNCHRONOUS_COMMIT', undefined);
    for (const off of ['off', 'false', '0', 'NO']) {
      vi.stubEnv('HONGYAN_BILLING', off);
      expect(relaxations(), off).toEqual(['billing off']);
    }
    vi.stubEnv('BENCH_SYNCHRONOUS_COMMIT', 'off');
    expect(relaxations()).toEqual(['billing off', 'synchronous_commit off']);
  });

  it('refuses a value that is neither on nor off, by name, instead of measuring as shipped', () => {
    vi.stubEnv('HONGYAN_BILLING', undefined);
    vi.stubEnv('BENCH_SYNCHRONOUS_COMMIT', 'of');
    expect(() => relaxations()).toThrow(/BENCH_SYNCHRONOUS_COMMIT: expected on or off, got "of"/);
  });
});

describe('findKannel', () => {
  it('finds bearerbox and smsbox side by side, and nothing where either is missing', () => {
    const both = path.join(tmp, 'both');
    const half = path.join(tmp, 'half');
    mkdirSync(both);
    mkdirSync(half);
    for (const file of [
      path.join(both, 'bearerbox'),
      path.join(both, 'smsbox'),
      path.join(half, 'bearerbox'),
    ]) {
      writeFileSync(file, '#!/bin/sh\n');
      chmodSync(file, 0o755);
    }
    expect(findKannel([half])).toBeNull();
    expect(findKannel([path.join(tmp, 'none')])).toBeNull();
    expect(findKannel([half, both])).toEqual({
      bearerbox: path.join(both, 'bearerbox'),
      smsbox: path.join(both, 'smsbox'),
    });
  });
});

const binaries = findKannel();

describe.skipIf(binaries === null)('Kannel through the npm-smpp SMSC (Kannel installed)', () => {
  it('each message gets its own final report, as the SMSC decided it for its recipient', async () => {
    const smsc = await startNpmSmsc({ ids: 'alnum', password: 'bench' });
    const counter = await startReceiptCounter();
    const agent = createAgent();
    const gateway = await startKannel({
      binaries: binaries!,
      dir: path.join(tmp, 'kannel'),
      smscPort: smsc.port,
      systemId: 'kannel',
      password: 'bench',
      window: 100,
      store: true,
    });
    try {
      const total = 40; // recipients ending in every digit: 8 and 9 are undelivered
      await runClients({
        total,
        clients: 10,
        send: async (i) => {
          const res = await request(agent, sendsmsUrl(gateway.sendsmsUrl, counter.url, i));
          expect(res.status, res.text).toBe(202);
        },
      });
      await counter.allFinal(total, 20_000);
      expect(counter.finals.size).toBe(total);
      // Kannel sent each message once, and matched each report by that submit's own id (a
      // msg-id-type that reads the ids as numbers would turn every one into 0).
      const submitOf = new Map(smsc.submits.map((r) => [r.recipient, r]));
      expect(smsc.submits).toHaveLength(total);
      expect(submitOf.size).toBe(total);
      for (let i = 0; i < total; i++) {
        const submit = submitOf.get(phone(i).replace(/^\+/, ''));
        const expected = outcomeByLastDigit(phone(i)).stat === 'DELIVRD' ? '1' : '2';
        expect(counter.finals.get(String(i)), `message ${i} to ${phone(i)}`).toEqual({
          type: expected,
          smscId: submit?.id,
        });
      }
    } finally {
      await gateway.stop();
      await counter.close();
      agent.destroy();
      await smsc.close();
    }
  });
});
