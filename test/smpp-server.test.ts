// The customer SMPP server through the real process (`hongyan start`: api, worker, simulator) with
// the npm `smpp` package as the customer's ESME (not our own stack): binds and their errors,
// single and multi-part submits (UDH 8- and 16-bit, SAR), submit_multi and data_sm, each message's
// own receipt with its own stat, replies (MO), throttling, receipts stored while no receiver is
// bound, malformed PDUs, and the accounts over the API and the CLI.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/app/config.ts';
import { type RunningHongyan, startHongyan } from '../src/app/start.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { creditForTests } from '../src/modules/billing/billing.testkit.ts';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { smppServerRefusals } from '../src/modules/metrics/metrics.registry.ts';
import {
  type Delivered,
  NpmEsme,
  sarParts,
  ucs2,
  udhParts,
} from '../src/modules/smpp-server/npm-esme.testkit.ts';
import { createTestDatabase } from './helpers/db.ts';

const ESME_ROK = 0;
const ESME_RINVBNDSTS = 0x04;
const ESME_RALYBND = 0x05;
const ESME_RINVPASWD = 0x0e;
const ESME_RINVSYSID = 0x0f;
const ESME_RBINDFAIL = 0x0d;
const ESME_RINVDSTADR = 0x0b;
const ESME_RTHROTTLED = 0x58;
const ESME_RINVCMDID = 0x03;
const ESME_RCANCELFAIL = 0x11;
const ESME_RQUERYFAIL = 0x67;
const GENERIC_NACK = 0x80000000;

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let hongyan: RunningHongyan;
let db: Db;
let key: string;
let tenantId: number;
let dir: string;
let config: ReturnType<typeof loadConfig>;
const esmes: NpmEsme[] = [];

