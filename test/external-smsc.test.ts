// Hongyan against an SMSC we did not write (bench/npm-smsc.ts, on the npm `smpp` package), through
// the real process: `hongyan start` in a child, one fresh database and one SMSC per scenario. The
// SMSC decides each message's outcome from its recipient (numbers ending in 8 or 9 are UNDELIV
// with err = their last two digits), so each test checks that EVERY message ended with exactly
// its own outcome and carrier id, and that the SMSC took it once (or that Hongyan flagged the
// resend as duplicate_risk), not only that all are final.
//
// 6,000 messages per scenario: sequential ids from 1001 then reach 7000, so the decimal id 1042
// and the hex id 1042 (= 4162) are both in use, which is where a receipt finds the wrong message.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type HongyanChild, sendBatches, sendSingles, startHongyanChild } from '../bench/hongyan-child.ts';
import { type NpmSmsc, type NpmSmscOptions, outcomeByLastDigit, startNpmSmsc } from '../bench/npm-smsc.ts';
import { readReceiptCounts } from '../src/modules/receipts/receipts.sql.ts';
import { createTestDatabase } from './helpers/db.ts';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
type Convention = 'as-is' | 'hex-resp-decimal-receipt' | 'decimal-resp-hex-receipt' | 'auto';

const FINAL = ['delivered', 'undelivered', 'expired', 'rejected', 'failed', 'unknown', 'canceled'];
const STATUS_OF_STAT: Record<string, string> = {
  DELIVRD: 'delivered',
  UNDELIV: 'undelivered',
  EXPIRED: 'expired',
  REJECTD: 'rejected',
};

interface Scenario {
  db: TestDb;
  smsc: NpmSmsc;
  hongyan: HongyanChild;
}
let running: Scenario | null = null;

afterEach(async () => {
  const s = running;
  running = null;
  await s?.hongyan.stop();
  await s?.smsc.close();
  await s?.db.drop();
});

async function startScenario(
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
  running = { db, smsc, hongyan };
  return running;
}

/** A distinct recipient per message, its last digit cycling 0-9 (so 80 % delivered). */
const phone = (i: number) => `+86138${String(10_000_000 + i).slice(-8)}`;

async function sendInBatches(s: Scenario, count: number, content = 'external smsc {code}') {
  const recipients = Array.from({ length: count }, (_, i) => ({
    to: phone(i),
    vars: { code: String(i).padStart(6, '0') },
  }));
  await sendBatches({ url: s.hongyan.url, key: s.hongyan.key, recipients, content, batchSize: 3000 });
}

