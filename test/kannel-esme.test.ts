// Kannel (bearerbox + smsbox from the Debian package) as a customer's ESME bound to Hongyan's
// SMPP server: messages sent through smsbox's sendsms HTTP interface arrive in Hongyan with their
// text, and each one's delivery report comes back to Kannel, which calls its dlr-url (a server in
// this test) with the right outcome and Hongyan's message id. Kannel is installed with apt when
// missing; the test is skipped, saying why, when it cannot be.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKannel, type KannelBinaries, type KannelGateway, startKannel } from '../bench/kannel/gateway.ts';
import { loadConfig } from '../src/app/config.ts';
import { type RunningHongyan, startHongyan } from '../src/app/start.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { creditForTests } from '../src/modules/billing/billing.testkit.ts';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { createTestDatabase } from './helpers/db.ts';

function kannelOrInstall(): KannelBinaries | null {
  const found = findKannel();
  if (found) return found;
  try {
    execFileSync('apt-get', ['install', '-y', 'kannel'], { stdio: 'ignore', timeout: 300_000 });
  } catch {
    return null;
  }
  return findKannel();
}

const binaries = kannelOrInstall();
if (!binaries)
  console.warn(
    'SKIPPED test/kannel-esme.test.ts: Kannel (bearerbox, smsbox) is not installed and `apt-get install -y kannel` failed',
  );

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let hongyan: RunningHongyan;
let kannel: KannelGateway;
let db: Db;
let key: string;
let dir: string;
let dlrServer: http.Server;
let dlrUrl: string;
const dlrs: URLSearchParams[] = [];

async function api(route: string) {
  const res = await fetch(`${hongyan.httpUrl}${route}`, { headers: { authorization: `Bearer ${key}` } });
  return (await res.json()) as any;
}

async function waitFor(fn: () => boolean | Promise<boolean>, what: string, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!binaries)('Kannel as the customer ESME of the SMPP server', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    t = await createTestDatabase();
    dir = mkdtempSync(path.join(os.tmpdir(), 'hy-kannel-esme-'));
    const profile = path.join(dir, 'profiles.json');
    writeFileSync(
      profile,
      JSON.stringify({ profiles: [{ name: 'hongyan', base: 'default', undeliveredSuffixes: ['9'] }] }),
    );
    const config = loadConfig({
      env: {
        DATABASE_URL: t.url,
        HONGYAN_HTTP_PORT: '0',
        HONGYAN_SIMULATOR_PORT: '0',
        HONGYAN_SMPP_PORT: '0',
        HONGYAN_SIMULATOR_PROFILE: profile,
        HONGYAN_SMPP_OUTBOX_POLL_MS: '200',
        HONGYAN_LOG_LEVEL: 'silent',
        HONGYAN_DATA_DIR: path.join(dir, 'data'),
      },
      configFile: null,
    });
    hongyan = await startHongyan({
      config,
      roles: ['api', 'worker', 'simulator'],
      installSignalHandlers: false,
      json: true,
    });
    db = createDb({ connectionString: t.url, max: 2 });
    const created = await createTenant({
      name: 'kannel user',
      repository: createAccountsRepository(db.kysely),
    });
    await creditForTests(db.pool, created.tenant.id);
    await grantSending({ db: db.pool, tenantId: created.tenant.id, signatures: ['鸿雁'], freeText: true });
    key = created.apiKey.key;
    const account = await fetch(`${hongyan.httpUrl}/v1/smpp-accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ system_id: 'kannel' }),
    }).then((r) => r.json() as Promise<{ password: string }>);

    dlrServer = http.createServer((req, res) => {
      dlrs.push(new URL(req.url ?? '/', 'http://x').searchParams);
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((r) => dlrServer.listen(0, '127.0.0.1', r));
    dlrUrl = `http://127.0.0.1:${(dlrServer.address() as AddressInfo).port}/dlr`;

    // bench/kannel's configuration: one transceiver bind (smsc-id "npm") to the given port.
    kannel = await startKannel({
      binaries: binaries!,
      dir: path.join(dir, 'kannel'),
      smscPort: hongyan.smppPort!,
      systemId: 'kannel',
      password: account.password,
      window: 10,
      store: false,
    });
  });

  afterAll(async () => {
    await kannel?.stop();
    await hongyan?.stop();
    dlrServer?.closeAllConnections();
    await new Promise((r) => dlrServer?.close(r));
    await db?.close();
    await t?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('takes sendsms messages with their text and returns each one its own delivery report', async () => {
    const numbers = ['13800000601', '13800000612', '13800000629'];
    const texts = numbers.map((_, i) => `【鸿雁】来自 Kannel 的短信 ${i}`);
    for (const [i, to] of numbers.entries()) {
      const url = new URL(kannel.sendsmsUrl);
      url.search = new URLSearchParams({
        username: 'bench',
        password: 'bench',
        from: '10690009',
        to,
        text: texts[i]!,
        charset: 'UTF-8',
        coding: '2',
        'dlr-mask': '3', // delivered 1 + undelivered 2
        'dlr-url': `${dlrUrl}?n=${to}&t=%d&id=%F`,
      }).toString();
      const res = await fetch(url);
      expect(res.status).toBe(202);
    }

    // The messages in Hongyan, with the text Kannel was given.
    let byNumber = new Map<string, { id: string; content: string; status: string }>();
    await waitFor(async () => {
      const list = (await api('/v1/messages?limit=100')).data as {
        id: string;
        to: string;
        content: string;
        status: string;
      }[];
      byNumber = new Map(list.map((m) => [m.to.replace(/^\+86/, ''), m]));
      return numbers.every((n) => byNumber.has(n));
    }, 'the messages in Hongyan');
    for (const [i, n] of numbers.entries()) expect(byNumber.get(n)!.content).toBe(texts[i]);

    // One report per message at its dlr-url: type 1 (delivered) or 2 (undelivered), naming the
    // message by Hongyan's id.
    await waitFor(
      () => numbers.every((n) => dlrs.some((d) => d.get('n') === n)),
      'a report for every message',
    );
    for (const n of numbers) {
      const reports = dlrs.filter((d) => d.get('n') === n);
      expect(reports).toHaveLength(1);
      expect(reports[0]!.get('t')).toBe(n.endsWith('9') ? '2' : '1');
      expect(reports[0]!.get('id')).toBe(byNumber.get(n)!.id);
    }
  });
});
