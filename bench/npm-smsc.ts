// An SMSC that we did not write: built on the npm `smpp` package only (nothing from src/smpp), so
// that a mistake shared by our client and our simulator cannot pass unseen. Tests and benchmarks
// drive Hongyan (or Kannel) against it and compare what it recorded with what Hongyan stored.
//
// Every behaviour that broke Hongyan in issue 5 is an option, off by default:
//   ids         sequential from 1001, written decimal (1001), hex (3E9) or alphanumeric (M00000RT);
//   receiptIds  the receipt writes the same id as the response, or the number's other reading
//               (response hex / receipt decimal, or the reverse), as Kannel's msg-id-type describes;
//   receipts    right after the submit_sm_resp, or BEFORE it; text in short_message or in
//               message_payload; with or without receipted_message_id/message_state TLVs;
//   outcome     decided per message from the recipient (default: numbers ending in 8 or 9 are
//               UNDELIV with err = their last two digits, the rest DELIVRD: 80 % delivered);
//   throttling  a token bucket above R submits/s, or a share p of submits at random, answered
//               ESME_RTHROTTLED;
//   dropEvery   every N-th submit is accepted but never answered: the socket is destroyed instead;
//   replyEvery  every N-th accepted submit gets a reply (MO) from its recipient.
// Multi-part messages (UDH or SAR) give each part its own id and receipt.
//
// Receipts that are not acknowledged when a session closes are sent again on the next session of
// the same system_id, as a real SMSC stores them: the carrier loses nothing, so whatever Hongyan
// loses is Hongyan's.
import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';
import {
  formatId,
  type NpmSmscOptions,
  type NpmSmscStats,
  outcomeByLastDigit,
  receiptText,
  seeded,
  type SubmitRecord,
} from './npm-smsc.models.ts';

export {
  formatId,
  type IdStyle,
  type NpmSmscOptions,
  type NpmSmscStats,
  type Outcome,
  outcomeByLastDigit,
  type SubmitRecord,
} from './npm-smsc.models.ts';

const require = createRequire(import.meta.url);
// The package is untyped CommonJS; these are the few shapes we use.
interface NpmPdu {
  command: string;
  command_status: number;
  sequence_number: number;
  system_id?: string;
  password?: string;
  source_addr?: string;
  destination_addr?: string;
  esm_class?: number;
  data_coding?: number;
  short_message?: { udh?: Buffer[]; message: string | Buffer } | Buffer;
  message_payload?: { message: string | Buffer } | Buffer;
  sar_msg_ref_num?: number;
  sar_total_segments?: number;
  sar_segment_seqnum?: number;
  registered_delivery?: number;
  response(options?: Record<string, unknown>): NpmPdu;
}
interface NpmSession {
  socket: { destroy(): void; end(): void; remoteAddress?: string };
  on(event: 'pdu', fn: (pdu: NpmPdu) => void): void;
  on(event: 'close' | 'error', fn: (e?: unknown) => void): void;
  send(pdu: NpmPdu, onResponse?: (pdu: NpmPdu) => void): boolean;
}
const smpp = require('smpp') as {
  createServer(options: Record<string, unknown>, onSession: (s: NpmSession) => void): Server;
  PDU: new (command: string, options: Record<string, unknown>) => NpmPdu;
};

const ESME_RINVBNDSTS = 0x04;
const ESME_RTHROTTLED = 0x58;
const ESM_DELIVERY_RECEIPT = 0x04;
const ESM_UDHI = 0x40;
const MESSAGE_STATE: Record<string, number> = { DELIVRD: 2, EXPIRED: 3, UNDELIV: 5, REJECTD: 8 };

export interface NpmSmsc {
  port: number;
  /** Every accepted submit, in order. */
  submits: SubmitRecord[];
  /** Times (Date.now(), like SubmitRecord.at) of submits answered ESME_RTHROTTLED. */
  throttledAt: number[];
  stats(): NpmSmscStats;
  /** Changes options of the running SMSC (throttling, receipts, …); ids keep counting. */
  configure(patch: Partial<NpmSmscOptions>): void;
  close(): Promise<void>;
}

function textOf(field: NpmPdu['short_message']): { udh: Buffer[]; text: string } {
  if (field === undefined) return { udh: [], text: '' };
  if (Buffer.isBuffer(field)) return { udh: [], text: field.toString('latin1') };
  const m = field.message;
  return { udh: field.udh ?? [], text: Buffer.isBuffer(m) ? m.toString('latin1') : m };
}

