// The harness of test/external-smsc.test.ts: one scenario is a fresh database, an SMSC we did not
// write (bench/npm-smsc.ts) and a real `hongyan start` child; the verdict compares every stored
// message with what the SMSC took and decided for its recipient.
import net from 'node:net';
import { expect } from 'vitest';
import { type HongyanChild, sendBatches, startHongyanChild } from '../../bench/hongyan-child.ts';
import { type NpmSmsc, type NpmSmscOptions, outcomeByLastDigit, startNpmSmsc } from '../../bench/npm-smsc.ts';
import { readReceiptCounts } from '../../src/modules/receipts/receipts.sql.ts';
import { createTestDatabase } from './db.ts';
import { FINAL_STATUSES } from '../../src/modules/messages/messages.models.ts';

export type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
export type Convention = 'as-is' | 'hex-resp-decimal-receipt' | 'decimal-resp-hex-receipt' | 'auto';

const FINAL: string[] = [...FINAL_STATUSES];
const STATUS_OF_STAT: Record<string, string> = {
  DELIVRD: 'delivered',
  UNDELIV: 'undelivered',
  EXPIRED: 'expired',
  REJECTD: 'rejected',
};

export interface Scenario {
  db: TestDb;
  smsc: NpmSmsc;
  hongyan: HongyanChild;
}
export async function startScenario(
  smscOptions: NpmSmscOptions,
  channel: { idConvention?: Convention; bindMode?: string } = {},
): Promise<Scenario> {
  const db = await createTestDatabase();
  const smsc = await startNpmSmsc(smscOptions);
  const hasConvention =
    (
      await db.db.pool.query(
        `select 1 from information_schema.columns where table_name = 'channels' and column_name = 'id_convention'`,
      )
    ).rowCount === 1;
  if (channel.idConvention !== undefined && channel.idConvention !== 'as-is' && !hasConvention)
    throw new Error(`channels.id_convention does not exist yet: cannot set ${channel.idConvention}`);
  await db.db.pool.query(
    `insert into channels (name, host, port, system_id, password, window_size, max_tps, source_addr, enabled, is_default, bind_mode${hasConvention ? ', id_convention' : ''})
     values ('npm-smsc', '127.0.0.1', $1, 'hongyan', 'x', 1000, 100000, '106900', true, true, $2${hasConvention ? ', $3' : ''})`,
    [
      smsc.port,
      channel.bindMode ?? 'transceiver',
      ...(hasConvention ? [channel.idConvention ?? 'as-is'] : []),
    ],
  );
  const hongyan = await startHongyanChild({
    env: { DATABASE_URL: db.url, HONGYAN_SIMULATOR: 'off' },
  });
  return { db, smsc, hongyan };
}

/** A distinct recipient per message, its last digit cycling 0-9 (so 80 % delivered). */
export const phone = (i: number) => `+86138${String(10_000_000 + i).slice(-8)}`;

export async function sendInBatches(s: Scenario, count: number, content = 'external smsc {code}') {
  const recipients = Array.from({ length: count }, (_, i) => ({
    to: phone(i),
    vars: { code: String(i).padStart(6, '0') },
  }));
  await sendBatches({ url: s.hongyan.url, key: s.hongyan.key, recipients, content, batchSize: 3000 });
}

