// Two Hongyan nodes on one PostgreSQL, and TLS: a customer submits over TLS to node A (api,
// worker, simulator) while its receiver is bound to node B (api only); each message's receipt is
// delivered by node B, the node holding the receiver bind (outbox + NOTIFY), once each.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../bench/hongyan-child.ts';
import { loadConfig } from '../src/app/config.ts';
import { type RunningHongyan, startHongyan } from '../src/app/start.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { creditForTests } from '../src/modules/billing/billing.testkit.ts';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { NpmEsme, ucs2 } from '../src/modules/smpp-server/npm-esme.testkit.ts';
import { createTestDatabase } from './helpers/db.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let nodeA: RunningHongyan;
let nodeB: RunningHongyan;
let tlsPort: number;
let db: Db;
let key: string;
let dir: string;
const esmes: NpmEsme[] = [];

function settings(extra: Record<string, string>) {
  return loadConfig({
    env: {
      DATABASE_URL: t.url,
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_SIMULATOR_PORT: '0',
      HONGYAN_SMPP_PORT: '0',
      HONGYAN_SMPP_OUTBOX_POLL_MS: '60000', // NOTIFY must do the waking
      HONGYAN_LOG_LEVEL: 'silent',
      HONGYAN_DATA_DIR: path.join(dir, 'data'),
      ...extra,
    },
    configFile: null,
  });
}

async function waitFor(fn: () => boolean, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  t = await createTestDatabase();
  dir = mkdtempSync(path.join(os.tmpdir(), 'hy-smpp-nodes-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const profile = path.join(dir, 'profiles.json');
  writeFileSync(
    profile,
    JSON.stringify({ profiles: [{ name: 'hongyan', base: 'default', undeliveredSuffixes: ['9'] }] }),
  );
  tlsPort = await freePort();
  nodeA = await startHongyan({
    config: settings({
      HONGYAN_SIMULATOR_PROFILE: profile,
      HONGYAN_SMPP_TLS_CERT: path.join(dir, 'cert.pem'),
      HONGYAN_SMPP_TLS_KEY: path.join(dir, 'key.pem'),
      HONGYAN_SMPP_TLS_PORT: String(tlsPort),
    }),
    roles: ['api', 'worker', 'simulator'],
    installSignalHandlers: false,
    json: true,
  });
  nodeB = await startHongyan({
    config: settings({}),
    roles: ['api'],
    installSignalHandlers: false,
    json: true,
  });
  db = createDb({ connectionString: t.url, max: 2 });
  const created = await createTenant({ name: 'two nodes', repository: createAccountsRepository(db.kysely) });
  await creditForTests(db.pool, created.tenant.id);
  await grantSending({ db: db.pool, tenantId: created.tenant.id, signatures: ['鸿雁'], freeText: true });
  key = created.apiKey.key;
});

afterAll(async () => {
  await Promise.all(esmes.map((e) => e.close().catch(() => {})));
  await nodeB?.stop();
  await nodeA?.stop();
  await db?.close();
  await t?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('customer SMPP server on two nodes, and over TLS', { timeout: 180_000 }, () => {
  it('delivers the receipts of messages submitted over TLS on node A to the receiver bound on node B', async () => {
    const res = await fetch(`${nodeB.httpUrl}/v1/smpp-accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const { account, password } = (await res.json()) as { account: { system_id: string }; password: string };

    const rx = await NpmEsme.connect(nodeB.smppPort!);
    esmes.push(rx);
    expect((await rx.bind('receiver', account.system_id, password)).command_status).toBe(0);
    const tx = await NpmEsme.connect(tlsPort, { tls: true });
    esmes.push(tx);
    expect((await tx.bind('transmitter', account.system_id, password)).command_status).toBe(0);

    const numbers = ['13800000701', '13800000719', '13800000722', '13800000739'];
    const ids = await Promise.all(
      numbers.map(async (n, i) => {
        const r = await tx.submit({
          destination_addr: n,
          data_coding: 8,
          short_message: ucs2(`【鸿雁】两个节点 ${i}`),
        });
        expect(r.command_status).toBe(0);
        return r.message_id!;
      }),
    );
    const receiptsOf = (id: string) =>
      rx.delivered.filter((d) => d.kind === 'receipt' && d.receiptedMessageId === id);
    await waitFor(() => ids.every((id) => receiptsOf(id).length > 0), 'every receipt on node B');
    for (const [i, id] of ids.entries()) {
      expect(receiptsOf(id)).toHaveLength(1);
      expect(receiptsOf(id)[0]!.text).toContain(numbers[i]!.endsWith('9') ? 'stat:UNDELIV' : 'stat:DELIVRD');
    }
    // Node A has no receiver of this account: nothing came to the transmitter.
    expect(tx.delivered).toHaveLength(0);
  });

  it('starts a node whose SMPP port is taken without the SMPP server, its HTTP API up', async () => {
    const nodeC = await startHongyan({
      config: settings({ HONGYAN_SMPP_PORT: String(nodeB.smppPort) }),
      roles: ['api'],
      installSignalHandlers: false,
      json: true,
    });
    try {
      expect(nodeC.smppPort).toBeNull();
      expect((await fetch(`${nodeC.httpUrl}/healthz`)).status).toBe(200);
    } finally {
      await nodeC.stop();
    }
  });
});
