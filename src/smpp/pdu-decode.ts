// PDU decoder. Total: every input gives a DecodeResult; no read goes past the PDU, no loop runs
// longer than the input, nothing throws. Liberal where carriers are sloppy (strings past their
// maximum, a last string without its NUL, responses with a short or empty body) and precise about
// what it refuses, with the command_status to answer with.

import { CommandStatus, commandNameOf, HEADER_LENGTH, isResponseId } from './constants.ts';
import type { Field } from './pdu-schema.ts';
import { schemas } from './pdu-schema.ts';
import type { MultiDestination, Pdu, Tlvs, UnsuccessSme } from './pdu-types.ts';
import { decodeTlvs } from './tlv.ts';

export interface DecodeError {
  /** The command_status to answer with (generic_nack or the request's response). */
  code: number;
  message: string;
}

export type DecodeResult =
  { ok: true; pdu: Pdu } | { ok: false; error: DecodeError; commandId?: number; sequenceNumber?: number };

/** Reads fields one after another; a read past the end records the failure and yields a default. */
class Reader {
  pos: number;
  failCode = 0;
  failMessage = '';
  constructor(
    readonly buf: Buffer,
    pos: number,
    readonly end: number,
  ) {
    this.pos = pos;
  }

  fail(code: number, message: string): void {
    if (this.failCode === 0) {
      this.failCode = code;
      this.failMessage = message;
    }
  }

  u8(what: string): number {
    if (this.pos >= this.end) {
      this.fail(CommandStatus.ESME_RINVCMDLEN, `${what}: missing, body too short`);
      return 0;
    }
    return this.buf[this.pos++]!;
  }

  u32(what: string): number {
    if (this.end - this.pos < 4) {
      this.fail(CommandStatus.ESME_RINVCMDLEN, `${what}: missing, body too short`);
      this.pos = this.end;
      return 0;
    }
    const value = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  /** A C-Octet string; one that runs to the end of the PDU without its NUL is accepted as is. */
  cstr(what: string): string {
    const { buf, pos, end } = this;
    if (pos >= end) {
      this.fail(CommandStatus.ESME_RINVCMDLEN, `${what}: missing, body too short`);
      return '';
    }
    const nul = buf.indexOf(0, pos);
    if (nul === -1 || nul >= end) {
      this.pos = end;
      return buf.toString('latin1', pos, end);
    }
    this.pos = nul + 1;
    return nul === pos ? '' : buf.toString('latin1', pos, nul);
  }

  shortMessage(): Buffer {
    const length = this.u8('sm_length');
    if (length > this.end - this.pos) {
      this.fail(CommandStatus.ESME_RINVMSGLEN, `sm_length ${length} runs past the PDU`);
      this.pos = this.end;
      return Buffer.alloc(0);
    }
    // A copy, so that a message kept by its consumer does not pin the whole socket chunk.
    const sm = Buffer.from(this.buf.subarray(this.pos, this.pos + length));
    this.pos += length;
    return sm;
  }

  dests(): MultiDestination[] {
    const count = this.u8('number_of_dests');
    const dests: MultiDestination[] = [];
    for (let i = 0; i < count && this.failCode === 0; i++) {
      const flag = this.u8('dest_flag');
      if (flag === 1) {
        const destAddrTon = this.u8('dest_addr_ton');
        const destAddrNpi = this.u8('dest_addr_npi');
        dests.push({ kind: 'sme', destAddrTon, destAddrNpi, destinationAddr: this.cstr('destination_addr') });
      } else if (flag === 2) {
        dests.push({ kind: 'dl', dlName: this.cstr('dl_name') });
      } else if (this.failCode === 0) {
        this.fail(CommandStatus.ESME_RINVDESTFLAG, `dest_flag ${flag} is neither 1 nor 2`);
      }
    }
    return dests;
  }

  unsuccess(): UnsuccessSme[] {
    const count = this.u8('no_unsuccess');
    const smes: UnsuccessSme[] = [];
    for (let i = 0; i < count && this.failCode === 0; i++) {
      const destAddrTon = this.u8('dest_addr_ton');
      const destAddrNpi = this.u8('dest_addr_npi');
      const destinationAddr = this.cstr('destination_addr');
      const errorStatusCode = this.u32('error_status_code');
      if (this.failCode === 0) smes.push({ destAddrTon, destAddrNpi, destinationAddr, errorStatusCode });
    }
    return smes;
  }

  field(field: Field): unknown {
    switch (field.kind) {
      case 'u8':
        return this.u8(field.key);
      case 'cstr':
      case 'time':
        return this.cstr(field.key);
      case 'sm':
        return this.shortMessage();
      case 'dests':
        return this.dests();
      case 'unsuccess':
        return this.unsuccess();
    }
  }
}

function failure(code: number, message: string, buf: Buffer): DecodeResult {
  return {
    ok: false,
    error: { code, message },
    ...(buf.length >= 8 ? { commandId: buf.readUInt32BE(4) } : {}),
    ...(buf.length >= HEADER_LENGTH ? { sequenceNumber: buf.readUInt32BE(12) } : {}),
  };
}

/** Decodes one whole PDU (as the framer delivers it: command_length must equal buf.length). */
export function decodePdu(buf: Buffer): DecodeResult {
  if (buf.length < HEADER_LENGTH) {
    return failure(CommandStatus.ESME_RINVCMDLEN, `${buf.length} octets, shorter than the header`, buf);
  }
  const commandLength = buf.readUInt32BE(0);
  if (commandLength !== buf.length) {
    return failure(
      CommandStatus.ESME_RINVCMDLEN,
      `command_length ${commandLength} != ${buf.length} octets`,
      buf,
    );
  }
  const commandId = buf.readUInt32BE(4);
  const name = commandNameOf(commandId);
  if (name === undefined) {
    const hex = commandId.toString(16).padStart(8, '0');
    return failure(CommandStatus.ESME_RINVCMDID, `unknown command_id 0x${hex}`, buf);
  }
  const pdu: Record<string, unknown> = {
    command: name,
    sequenceNumber: buf.readUInt32BE(12),
    commandStatus: buf.readUInt32BE(8),
  };
  const schema = schemas[name];
  const reader = new Reader(buf, HEADER_LENGTH, commandLength);
  for (const field of schema) pdu[field.key] = reader.field(field);

  // A response with an error status may omit its body (section 3.3 and e.g. 4.4.2), and some
  // carriers cut it short even with status 0: take what is there and default the rest, because the
  // alternative - a request that never resolves - helps no one.
  const response = isResponseId(commandId);
  if (reader.failCode !== 0 && !response) {
    return failure(reader.failCode, `${name}: ${reader.failMessage}`, buf);
  }

  let tlvs: Tlvs = {};
  if (reader.pos < commandLength) {
    const decoded = decodeTlvs(buf, reader.pos, commandLength);
    // Header-only PDUs (enquire_link, unbind...) and responses are answered or matched whatever
    // trails them; a broken TLV stream only fails the requests whose TLVs carry meaning.
    if (decoded.error !== undefined && !response && schema.length > 0) {
      return failure(decoded.error.code, `${name}: ${decoded.error.message}`, buf);
    }
    tlvs = decoded.tlvs;
  }
  pdu.tlvs = tlvs;
  return { ok: true, pdu: pdu as unknown as Pdu };
}
