// A customer's ESME built on the npm `smpp` package only (nothing from src/smpp), for the tests and
// the benchmark of the customer SMPP server: a mistake shared by our server and our own client
// cannot pass unseen. It binds, submits raw short_message bytes (so UDH and encodings are exactly
// what the test wrote), acknowledges every deliver_sm and records it.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface NpmPdu {
  command: string;
  command_status: number;
  sequence_number: number;
  message_id?: string;
  system_id?: string;
  source_addr?: string;
  destination_addr?: string;
  esm_class?: number;
  data_coding?: number;
  short_message?: { message: string | Buffer; udh?: Buffer[] } | Buffer;
  receipted_message_id?: string;
  message_state?: number;
  /** The npm package reads an absolute time as a Date; an empty one stays the empty string. */
  final_date?: string | Date;
  error_code?: number;
  unsuccess_sme?: unknown[];
  response(options?: Record<string, unknown>): NpmPdu;
}

interface NpmSession {
  on(event: string, fn: (arg: NpmPdu) => void): void;
  once(event: string, fn: (arg?: unknown) => void): void;
  send(pdu: NpmPdu, onResponse?: (pdu: NpmPdu) => void): boolean;
  close(callback?: () => void): void;
  destroy(callback?: () => void): void;
  socket: { destroyed: boolean };
}

const smpp = require('smpp') as {
  connect(options: Record<string, unknown>, listener?: () => void): NpmSession;
  PDU: new (command: string, options: Record<string, unknown>) => NpmPdu;
};

export interface Delivered {
  /** Receipt (esm_class 0x04) or reply (MO). */
  kind: 'receipt' | 'reply';
  text: string;
  from: string;
  to: string;
  receiptedMessageId?: string;
  messageState?: number;
}

function textOf(pdu: NpmPdu): string {
  const sm = pdu.short_message;
  if (sm === undefined) return '';
  const raw = Buffer.isBuffer(sm) ? sm : typeof sm.message === 'string' ? null : sm.message;
  if (raw === null) return (sm as { message: string }).message;
  if (pdu.data_coding === 8) {
    const le = Buffer.from(raw);
    le.swap16();
    return le.toString('utf16le');
  }
  return raw.toString('latin1');
}

export class NpmEsme {
  readonly delivered: Delivered[] = [];
  private closed = false;

  private constructor(private readonly session: NpmSession) {
    session.on('deliver_sm', (pdu) => {
      const receipt = ((pdu.esm_class ?? 0) & 0x3c) === 0x04;
      this.delivered.push({
        kind: receipt ? 'receipt' : 'reply',
        text: textOf(pdu),
        from: pdu.source_addr ?? '',
        to: pdu.destination_addr ?? '',
        ...(pdu.receipted_message_id === undefined ? {} : { receiptedMessageId: pdu.receipted_message_id }),
        ...(pdu.message_state === undefined ? {} : { messageState: pdu.message_state }),
      });
      session.send(pdu.response());
    });
    session.on('enquire_link', (pdu) => session.send(pdu.response()));
    session.on('error', () => {});
    session.once('close', () => (this.closed = true));
  }

  static connect(port: number, options: { tls?: boolean } = {}): Promise<NpmEsme> {
    return new Promise((resolve, reject) => {
      const session = smpp.connect(
        {
          host: '127.0.0.1',
          port,
          auto_enquire_link_period: 0,
          ...(options.tls ? { tls: true, rejectUnauthorized: false } : {}),
        },
        () => resolve(new NpmEsme(session)),
      );
      session.on('error', (e) => reject(e as unknown as Error));
    });
  }

  get isClosed(): boolean {
    return this.closed || this.session.socket.destroyed;
  }

  /** Sends a request; resolves with its response PDU. */
  request(command: string, fields: Record<string, unknown>): Promise<NpmPdu> {
    return new Promise((resolve, reject) => {
      const ok = this.session.send(new smpp.PDU(command, fields), resolve);
      if (!ok) reject(new Error(`${command} not sent`));
    });
  }

  bind(
    mode: 'transmitter' | 'receiver' | 'transceiver',
    systemId: string,
    password: string,
  ): Promise<NpmPdu> {
    return this.request(`bind_${mode}`, { system_id: systemId, password, interface_version: 0x34 });
  }

  submit(fields: Record<string, unknown>): Promise<NpmPdu> {
    return this.request('submit_sm', { registered_delivery: 1, ...fields });
  }

  close(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve) => this.session.close(() => resolve()));
  }
}

/** UCS-2 big-endian bytes, as SMPP carries data_coding 8. */
export function ucs2(text: string): Buffer {
  const b = Buffer.from(text, 'utf16le');
  b.swap16();
  return b;
}

/** The parts of `text` in UCS-2 with a concatenation UDH: 8-bit reference (IEI 0) or 16-bit (IEI 8). */
export function udhParts(text: string, reference: number, bits: 8 | 16, perPart = 67): Buffer[] {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += perPart) chunks.push(text.slice(i, i + perPart));
  return chunks.map((chunk, i) => {
    const header =
      bits === 8
        ? Buffer.from([5, 0x00, 3, reference & 0xff, chunks.length, i + 1])
        : Buffer.from([6, 0x08, 4, (reference >> 8) & 0xff, reference & 0xff, chunks.length, i + 1]);
    return Buffer.concat([header, ucs2(chunk)]);
  });
}

/** Chunks of `text` in UCS-2 for SAR TLVs (no UDH). */
export function sarParts(text: string, perPart = 67): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < text.length; i += perPart) chunks.push(ucs2(text.slice(i, i + perPart)));
  return chunks;
}