/** Waits until every message is final, or until none became final for `stallMs`. */
async function waitFinal(s: Scenario, expected: number, { stallMs = 15_000, timeoutMs = 120_000 } = {}) {
  const start = Date.now();
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const { rows } = await s.db.db.pool.query<{ n: number }>(
      `select count(*)::int as n from messages where status = any($1)`,
      [FINAL],
    );
    const n = rows[0]!.n;
    if (n >= expected) return;
    if (n !== last) [last, lastChange] = [n, Date.now()];
    if (Date.now() - lastChange > stallMs || Date.now() - start > timeoutMs) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Verdict {
  messages: number;
  notFinal: number;
  wrongOutcome: number;
  notItsOwnCarrierId: number;
  neverReachedSmsc: number;
  sentTwiceUnflagged: number;
  samples: string[];
}

/** Compares every stored message with what the SMSC took and decided for its recipient. */
async function verdict(s: Scenario): Promise<Verdict> {
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

function expectEachOwnOutcome(v: Verdict, count: number) {
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
async function expectReceiptsCounted(s: Scenario) {
  const [counts] = await readReceiptCounts(s.db.db.pool);
  const answered = s.smsc.submits.filter((r) => r.answered).length;
  expect({ applied: counts?.applied, waiting: counts?.waiting, expired: counts?.expired }).toEqual({
    applied: answered,
    waiting: s.smsc.submits.length - answered,
    expired: 0,
  });
  expect(counts!.received).toBeGreaterThanOrEqual(s.smsc.submits.length);
}

/** The throttle count Hongyan logged last ('carrier is throttling this channel'), 0 if none. */
function throttlingLogged(s: Scenario): number {
  const logged = s.hongyan.logs.filter((l) => l.msg === 'carrier is throttling this channel');
  return Math.max(0, ...logged.map((l) => Number(l.throttled)));
}

/** Run, wait, judge: every message with its own outcome, each taken once by the SMSC. */
async function runBatches(s: Scenario, count: number) {
  await sendInBatches(s, count);
  await waitFinal(s, count);
  const v = await verdict(s);
  expectEachOwnOutcome(v, count);
  await expectReceiptsCounted(s);
  return v;
}

describe('an SMSC with sequential decimal ids (npm smpp)', () => {
  it('gives every message its own outcome when each receipt follows right after its response', async () => {
    const s = await startScenario({ ids: 'decimal', receiptTiming: 'after-response' });
    await runBatches(s, 6000);
    expect(s.smsc.submits).toHaveLength(6000);
  }, 120_000);

  it('gives every message its own outcome when each receipt comes BEFORE its response', async () => {
    // A window as large as the run: every receipt can go out before its response.
    const s = await startScenario({ ids: 'decimal', receiptTiming: 'before-response', window: 10_000 });
    await runBatches(s, 6000);
    expect(s.smsc.stats().receiptsBeforeResponse).toBe(6000);
  }, 120_000);

  it('moves 50,000 messages (50 single-send clients beside batches), each with its own outcome', async () => {
    const s = await startScenario({ ids: 'decimal', receiptTiming: 'after-response' });
    // Both paths of the benchmark at once: singles over POST /v1/messages from 50 clients (the
    // path of the 50,000-message run) while batches fill the queue.
    const singles = Number(process.env.EXTERNAL_SMSC_SINGLES ?? 10_000);
    const batched = Number(process.env.EXTERNAL_SMSC_BATCHED ?? 40_000);
    const recipients = Array.from({ length: batched }, (_, i) => ({ to: phone(singles + i) }));
    await Promise.all([
      sendSingles({
        url: s.hongyan.url,
        key: s.hongyan.key,
        count: singles,
        clients: 50,
        message: (i) => ({
          to: phone(i),
          content: `code ${String(i).padStart(6, '0')}`,
          type: 'verification',
        }),
      }),
      sendBatches({
        url: s.hongyan.url,
        key: s.hongyan.key,
        recipients,
        content: 'batched',
        batchSize: 10_000,
      }),
    ]);
    await waitFinal(s, singles + batched);
    expectEachOwnOutcome(await verdict(s), singles + batched);
    expect(s.smsc.submits).toHaveLength(singles + batched);
    await expectReceiptsCounted(s);
  }, 180_000);
});

describe('each id convention of a channel', () => {
  const cases: { name: string; smsc: NpmSmscOptions; convention: Convention; learns?: string }[] = [
    { name: 'hex ids as-is', smsc: { ids: 'hex' }, convention: 'as-is' },
    { name: 'alphanumeric ids as-is', smsc: { ids: 'alnum' }, convention: 'as-is' },
    {
      name: 'hex in the response, decimal in the receipt',
      smsc: { ids: 'hex', receiptIds: 'decimal' },
      convention: 'hex-resp-decimal-receipt',
    },
    {
      name: 'decimal in the response, hex in the receipt',
      smsc: { ids: 'decimal', receiptIds: 'hex' },
      convention: 'decimal-resp-hex-receipt',
    },
    {
      name: 'auto, learning hex in the response and decimal in the receipt',
      smsc: { ids: 'hex', receiptIds: 'decimal' },
      convention: 'auto',
      learns: 'hex-resp-decimal-receipt',
    },
    {
      name: 'auto, on sequential decimal ids read as-is',
      smsc: { ids: 'decimal' },
      convention: 'auto',
      learns: 'as-is',
    },
  ];
  it.each(cases)(
    '$convention: $name',
    async ({ smsc, convention, learns }) => {
      const s = await startScenario(smsc, { idConvention: convention });
      await runBatches(s, 6000);
      // auto stores what it learned; a fixed convention learns nothing.
      const channel = await s.db.db.pool.query(`select id_convention_learned from channels`);
      expect(channel.rows[0].id_convention_learned).toBe(learns ?? null);
    },
    120_000,
  );
});

describe('one quirk at a time (the table of issue 5), 6,000 messages through batches', () => {
  it('replies every 500 submits: receipts and replies both arrive, each message its own outcome', async () => {
    const s = await startScenario({ ids: 'decimal', replyEvery: 500, replyText: 'OK' });
    await runBatches(s, 6000);
    const replies = await s.db.db.pool.query<{ n: number }>(
      `select count(*)::int as n from inbound_messages`,
    );
    expect(replies.rows[0]!.n).toBe(12);
  }, 120_000);

  it('hex response, decimal receipt, receipt before the response, text in message_payload', async () => {
    const s = await startScenario(
      {
        ids: 'hex',
        receiptIds: 'decimal',
        receiptTiming: 'before-response',
        receiptField: 'message_payload',
        window: 10_000,
      },
      { idConvention: 'hex-resp-decimal-receipt' },
    );
    await runBatches(s, 6000);
    expect(s.smsc.stats().receiptsBeforeResponse).toBe(6000);
  }, 120_000);

  it('drops the session every 3,000 submits: the unanswered submit is resent and flagged duplicate_risk', async () => {
    const s = await startScenario({ ids: 'decimal', dropEvery: 3000 });
    await runBatches(s, 6000);
    expect(s.smsc.stats().drops).toBeGreaterThanOrEqual(2);
    const unanswered = s.smsc.submits.filter((r) => !r.answered).map((r) => `+${r.recipient}`);
    const flagged = await s.db.db.pool.query<{ recipient: string }>(
      `select recipient from messages where duplicate_risk order by recipient`,
    );
    expect(flagged.rows.map((r) => r.recipient)).toEqual(expect.arrayContaining(unanswered));
  }, 120_000);

  it('answers 10% of submits ESME_RTHROTTLED: they are resubmitted, none fails, each its own outcome', async () => {
    const s = await startScenario({ ids: 'decimal', throttleShare: 0.1 });
    await runBatches(s, 6000);
    expect(s.smsc.stats().throttled).toBeGreaterThan(300);
    expect(s.smsc.submits).toHaveLength(6000);
    // Counted by Hongyan: its periodic log of the channel's throttle events (the only window
    // into a child process's counters), at most what the SMSC refused.
    expect(throttlingLogged(s)).toBeGreaterThan(0);
    expect(throttlingLogged(s)).toBeLessThanOrEqual(s.smsc.stats().throttled);
  }, 120_000);
});

describe('throttling and long messages', () => {
  it('a token bucket at 1,000 submits/s throttles Hongyan, and no message fails for it', async () => {
    const s = await startScenario({ ids: 'decimal', throttleRate: 1000 });
    await runBatches(s, 4000);
    expect(s.smsc.stats().throttled).toBeGreaterThan(0);
    expect(s.smsc.submits).toHaveLength(4000);
    expect(throttlingLogged(s)).toBeGreaterThan(0);
    expect(throttlingLogged(s)).toBeLessThanOrEqual(s.smsc.stats().throttled);
  }, 120_000);

  it('multi-part messages: each part its own id and receipt, the message its own outcome', async () => {
    const s = await startScenario({ ids: 'decimal', receiptTiming: 'before-response' });
    const long = `${'long message over the carrier '.repeat(8)}{code}`;
    await sendInBatches(s, 2000, long);
    await waitFinal(s, 2000);
    expectEachOwnOutcome(await verdict(s), 2000);
    await expectReceiptsCounted(s);
    const parts = await s.db.db.pool.query<{ n: number }>(`select count(*)::int as n from message_parts`);
    expect(s.smsc.submits.every((r) => r.part !== undefined && r.part.total === 2)).toBe(true);
    expect(parts.rows[0]!.n).toBe(s.smsc.submits.length);
  }, 120_000);
});

describe('binds', () => {
  it('a transmitter and a receiver bind: receipts on the receiver reach their own messages', async () => {
    const s = await startScenario({ ids: 'decimal' }, { bindMode: 'transmitter_receiver' });
    await runBatches(s, 2000);
    expect(s.smsc.stats().binds).toBe(2);
  }, 120_000);
});

/** A bare SMPP client on a socket, written here so that it shares no code with either side. */
async function rawSession(port: number) {
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

describe('the SMSC itself, seen on the wire by a bare client', () => {
  it('sends each receipt before its response, with the decimal id in message_payload and hex in the response', async () => {
    const smsc = await startNpmSmsc({
      ids: 'hex',
      receiptIds: 'decimal',
      receiptTiming: 'before-response',
      receiptField: 'message_payload',
    });
    const c = await rawSession(smsc.port);
    try {
      c.bind();
      for (let i = 0; i < 3; i++) c.submit(10 + i, `861380000000${i}`, `hello ${i}`);
      await expect.poll(() => c.received.length).toBe(7);
      const kinds = c.received.slice(1).map((p) => (p.id === 0x05 ? 'receipt' : `resp ${p.seq}`));
      expect(kinds).toEqual(['receipt', 'resp 10', 'receipt', 'resp 11', 'receipt', 'resp 12']);
      const [receipt, resp] = c.received.slice(1, 3);
      expect(resp!.body.toString('latin1')).toBe('3E9\0');
      // message_payload (TLV 0x0424) holds the text; short_message is empty (sm_length 0).
      expect(receipt!.body.toString('latin1')).toMatch(
        /\x04\x24\0.id:1001 sub:001 dlvrd:001 .* stat:DELIVRD err:000 text:hello 0$/s,
      );
    } finally {
      c.close();
      await smsc.close();
    }
  });

  it('answers ESME_RTHROTTLED above its token bucket and takes the rest', async () => {
    const smsc = await startNpmSmsc({ throttleRate: 1, throttleBurst: 2 });
    const c = await rawSession(smsc.port);
    try {
      c.bind();
      for (let i = 0; i < 5; i++) c.submit(10 + i, `861380000001${i}`, 'burst');
      await expect.poll(() => c.received.filter((p) => p.id === 0x80000004).length).toBe(5);
      const statuses = c.received.filter((p) => p.id === 0x80000004).map((p) => p.status);
      expect(statuses).toEqual([0, 0, 0x58, 0x58, 0x58]);
      expect(smsc.stats()).toMatchObject({ submits: 2, throttled: 3 });
    } finally {
      c.close();
      await smsc.close();
    }
  });
});
