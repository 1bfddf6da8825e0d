// Replies (MO) through the real process, from an SMSC that is not built on src/smpp (the npm
// `smpp` package): a reply in several parts (UDH, out of order, one part resent; and SAR) is
// shown once, reassembled; a reply without an extension code to a handset two tenants messaged
// goes to neither and is listed for the operator; a binary reply with NUL bytes is stored.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/app/config.ts';
import { type RunningHongyan, startHongyan } from '../src/app/start.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { creditForTests } from '../src/modules/billing/billing.testkit.ts';
import { createTestDatabase } from './helpers/db.ts';

const require = createRequire(import.meta.url);
interface NpmPdu {
  command: string;
  command_status: number;
  sequence_number: number;
  system_id?: string;
  response(options?: Record<string, unknown>): NpmPdu;
}
interface NpmSession {
  socket: { destroy(): void };
  on(event: 'pdu', fn: (pdu: NpmPdu) => void): void;
  on(event: 'close' | 'error', fn: (e?: unknown) => void): void;
  send(pdu: NpmPdu, onResponse?: (pdu: NpmPdu) => void): boolean;
}
const smpp = require('smpp') as {
  createServer(options: Record<string, unknown>, onSession: (s: NpmSession) => void): Server;
  PDU: new (command: string, options: Record<string, unknown>) => NpmPdu;
};

const HANDSET = '8613712345678';
const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../bin/hongyan.js');

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let server: Server;
let hongyan: RunningHongyan;
const bound = new Set<NpmSession>();
let nextId = 5001;
const tenants: { id: number; key: string; code: string }[] = [];