/** Waits until every message is final, or until none became final for `stallMs`. */
export async function waitFinal(
  s: Scenario,
  expected: number,
  {
    stallMs = 15_000,
    timeoutMs = 120_000,
    progress,
  }: { stallMs?: number; timeoutMs?: number; progress?: (final: number, byStatus: string) => void } = {},
) {
  const start = Date.now();
  let last = -1;
  let lastChange = Date.now();
  let lastReport = 0;
  for (;;) {
    const { rows } = await s.db.db.pool.query<{ n: number }>(
      `select count(*)::int as n from messages where status = any($1)`,
      [FINAL],
    );
    const n = rows[0]!.n;
    if (progress && (n >= expected || Date.now() - lastReport >= 5000)) {
      lastReport = Date.now();
      progress(n, await statusCounts(s));
    }
    if (n >= expected) return;
    if (n !== last) [last, lastChange] = [n, Date.now()];
    if (Date.now() - lastChange > stallMs || Date.now() - start > timeoutMs) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** "sent 120, delivered 4000, ..." and parked receipts: what a progress line shows. */
async function statusCounts(s: Scenario): Promise<string> {
  const { rows } = await s.db.db.pool.query<{ status: string; n: number }>(
    `select status, count(*)::int as n from messages group by status
     union all select 'parked receipts', count(*)::int from pending_receipts order by 1`,
  );
  return rows.map((r) => `${r.status} ${r.n}`).join(', ');
}

export interface Verdict {
  messages: number;
  notFinal: number;
  wrongOutcome: number;
  notItsOwnCarrierId: number;
  neverReachedSmsc: number;
  sentTwiceUnflagged: number;
  samples: string[];
}

/** Compares every stored message with what the SMSC took and decided for its recipient. */
export async function verdict(s: Scenario): Promise<Verdict> {
  const { rows } = await s.db.db.pool.query<{
    recipient: string;
    status: string;
    error_code: string | null;
    carrier_message_id: string | null;
    duplicate_risk: boolean;
    parts: number;
  }>(`select recipient, status, error_code, carrier_message_id, duplicate_risk, parts from messages`);
  const byRecipient = new Map<string, { id: string }[]>();
  for (const r of s.smsc.submits) {
    const list = byRecipient.get(r.recipient);
    if (list === undefined) byRecipient.set(r.recipient, [r]);
    else list.push(r);
  }
  const v: Verdict = {
    messages: rows.length,
    notFinal: 0,
    wrongOutcome: 0,
    notItsOwnCarrierId: 0,
    neverReachedSmsc: 0,
    sentTwiceUnflagged: 0,
    samples: [],
  };
  const note = (text: string) => {
    if (v.samples.length < 8) v.samples.push(text);
  };
  for (const m of rows) {
    const handset = m.recipient.replace(/^\+/, '');
    const taken = byRecipient.get(handset) ?? [];
    const { stat, err } = outcomeByLastDigit(handset);
    const status = STATUS_OF_STAT[stat]!;
    const errorCode = stat === 'DELIVRD' ? null : `carrier.${stat}.${err}`;
    if (!FINAL.includes(m.status)) {
      v.notFinal++;
      note(`${m.recipient} still ${m.status} (carrier id ${m.carrier_message_id})`);
    } else if (m.status !== status || m.error_code !== errorCode) {
      v.wrongOutcome++;
      note(`${m.recipient} ${m.status}/${m.error_code}, the SMSC decided ${status}/${errorCode}`);
    }
    if (taken.length === 0) v.neverReachedSmsc++;
    else if (m.carrier_message_id !== null && !taken.some((t) => t.id === m.carrier_message_id)) {
      v.notItsOwnCarrierId++;
      note(
        `${m.recipient} has carrier id ${m.carrier_message_id}, the SMSC gave it ${taken.map((t) => t.id)}`,
      );
    }
    if (taken.length > m.parts && !m.duplicate_risk) {
      v.sentTwiceUnflagged++;
      note(`${m.recipient} reached the SMSC ${taken.length} times for ${m.parts} part(s), not flagged`);
    }
  }
  return v;
}

export function expectEachOwnOutcome(v: Verdict, count: number) {
  const { samples, ...counts } = v;
  expect({ ...counts, samples: samples.length > 0 ? samples : undefined }).toEqual({
    messages: count,
    notFinal: 0,
    wrongOutcome: 0,
    notItsOwnCarrierId: 0,
    neverReachedSmsc: 0,
    sentTwiceUnflagged: 0,
    samples: undefined,
  });
}

/**
 * Hongyan's receipt counters agree with the SMSC: one receipt applied per answered submit; the
 * receipt of a submit whose answer was lost waits parked (its id was never learned), none expired.
 */
export async function expectReceiptsCounted(s: Scenario) {
  const [counts] = await readReceiptCounts(s.db.db.pool);
  const answered = s.smsc.submits.filter((r) => r.answered).length;
  const unanswered = s.smsc.submits.length - answered;
  // Each unanswered submit's receipt waits parked, once: across a dropped session the SMSC may
  // deliver one twice (its deliver_sm_resp lost with the session), and the copy is a duplicate.
  expect({ applied: counts?.applied, expired: counts?.expired, waiting: counts?.waiting }).toEqual({
    applied: answered,
    expired: 0,
    waiting: unanswered,
  });
  expect(counts!.received).toBeGreaterThanOrEqual(s.smsc.submits.length);
}

/** Messages flagged duplicate_risk (submitted again after an attempt the carrier may have taken). */
export async function duplicateRisks(s: Scenario): Promise<number> {
  const { rows } = await s.db.db.pool.query<{ n: number }>(
    'select count(*)::int as n from messages where duplicate_risk',
  );
  return rows[0]!.n;
}

/** The throttle count Hongyan logged last ('carrier is throttling this channel'), 0 if none. */
export function throttlingLogged(s: Scenario): number {
  const logged = s.hongyan.logs.filter((l) => l.msg === 'carrier is throttling this channel');
  return Math.max(0, ...logged.map((l) => Number(l.throttled)));
}

/** Run, wait, judge: every message with its own outcome, each taken once by the SMSC. */
export async function runBatches(s: Scenario, count: number) {
  await sendInBatches(s, count);
  await waitFinal(s, count);
  const v = await verdict(s);
  expectEachOwnOutcome(v, count);
  await expectReceiptsCounted(s);
  return v;
}

/** A bare SMPP client on a socket, written here so that it shares no code with either side. */
export async function rawSession(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const received: { id: number; status: number; seq: number; body: Buffer }[] = [];
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 16 && buffer.length >= buffer.readUInt32BE(0)) {
      const len = buffer.readUInt32BE(0);
      const pdu = {
        id: buffer.readUInt32BE(4),
        status: buffer.readUInt32BE(8),
        seq: buffer.readUInt32BE(12),
        body: buffer.subarray(16, len),
      };
      buffer = buffer.subarray(len);
      received.push(pdu);
      if (pdu.id === 0x05) write(0x80000005, pdu.seq, Buffer.from([0])); // deliver_sm_resp
    }
  });
  const cstr = (text: string) => Buffer.from(`${text}\0`, 'latin1');
  function write(id: number, seq: number, body: Buffer) {
    const head = Buffer.alloc(16);
    head.writeUInt32BE(16 + body.length, 0);
    head.writeUInt32BE(id, 4);
    head.writeUInt32BE(0, 8);
    head.writeUInt32BE(seq, 12);
    socket.write(Buffer.concat([head, body]));
  }
  return {
    received,
    bind: () =>
      write(0x09, 1, Buffer.concat([cstr('raw'), cstr('x'), cstr(''), Buffer.from([0x34, 0, 0]), cstr('')])),
    submit(seq: number, to: string, text: string) {
      const sm = Buffer.from(text, 'latin1');
      write(
        0x04,
        seq,
        Buffer.concat([
          cstr(''),
          Buffer.from([1, 1]),
          cstr('106900'),
          Buffer.from([1, 1]),
          cstr(to),
          Buffer.from([0, 0, 0]),
          cstr(''),
          cstr(''),
          Buffer.from([1, 0, 0, 0, sm.length]),
          sm,
        ]),
      );
    },
    close: () => socket.destroy(),
  };
}