/** The concatenation header of a part (UDH IE 0x00 or 0x08, or SAR TLVs), if any. */
function partOf(pdu: NpmPdu, udh: Buffer[]): SubmitRecord['part'] {
  for (const ie of udh) {
    if (ie[0] === 0x00 && ie.length >= 5) return { ref: ie[2]!, total: ie[3]!, seq: ie[4]! };
    if (ie[0] === 0x08 && ie.length >= 6) return { ref: ie.readUInt16BE(2), total: ie[4]!, seq: ie[5]! };
  }
  if (pdu.sar_total_segments !== undefined && pdu.sar_segment_seqnum !== undefined)
    return { ref: pdu.sar_msg_ref_num ?? 0, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum };
  return undefined;
}

interface Outgoing {
  pdu: Record<string, unknown>;
  kind: 'receipt' | 'reply';
}

interface SessionState {
  no: number;
  session: NpmSession;
  systemId: string | null;
  receives: boolean;
  dead: boolean;
  outstanding: Map<number, Outgoing>;
}

export async function startNpmSmsc(options: NpmSmscOptions = {}): Promise<NpmSmsc> {
  // Read at each use: configure() changes the behaviour of a running SMSC (benchmarks keep one).
  const o: NpmSmscOptions = { ...options };
  const random = seeded(options.seed ?? 5);
  const burstOf = () => o.throttleBurst ?? Math.max(1, Math.round((o.throttleRate ?? 0) / 10));
  let tokens = burstOf();
  let refilledAt = performance.now();
  let nextId = o.firstId ?? 1001;
  let received = 0;
  let sessionNo = 0;
  const submits: SubmitRecord[] = [];
  const throttledAt: number[] = [];
  const sessions = new Set<SessionState>();
  // Receipts and replies waiting for a receiving session of their system_id.
  const outbox = new Map<string, Outgoing[]>();
  const counts: NpmSmscStats = {
    binds: 0,
    submits: 0,
    throttled: 0,
    drops: 0,
    receiptsSent: 0,
    receiptsAcked: 0,
    receiptsResent: 0,
    receiptsBeforeResponse: 0,
    replies: 0,
  };

  function throttles(): boolean {
    if (o.throttleShare !== undefined && random() < o.throttleShare) return true;
    const rate = o.throttleRate;
    if (rate === undefined) return false;
    const now = performance.now();
    tokens = Math.min(burstOf(), tokens + ((now - refilledAt) / 1000) * rate);
    refilledAt = now;
    if (tokens < 1) return true;
    tokens -= 1;
    return false;
  }

  function pump(systemId: string) {
    const queue = outbox.get(systemId);
    if (queue === undefined || queue.length === 0) return;
    for (const s of sessions) {
      if (s.dead || !s.receives || s.systemId !== systemId) continue;
      while (queue.length > 0 && s.outstanding.size < (o.window ?? 1000)) {
        const item = queue.shift()!;
        const pdu = new smpp.PDU('deliver_sm', item.pdu);
        if (!s.session.send(pdu, () => acknowledged(s, pdu.sequence_number))) {
          queue.unshift(item);
          break;
        }
        s.outstanding.set(pdu.sequence_number, item);
        if (item.kind === 'receipt') counts.receiptsSent++;
      }
    }
  }

  function acknowledged(s: SessionState, sequence: number) {
    const item = s.outstanding.get(sequence);
    s.outstanding.delete(sequence);
    if (item?.kind === 'receipt') counts.receiptsAcked++;
    if (s.systemId !== null) pump(s.systemId);
  }

  function enqueue(systemId: string, item: Outgoing) {
    let queue = outbox.get(systemId);
    if (queue === undefined) outbox.set(systemId, (queue = []));
    queue.push(item);
    pump(systemId);
  }

  function receiptPdu(r: SubmitRecord): Outgoing {
    const { stat } = r.outcome;
    const body = Buffer.from(receiptText({ ...r, doneAt: Date.now() }), 'latin1');
    const pdu: Record<string, unknown> = {
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: r.recipient,
      dest_addr_ton: 0,
      dest_addr_npi: 0,
      destination_addr: r.source,
      esm_class: ESM_DELIVERY_RECEIPT,
      data_coding: 0,
      short_message: o.receiptField === 'message_payload' ? Buffer.alloc(0) : body,
    };
    if (o.receiptField === 'message_payload') pdu.message_payload = body;
    if (o.receiptTlvs) {
      pdu.receipted_message_id = r.receiptId;
      pdu.message_state = MESSAGE_STATE[stat];
    }
    return { pdu, kind: 'receipt' };
  }

  function replyPdu(r: SubmitRecord): Outgoing {
    counts.replies++;
    const pdu = {
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: r.recipient,
      destination_addr: r.source,
      esm_class: 0,
      data_coding: 0,
      short_message: Buffer.from(o.replyText ?? 'OK', 'latin1'),
    };
    return { pdu, kind: 'reply' };
  }

  function onSubmit(s: SessionState, pdu: NpmPdu) {
    if (s.systemId === null) {
      s.session.send(pdu.response({ command_status: ESME_RINVBNDSTS }));
      return;
    }
    received++;
    const drop = o.dropEvery !== undefined && received % o.dropEvery === 0;
    if (!drop && throttles()) {
      counts.throttled++;
      throttledAt.push(Date.now());
      s.session.send(pdu.response({ command_status: ESME_RTHROTTLED }));
      return;
    }
    const n = nextId++;
    const { udh, text } = textOf(pdu.short_message ?? pdu.message_payload);
    const recipient = pdu.destination_addr ?? '';
    const record: SubmitRecord = {
      index: submits.length,
      recipient,
      source: pdu.source_addr ?? '',
      id: formatId(n, o.ids ?? 'decimal'),
      receiptId: formatId(
        n,
        o.receiptIds === undefined || o.receiptIds === 'as-response' ? (o.ids ?? 'decimal') : o.receiptIds,
      ),
      outcome: (o.outcome ?? outcomeByLastDigit)(recipient),
      at: Date.now(),
      session: s.no,
      text,
      answered: !drop,
      receiptRequested: ((pdu.registered_delivery ?? 0) & 0x03) !== 0,
    };
    const part = partOf(pdu, ((pdu.esm_class ?? 0) & ESM_UDHI) !== 0 ? udh : []);
    if (part !== undefined) record.part = part;
    submits.push(record);
    counts.submits++;
    const systemId = s.systemId;
    const receipt = record.receiptRequested;
    const before = receipt && o.receiptTiming === 'before-response';
    if (before) {
      const sentBefore = counts.receiptsSent;
      enqueue(systemId, receiptPdu(record));
      if (counts.receiptsSent > sentBefore) counts.receiptsBeforeResponse++;
    }
    if (drop) {
      // Accepted, never answered: the client cannot know whether we took it. The answers already
      // written go out first (end, not destroy, which would discard them unseen while this record
      // says they were answered); submits read after this one are neither taken nor answered.
      counts.drops++;
      s.dead = true;
      s.session.socket.end();
      setTimeout(() => s.session.socket.destroy(), 2000).unref();
    } else {
      s.session.send(pdu.response({ message_id: record.id }));
    }
    if (receipt && !before) {
      const delay = o.receiptDelayMs ?? 0;
      if (delay > 0) setTimeout(() => enqueue(systemId, receiptPdu(record)), delay);
      else enqueue(systemId, receiptPdu(record));
    }
    if (o.replyEvery !== undefined && counts.submits % o.replyEvery === 0)
      enqueue(systemId, replyPdu(record));
  }

  function onBind(s: SessionState, pdu: NpmPdu) {
    if (o.password !== undefined && pdu.password !== o.password) {
      s.session.send(pdu.response({ command_status: 0x0e })); // ESME_RINVPASWD
      return;
    }
    s.systemId = pdu.system_id ?? '';
    s.receives = pdu.command !== 'bind_transmitter';
    counts.binds++;
    s.session.send(pdu.response({ system_id: 'NPMSMSC' }));
    pump(s.systemId);
  }

  function onClose(s: SessionState) {
    if (!sessions.delete(s)) return;
    s.dead = true;
    if (s.systemId === null || s.outstanding.size === 0) return;
    // Unacknowledged receipts go out again on the next session, first.
    const again = [...s.outstanding.values()];
    counts.receiptsResent += again.filter((i) => i.kind === 'receipt').length;
    s.outstanding.clear();
    const queue = outbox.get(s.systemId) ?? [];
    outbox.set(s.systemId, [...again, ...queue]);
    pump(s.systemId);
  }

  const server = smpp.createServer({}, (session) => {
    const s: SessionState = {
      no: ++sessionNo,
      session,
      systemId: null,
      receives: false,
      dead: false,
      outstanding: new Map(),
    };
    sessions.add(s);
    session.on('close', () => onClose(s));
    session.on('error', () => onClose(s));
    session.on('pdu', (pdu) => {
      if (s.dead) return;
      switch (pdu.command) {
        case 'bind_transceiver':
        case 'bind_transmitter':
        case 'bind_receiver':
          onBind(s, pdu);
          return;
        case 'submit_sm':
          onSubmit(s, pdu);
          return;
        case 'enquire_link':
          session.send(pdu.response());
          return;
        case 'unbind':
          session.send(pdu.response());
          s.dead = true;
          setImmediate(() => session.socket.destroy());
          return;
        default:
          if (!pdu.command.endsWith('_resp') && pdu.command !== 'generic_nack')
            session.send(pdu.response({ command_status: 0x03 })); // ESME_RINVCMDID
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    submits,
    throttledAt,
    stats: () => ({ ...counts }),
    configure(patch) {
      Object.assign(o, patch);
      tokens = burstOf();
      refilledAt = performance.now();
    },
    async close() {
      for (const s of sessions) {
        s.dead = true;
        s.session.socket.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