async function api(method: string, route: string, body?: unknown) {
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

async function waitFor<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 60_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function createAccount(body: Record<string, unknown> = {}) {
  const res = await api('POST', '/v1/smpp-accounts', body);
  expect(res.status).toBe(201);
  return res.body as { account: { id: number; system_id: string }; password: string };
}

async function bound(mode: 'transmitter' | 'receiver' | 'transceiver', systemId: string, password: string) {
  const esme = await NpmEsme.connect(hongyan.smppPort!);
  esmes.push(esme);
  const resp = await esme.bind(mode, systemId, password);
  expect(resp.command_status).toBe(ESME_ROK);
  expect(resp.system_id).toBe('HONGYAN');
  return esme;
}

function receiptsFor(esme: NpmEsme, id: string): Delivered[] {
  return esme.delivered.filter((d) => d.kind === 'receipt' && d.receiptedMessageId === id);
}

beforeAll(async () => {
  t = await createTestDatabase();
  dir = mkdtempSync(path.join(os.tmpdir(), 'hy-smpp-server-'));
  // Numbers ending in 9 are UNDELIV (err 001), the rest DELIVRD; every recipient replies.
  const profile = path.join(dir, 'profiles.json');
  writeFileSync(
    profile,
    JSON.stringify({
      profiles: [
        {
          name: 'hongyan',
          base: 'default',
          undeliveredSuffixes: ['9'],
          replyRate: 1,
          replies: ['roger that'],
          replyLatencyMs: { min: 50, median: 100, max: 200 },
        },
      ],
    }),
  );
  config = loadConfig({
    env: {
      DATABASE_URL: t.url,
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_SIMULATOR_PORT: '0',
      HONGYAN_SMPP_PORT: '0',
      HONGYAN_SIMULATOR_PROFILE: profile,
      HONGYAN_SMPP_OUTBOX_POLL_MS: '100',
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
  db = createDb({ connectionString: t.url, max: 3 });
  const created = await createTenant({
    name: 'smpp customer',
    repository: createAccountsRepository(db.kysely),
  });
  tenantId = created.tenant.id;
  await creditForTests(db.pool, tenantId);
  await grantSending({ db: db.pool, tenantId, signatures: ['鸿雁'], freeText: true });
  key = created.apiKey.key;
});

afterAll(async () => {
  await Promise.all(esmes.map((e) => e.close().catch(() => {})));
  await hongyan?.stop();
  await db?.close();
  await t?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The refusals /metrics counts for a command and status (hongyan_smpp_server_refusals_total). */
async function refusals(command: string, status: number): Promise<number> {
  const label = `0x${status.toString(16).padStart(8, '0')}`;
  const { values } = await smppServerRefusals.get();
  return values.find((v) => v.labels.command === command && v.labels.status === label)?.value ?? 0;
}

describe('customer SMPP server (npm smpp client)', { timeout: 180_000 }, () => {
  it('refuses wrong passwords, unknown system_ids, a second bind and a submit before bind', async () => {
    const { account, password } = await createAccount();
    expect(account.system_id.length).toBeLessThanOrEqual(15);
    expect(password).toMatch(/^[A-Za-z0-9]{8}$/);

    const wrongBefore = await refusals('bind_transceiver', ESME_RINVPASWD);
    const wrong = await NpmEsme.connect(hongyan.smppPort!);
    esmes.push(wrong);
    expect((await wrong.bind('transceiver', account.system_id, 'nope1234')).command_status).toBe(
      ESME_RINVPASWD,
    );
    await waitFor(() => wrong.isClosed, 'the refused connection to close');

    const unknown = await NpmEsme.connect(hongyan.smppPort!);
    esmes.push(unknown);
    expect((await unknown.bind('transmitter', 'nosuchid', password)).command_status).toBe(ESME_RINVSYSID);

    const early = await NpmEsme.connect(hongyan.smppPort!);
    esmes.push(early);
    const before = await early.submit({ destination_addr: '13800138000', short_message: Buffer.from('hi') });
    expect(before.command_status).toBe(ESME_RINVBNDSTS);
    // A refused bind is counted for /metrics by command and status.
    expect(await refusals('bind_transceiver', ESME_RINVPASWD)).toBe(wrongBefore + 1);
    expect((await early.bind('transmitter', account.system_id, password)).command_status).toBe(ESME_ROK);
    expect((await early.bind('transmitter', account.system_id, password)).command_status).toBe(ESME_RALYBND);
  });

  it('gives each single submit its Hongyan message id, its own receipt with its own stat, and the replies', async () => {
    const { account, password } = await createAccount();
    const esme = await bound('transceiver', account.system_id, password);
    const numbers = ['13800000010', '13800000021', '13800000032', '13800000049', '13800000059'];
    const responses = await Promise.all(
      numbers.map((n, i) =>
        esme.submit({
          source_addr: '10690001',
          destination_addr: n,
          data_coding: 8,
          short_message: ucs2(`【鸿雁】单条短信 ${i}`),
        }),
      ),
    );
    const ids = responses.map((r) => {
      expect(r.command_status).toBe(ESME_ROK);
      return r.message_id!;
    });
    expect(new Set(ids).size).toBe(numbers.length);
    for (const [i, id] of ids.entries()) {
      const message = await api('GET', `/v1/messages/${id}`);
      expect(message.status).toBe(200);
      expect(message.body.to).toBe(`+86${numbers[i]}`);
      expect(message.body.content).toBe(`【鸿雁】单条短信 ${i}`);
    }

    await waitFor(() => ids.every((id) => receiptsFor(esme, id).length > 0), 'a receipt for every message');
    for (const [i, id] of ids.entries()) {
      const receipts = receiptsFor(esme, id);
      expect(receipts).toHaveLength(1);
      const undelivered = numbers[i]!.endsWith('9');
      expect(receipts[0]!.text).toMatch(
        new RegExp(
          `^id:${id} sub:001 dlvrd:00${undelivered ? 0 : 1} submit date:\\d{10} done date:\\d{10} stat:${undelivered ? 'UNDELIV' : 'DELIVRD'} err:\\d{3}`,
        ),
      );
      expect(receipts[0]!.messageState).toBe(undelivered ? 5 : 2);
      // The receipt comes from the handset to the address the customer sent from.
      expect(receipts[0]!.from).toBe(numbers[i]);
      expect(receipts[0]!.to).toBe('10690001');
    }
    // Every handset that got its message replied: each reply reaches the bind as a plain deliver_sm.
    const reached = numbers.filter((n) => !n.endsWith('9'));
    await waitFor(
      () => reached.every((n) => esme.delivered.some((d) => d.kind === 'reply' && d.from.endsWith(n))),
      'a reply from every handset reached',
    );
    expect(esme.delivered.filter((d) => d.kind === 'reply').every((d) => d.text === 'roger that')).toBe(true);
  });

  it('reassembles UDH (8- and 16-bit) and SAR parts into one message each, answered with its id', async () => {
    const { account, password } = await createAccount({ window: 100 });
    const esme = await bound('transceiver', account.system_id, password);
    const long = (tag: string) => `【鸿雁】${tag}：` + '长短信内容，测试拼接。'.repeat(14);
    const eight = udhParts(long('八位'), 0x2a, 8);
    const sixteen = udhParts(long('十六位'), 0x1234, 16);
    const sar = sarParts(long('SAR'));
    expect(eight.length).toBeGreaterThan(1);
    // Parts out of order, and the three messages interleaved on one bind.
    const sends = [
      ...eight.map((sm, i) => ({ sm, esm: 0x40, to: '13800000101', tlvs: {}, order: i % 2 ? i : -i })),
      ...sixteen.map((sm) => ({ sm, esm: 0x40, to: '13800000102', tlvs: {}, order: 0.5 })),
      ...sar.map((sm, i) => ({
        sm,
        esm: 0,
        to: '13800000103',
        tlvs: { sar_msg_ref_num: 77, sar_total_segments: sar.length, sar_segment_seqnum: i + 1 },
        order: 0.25,
      })),
    ].reverse();
    const responses = await Promise.all(
      sends.map((s) =>
        esme
          .submit({
            destination_addr: s.to,
            esm_class: s.esm,
            data_coding: 8,
            short_message: s.sm,
            ...s.tlvs,
          })
          .then((r) => ({ to: s.to, r })),
      ),
    );
    const idsByNumber = new Map<string, Set<string>>();
    for (const { to, r } of responses) {
      expect(r.command_status).toBe(ESME_ROK);
      idsByNumber.set(to, (idsByNumber.get(to) ?? new Set()).add(r.message_id!));
    }
    // Every part of one message is answered with the same id: the message's.
    for (const ids of idsByNumber.values()) expect(ids.size).toBe(1);
    const expected: Record<string, string> = {
      '13800000101': long('八位'),
      '13800000102': long('十六位'),
      '13800000103': long('SAR'),
    };
    for (const [to, ids] of idsByNumber) {
      const id = [...ids][0]!;
      const message = await api('GET', `/v1/messages/${id}`);
      expect(message.body.content).toBe(expected[to]);
      expect(message.body.parts).toBeGreaterThan(1);
      await waitFor(() => receiptsFor(esme, id).length > 0, `the receipt of ${id}`);
    }
    const all = [...idsByNumber.values()].map((s) => [...s][0]!);
    for (const id of all) expect(receiptsFor(esme, id)).toHaveLength(1);
  });

  it('takes submit_multi (one message per destination) and data_sm (message_payload)', async () => {
    const { account, password } = await createAccount();
    const esme = await bound('transceiver', account.system_id, password);
    const multi = await esme.request('submit_multi', {
      source_addr: '10690002',
      dest_address: [
        { dest_addr_ton: 0, dest_addr_npi: 1, destination_addr: '13800000201' },
        { dest_addr_ton: 0, dest_addr_npi: 1, destination_addr: 'not-a-number' },
      ],
      registered_delivery: 1,
      data_coding: 8,
      short_message: ucs2('【鸿雁】群发'),
    });
    expect(multi.command_status).toBe(ESME_ROK);
    expect(multi.unsuccess_sme).toHaveLength(1);
    expect((multi.unsuccess_sme as { error_status_code: number }[])[0]!.error_status_code).toBe(
      ESME_RINVDSTADR,
    );
    const multiMessage = await api('GET', `/v1/messages/${multi.message_id}`);
    expect(multiMessage.body.to).toBe('+8613800000201');

    const data = await esme.request('data_sm', {
      source_addr: '10690002',
      destination_addr: '13800000202',
      registered_delivery: 1,
      data_coding: 8,
      message_payload: ucs2('【鸿雁】数据短信'),
    });
    expect(data.command_status).toBe(ESME_ROK);
    expect((await api('GET', `/v1/messages/${data.message_id}`)).body.content).toBe('【鸿雁】数据短信');
    await waitFor(
      () =>
        receiptsFor(esme, multi.message_id!).length === 1 && receiptsFor(esme, data.message_id!).length === 1,
      'both receipts',
    );
  });

  it("answers query_sm and cancel_sm for its tenant's messages only, and cancels only what is not sent yet", async () => {
    const { account, password } = await createAccount();
    const esme = await bound('transceiver', account.system_id, password);
    const sent = await esme.submit({
      source_addr: '10690001',
      destination_addr: '13800000070',
      short_message: Buffer.from('【鸿雁】query me'),
    });
    expect(sent.command_status).toBe(ESME_ROK);
    const sentId = sent.message_id!;
    // A scheduled message of the same tenant (through the API): held until tomorrow.
    const later = await api('POST', '/v1/messages', {
      to: '+8613800000071',
      content: '【鸿雁】tomorrow',
      send_at: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(later.status, JSON.stringify(later.body)).toBe(202);
    const heldId = String(later.body.id);
    // A message of another tenant.
    const other = await createTenant({
      name: 'other smpp tenant',
      repository: createAccountsRepository(db.kysely),
    });
    const { rows } = await db.pool.query<{ id: string }>(
      `insert into messages (tenant_id, type, priority, recipient, content, encoding, parts, status)
       values ($1, 'notification', 1, '+8613800000072', 'not yours', 'gsm7', 1, 'held') returning id::text`,
      [other.tenant.id],
    );
    const foreignId = rows[0]!.id;

    const query = (id: string) => esme.request('query_sm', { message_id: id, source_addr: '10690001' });
    const cancel = (id: string) =>
      esme.request('cancel_sm', { message_id: id, source_addr: '10690001', destination_addr: '13800000071' });

    // Once final: DELIVERED, with its final date; not cancelable any more.
    await waitFor(
      async () => (await api('GET', `/v1/messages/${sentId}`)).body.status === 'delivered',
      'delivered',
    );
    const done = await query(sentId);
    expect(done.command_status).toBe(ESME_ROK);
    expect(done.message_id).toBe(sentId);
    expect(done.message_state).toBe(2); // DELIVERED
    // Read back by the npm package as a Date (our absolute time, in UTC): when it became final.
    expect(done.final_date).toBeInstanceOf(Date);
    expect(Math.abs((done.final_date as Date).getTime() - Date.now())).toBeLessThan(600_000);
    expect(done.error_code).toBe(0);
    expect((await cancel(sentId)).command_status).toBe(ESME_RCANCELFAIL);

    // Held: ENROUTE without a final date; canceled by cancel_sm, then DELETED, and canceled over the API.
    const held = await query(heldId);
    expect([held.command_status, held.message_state, held.final_date]).toEqual([ESME_ROK, 1, '']);
    expect((await cancel(heldId)).command_status).toBe(ESME_ROK);
    const canceled = await query(heldId);
    expect([canceled.command_status, canceled.message_state]).toEqual([ESME_ROK, 4]);
    expect(Math.abs((canceled.final_date as Date).getTime() - Date.now())).toBeLessThan(600_000);
    expect((await api('GET', `/v1/messages/${heldId}`)).body.status).toBe('canceled');
    expect((await cancel(heldId)).command_status).toBe(ESME_RCANCELFAIL);

    // Another tenant's message, an id that was never given, and one that is not an id: not found.
    for (const id of [foreignId, '999999999', 'abc', '']) {
      expect((await query(id)).command_status).toBe(ESME_RQUERYFAIL);
      expect((await cancel(id)).command_status).toBe(ESME_RCANCELFAIL);
    }
    const { rows: foreign } = await db.pool.query('select status from messages where id = $1', [foreignId]);
    expect(foreign[0]!.status).toBe('held');
    // replace_sm stays unsupported.
    const replace = await esme.request('replace_sm', { message_id: heldId, short_message: Buffer.from('x') });
    expect(replace.command_status).toBe(ESME_RINVCMDID);
  });

  it('throttles above the account TPS with ESME_RTHROTTLED', async () => {
    const { account, password } = await createAccount({ tps: 2 });
    const esme = await bound('transmitter', account.system_id, password);
    const throttledBefore = await refusals('submit_sm', ESME_RTHROTTLED);
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        esme.submit({
          destination_addr: `1380000030${i % 10}`,
          short_message: Buffer.from(`【鸿雁】t${i}`, 'latin1'),
          data_coding: 0,
          registered_delivery: 0,
        }),
      ),
    );
    const statuses = responses.map((r) => r.command_status);
    expect(statuses.filter((s) => s === ESME_ROK).length).toBeGreaterThanOrEqual(1);
    // A bucket of 2 tokens refilling 2/s cannot take 12 submits sent at once.
    expect(statuses.filter((s) => s === ESME_RTHROTTLED).length).toBeGreaterThanOrEqual(6);
    expect(statuses.every((s) => s === ESME_ROK || s === ESME_RTHROTTLED)).toBe(true);
    expect(await refusals('submit_sm', ESME_RTHROTTLED)).toBe(
      throttledBefore + statuses.filter((s) => s === ESME_RTHROTTLED).length,
    );
  });

  it('stores receipts while no receiver is bound and delivers them once one binds', async () => {
    const { account, password } = await createAccount();
    const tx = await bound('transmitter', account.system_id, password);
    const numbers = ['13800000401', '13800000409', '13800000412'];
    const ids = await Promise.all(
      numbers.map(async (n) => {
        const r = await tx.submit({
          destination_addr: n,
          data_coding: 8,
          short_message: ucs2('【鸿雁】稍后回执'),
        });
        expect(r.command_status).toBe(ESME_ROK);
        return r.message_id!;
      }),
    );
    // Every message final in Hongyan while only a transmitter is bound.
    await waitFor(async () => {
      for (const id of ids) {
        const m = await api('GET', `/v1/messages/${id}`);
        if (!['delivered', 'undelivered'].includes(m.body.status)) return false;
      }
      return true;
    }, 'all messages final');
    expect(tx.delivered).toHaveLength(0);
    const rx = await bound('receiver', account.system_id, password);
    await waitFor(() => ids.every((id) => receiptsFor(rx, id).length === 1), 'the stored receipts');
    for (const [i, id] of ids.entries())
      expect(receiptsFor(rx, id)[0]!.text).toContain(
        numbers[i]!.endsWith('9') ? 'stat:UNDELIV' : 'stat:DELIVRD',
      );
  });

  it('answers a malformed PDU with generic_nack and keeps that session and the others working', async () => {
    const { account, password } = await createAccount();
    const other = await bound('transmitter', account.system_id, password);
    const raw = net.connect(hongyan.smppPort!, '127.0.0.1');
    await new Promise<void>((r) => raw.once('connect', () => r()));
    const replies: Buffer[] = [];
    raw.on('data', (b: Buffer) => replies.push(b));
    // An unknown command id, then a submit_sm whose body is cut short: both framed correctly.
    const unknown = Buffer.alloc(16);
    unknown.writeUInt32BE(16, 0);
    unknown.writeUInt32BE(0x000000ff, 4);
    unknown.writeUInt32BE(7, 12);
    const cut = Buffer.alloc(20);
    cut.writeUInt32BE(20, 0);
    cut.writeUInt32BE(0x00000004, 4);
    cut.writeUInt32BE(8, 12);
    raw.write(Buffer.concat([unknown, cut]));
    await waitFor(() => Buffer.concat(replies).length >= 32, 'two answers');
    const answer = Buffer.concat(replies);
    expect(answer.readUInt32BE(4)).toBe(GENERIC_NACK);
    expect(answer.readUInt32BE(12)).toBe(7);
    expect(answer.readUInt32BE(16 + 12)).toBe(8);
    expect(answer.readUInt32BE(16 + 8)).not.toBe(0);
    raw.destroy();
    const r = await other.submit({
      destination_addr: '13800000501',
      data_coding: 8,
      short_message: ucs2('【鸿雁】照常'),
    });
    expect(r.command_status).toBe(ESME_ROK);
  });

  it('manages accounts over the API (list, disable: binds refused) and the CLI (--json)', async () => {
    const { account, password } = await createAccount({ system_id: 'acme-01', allow: ['127.0.0.1/32'] });
    expect(account.system_id).toBe('acme-01');
    expect((await api('POST', '/v1/smpp-accounts', { system_id: 'acme-01' })).body.error.code).toBe(
      'smpp.system_id_taken',
    );
    const bad = await api('POST', '/v1/smpp-accounts', {
      system_id: 'much-too-long-system-id',
      allow: ['nope'],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('smpp.account_invalid');
    const list = await api('GET', '/v1/smpp-accounts');
    expect(list.body.data.map((a: { system_id: string }) => a.system_id)).toContain('acme-01');
    expect(JSON.stringify(list.body)).not.toContain(password);

    const session = await bound('transceiver', 'acme-01', password);
    const disabled = await api('POST', `/v1/smpp-accounts/${account.id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body.disabled_at).not.toBeNull();
    await waitFor(() => session.isClosed, 'the bound session of the disabled account to close', 30_000);
    const again = await NpmEsme.connect(hongyan.smppPort!);
    esmes.push(again);
    expect((await again.bind('transceiver', 'acme-01', password)).command_status).toBe(ESME_RBINDFAIL);
    expect((await api('POST', '/v1/smpp-accounts/999999/disable')).status).toBe(404);

    const run = promisify(execFile);
    const { stdout } = await run(
      process.execPath,
      [
        path.resolve(import.meta.dirname, '../bin/hongyan.js'),
        'smpp-account',
        'create',
        '--tenant',
        String(tenantId),
        '--json',
      ],
      {
        env: {
          ...process.env,
          DATABASE_URL: t.url,
          HONGYAN_LOG_LEVEL: 'silent',
          HONGYAN_DATA_DIR: path.join(dir, 'data'),
        },
      },
    );
    const printed = JSON.parse(stdout) as { system_id: string; password: string };
    expect(printed.system_id.length).toBeLessThanOrEqual(15);
    expect(printed.password).toHaveLength(8);
    await bound('transmitter', printed.system_id, printed.password);
  });
});