async function api(key: string, method: string, route: string, body?: unknown) {
  const res = await fetch(`${hongyan.httpUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends a deliver_sm from the handset; resolves with the command_status of our response. */
function deliver(fields: Record<string, unknown>): Promise<number> {
  const session = [...bound].at(-1)!;
  return new Promise((resolve) => {
    session.send(
      new smpp.PDU('deliver_sm', {
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: HANDSET,
        esm_class: 0,
        data_coding: 0,
        ...fields,
      }),
      (resp) => resolve(resp.command_status),
    );
  });
}

const udh8 = (ref: number, total: number, seq: number) => Buffer.from([5, 0, 3, ref, total, seq]);

async function start(): Promise<RunningHongyan> {
  const running = await startHongyan({
    config: loadConfig({
      env: {
        DATABASE_URL: t.url,
        HONGYAN_HTTP_PORT: '0',
        HONGYAN_SIMULATOR: 'off',
        HONGYAN_LOG_LEVEL: 'silent',
      },
      configFile: null,
    }),
    roles: ['api', 'worker'],
    installSignalHandlers: false,
    json: true,
  });
  await until('a bind', async () => (bound.size > 0 ? true : undefined));
  return running;
}

beforeAll(async () => {
  t = await createTestDatabase();
  server = smpp.createServer({}, (session) => {
    session.on('close', () => bound.delete(session));
    session.on('error', () => bound.delete(session));
    session.on('pdu', (pdu) => {
      if (pdu.command.startsWith('bind_')) {
        session.send(pdu.response({ system_id: 'NPM' }));
        bound.add(session);
      } else if (pdu.command === 'submit_sm') {
        session.send(pdu.response({ message_id: String(nextId++) }));
      } else if (pdu.command === 'enquire_link' || pdu.command === 'unbind') {
        session.send(pdu.response());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  await t.db.pool.query(
    `insert into channels (name, host, port, system_id, password, window_size, max_tps, source_addr, is_default)
     values ('npm', '127.0.0.1', $1, 'npm', 'x', 50, 1000, '106900', true)`,
    [(server.address() as AddressInfo).port],
  );
  const accounts = createAccountsRepository(t.db.kysely);
  for (const name of ['first', 'second']) {
    const { tenant, apiKey } = await createTenant({ name, repository: accounts });
    await creditForTests(t.db.pool, tenant.id);
    await grantSending({ db: t.db.pool, tenantId: tenant.id, signatures: ['鸿雁'], freeText: true });
    tenants.push({ id: Number(tenant.id), key: apiKey.key, code: tenant.sender_code! });
  }
  hongyan = await start();
  // Both tenants message the handset, so without an extension code its reply is anyone's guess.
  for (const tenant of tenants) {
    const sent = await api(tenant.key, 'POST', '/v1/messages', { to: `+${HANDSET}`, content: 'hello' });
    await until('the message sent', async () => {
      const m = (await api(tenant.key, 'GET', `/v1/messages/${sent.body.id}`)).body;
      return m.status === 'sent' ? m : undefined;
    });
  }
}, 60_000);

afterAll(async () => {
  await hongyan?.stop();
  for (const s of bound) s.socket.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await t?.drop();
});

describe('replies through the worker', () => {
  it('shows a reply sent in UDH parts once, reassembled, to the tenant its extension code names', async () => {
    const [first, second] = tenants;
    const text = Buffer.from('退订，谢谢。请不要再发短信给我了', 'utf16le').swap16();
    const cut = [0, 11, 22, text.length];
    const part = (seq: number) =>
      deliver({
        destination_addr: `106900${first!.code}`,
        esm_class: 0x40,
        data_coding: 8,
        short_message: Buffer.concat([udh8(0x5a, 3, seq), text.subarray(cut[seq - 1], cut[seq])]),
      });
    // Out of order, and part 3 resent as a carrier does when it missed our response.
    const statuses = [await part(3), await part(1), await part(3), await part(2)];
    expect(statuses).toEqual([0, 0, 0, 0]);
    const replies = await until('the reassembled reply', async () => {
      const data = (await api(first!.key, 'GET', '/v1/replies')).body.data;
      return data.length > 0 ? data : undefined;
    });
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({
      from: `+${HANDSET}`,
      to: `106900${first!.code}`,
      content: '退订，谢谢。请不要再发短信给我了',
      parts: 3,
      incomplete: false,
    });
    expect((await api(second!.key, 'GET', '/v1/replies')).body.data).toEqual([]);
  }, 30_000);

  it('gives a SAR reply without an extension code to neither tenant and lists it for the operator', async () => {
    const statuses = await Promise.all(
      [2, 1].map((seq) =>
        deliver({
          destination_addr: '106900',
          short_message: Buffer.from(seq === 1 ? 'STOP ' : 'ALL'),
          sar_msg_ref_num: 4242,
          sar_total_segments: 2,
          sar_segment_seqnum: seq,
        }),
      ),
    );
    expect(statuses).toEqual([0, 0]);
    await until('the unattributed reply', async () => {
      const r = await t.db.pool.query('select 1 from inbound_messages where tenant_id is null');
      return r.rows.length > 0 ? true : undefined;
    });
    const { stdout } = await run(process.execPath, [BIN, 'reply', 'list', '--unattributed', '--json'], {
      env: { ...process.env, DATABASE_URL: t.url, HONGYAN_LOG_LEVEL: 'silent' },
    });
    const listed = JSON.parse(stdout) as unknown[];
    expect(listed).toEqual([
      expect.objectContaining({
        tenant_id: null,
        attribution: 'ambiguous',
        candidate_tenant_ids: tenants.map((x) => String(x.id)).sort(),
        content: 'STOP ALL',
        parts: 2,
      }),
    ]);
    for (const tenant of tenants) {
      const contents = (await api(tenant.key, 'GET', '/v1/replies')).body.data.map((r: any) => r.content);
      expect(contents).not.toContain('STOP ALL');
    }
  }, 30_000);

  it('loses no part acknowledged before a restart: the reply is whole after it', async () => {
    const [first] = tenants;
    const part = (seq: number) =>
      deliver({
        destination_addr: `106900${first!.code}`,
        esm_class: 0x40,
        short_message: Buffer.concat([
          udh8(0x77, 2, seq),
          Buffer.from(seq === 1 ? 'before the ' : 'restart'),
        ]),
      });
    expect(await part(1)).toBe(0);
    await hongyan.stop();
    await until('the old bind closed', async () => (bound.size === 0 ? true : undefined));
    hongyan = await start();
    expect(await part(2)).toBe(0);
    const reply = await until('the reassembled reply', async () => {
      const data = (await api(first!.key, 'GET', '/v1/replies')).body.data;
      return data.find((r: any) => r.content === 'before the restart');
    });
    expect(reply).toMatchObject({ parts: 2, incomplete: false });
  }, 60_000);

  it('stores a binary reply with NUL bytes instead of refusing it', async () => {
    const [first] = tenants;
    const status = await deliver({
      destination_addr: `106900${first!.code}`,
      data_coding: 4,
      short_message: Buffer.from([0x54, 0x00, 0x44]),
    });
    expect(status).toBe(0);
    const reply = await until('the binary reply', async () => {
      const data = (await api(first!.key, 'GET', '/v1/replies')).body.data;
      return data.find((r: any) => r.content === 'TD');
    });
    expect(reply).toMatchObject({ content: 'TD', parts: 1 });
  }, 30_000);
});
