// PDU encoder. Strict: a PDU that breaks the spec is a bug in our code, so it throws PduEncodeError
// naming the field rather than sending something a carrier will reject or misread.
// Two passes over the schema: the first validates and sizes, the second writes into one buffer from
// Buffer.allocUnsafe (pooled below 4 KiB), so a submit_sm costs one allocation.

import { CommandId, HEADER_LENGTH, MAX_SHORT_MESSAGE_LENGTH } from './constants.ts';
import { PduEncodeError } from './errors.ts';
import type { Field } from './pdu-schema.ts';
import { schemas } from './pdu-schema.ts';
import type { MultiDestination, Pdu, PduInit, UnsuccessSme } from './pdu-types.ts';
import { checkCString, tlvsSize, writeCString, writeTlvs } from './tlv.ts';

type Fields = Record<string, unknown>;

export function encodePdu(pdu: Pdu): Buffer {
  return encode(pdu, pdu.sequenceNumber, pdu.commandStatus);
}

/**
 * Encodes a PDU as callers build it (PduInit) with the given sequence number, command_status 0 and
 * no TLVs unless it says otherwise, without copying it into a Pdu first: the session sends every
 * request this way, and that copy per request was a large cost at high rates.
 */
export function encodeWithSequence(init: PduInit, sequenceNumber: number): Buffer {
  return encode(init as Pdu, sequenceNumber, init.commandStatus ?? 0);
}

/** Reads pdu's fields and TLVs but takes the header's numbers from the arguments. */
function encode(pdu: Pdu, sequenceNumber: number, commandStatus: number): Buffer {
  const name = pdu.command;
  const schema = schemas[name];
  if (schema === undefined || !Object.hasOwn(CommandId, name)) {
    throw new PduEncodeError(`unknown command ${String(name)}`);
  }
  checkUint32(`${name}.sequenceNumber`, sequenceNumber);
  checkUint32(`${name}.commandStatus`, commandStatus);
  const fields = pdu as unknown as Fields;

  let size = HEADER_LENGTH;
  for (const field of schema) size += fieldSize(name, field, fields[field.key]);
  const tlvs = pdu.tlvs ?? {};
  if (
    tlvs.messagePayload !== undefined &&
    'shortMessage' in pdu &&
    Buffer.isBuffer(pdu.shortMessage) &&
    pdu.shortMessage.length > 0
  ) {
    throw new PduEncodeError(
      `${name}: short_message and message_payload must not both be set (section 5.3.2.32)`,
    );
  }
  size += tlvsSize(tlvs);

  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32BE(size, 0);
  buf.writeUInt32BE(CommandId[name], 4);
  buf.writeUInt32BE(commandStatus, 8);
  buf.writeUInt32BE(sequenceNumber, 12);
  let pos = HEADER_LENGTH;
  for (const field of schema) pos = writeField(buf, pos, field, fields[field.key]);
  pos = writeTlvs(buf, pos, tlvs);
  if (pos !== size) throw new PduEncodeError(`${name}: encoded ${pos} octets, sized ${size} (codec bug)`);
  return buf;
}

function checkUint32(what: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new PduEncodeError(`${what}: ${String(value)} is not a 32-bit unsigned integer`);
  }
}

function checkU8(what: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new PduEncodeError(`${what}: ${String(value)} is not an octet (0-255)`);
  }
}

function fieldSize(command: string, field: Field, value: unknown): number {
  const what = `${command}.${field.key}`;
  switch (field.kind) {
    case 'u8':
      checkU8(what, value);
      return 1;
    case 'cstr':
      return checkCString(what, value, field.max) + 1;
    case 'time': {
      const length = checkCString(what, value, 17);
      if (length !== 0 && length !== 16) {
        throw new PduEncodeError(`${what}: must be empty or 16 characters (YYMMDDhhmmsstnnp), got ${length}`);
      }
      return length + 1;
    }
    case 'sm':
      if (!Buffer.isBuffer(value)) throw new PduEncodeError(`${what}: expected a Buffer`);
      if (value.length > MAX_SHORT_MESSAGE_LENGTH) {
        throw new PduEncodeError(
          `${what}: ${value.length} octets, the maximum is ${MAX_SHORT_MESSAGE_LENGTH}; use message_payload`,
        );
      }
      return 1 + value.length;
    case 'dests':
      return destsSize(what, value);
    case 'unsuccess':
      return unsuccessSize(what, value);
  }
}

function destsSize(what: string, value: unknown): number {
  if (!Array.isArray(value) || value.length > 0xff) {
    throw new PduEncodeError(`${what}: expected an array of at most 255 destinations`);
  }
  let size = 1;
  (value as MultiDestination[]).forEach((dest, i) => {
    if (dest?.kind === 'sme') {
      checkU8(`${what}[${i}].destAddrTon`, dest.destAddrTon);
      checkU8(`${what}[${i}].destAddrNpi`, dest.destAddrNpi);
      size += 4 + checkCString(`${what}[${i}].destinationAddr`, dest.destinationAddr, 21);
    } else if (dest?.kind === 'dl') {
      size += 2 + checkCString(`${what}[${i}].dlName`, dest.dlName, 21);
    } else {
      throw new PduEncodeError(`${what}[${i}]: kind must be 'sme' or 'dl'`);
    }
  });
  return size;
}

function unsuccessSize(what: string, value: unknown): number {
  if (!Array.isArray(value) || value.length > 0xff) {
    throw new PduEncodeError(`${what}: expected an array of at most 255 entries`);
  }
  let size = 1;
  (value as UnsuccessSme[]).forEach((sme, i) => {
    checkU8(`${what}[${i}].destAddrTon`, sme?.destAddrTon);
    checkU8(`${what}[${i}].destAddrNpi`, sme.destAddrNpi);
    checkUint32(`${what}[${i}].errorStatusCode`, sme.errorStatusCode);
    size += 7 + checkCString(`${what}[${i}].destinationAddr`, sme.destinationAddr, 21);
  });
  return size;
}

function writeField(buf: Buffer, pos: number, field: Field, value: unknown): number {
  switch (field.kind) {
    case 'u8':
      buf[pos] = value as number;
      return pos + 1;
    case 'cstr':
    case 'time':
      return writeCString(buf, pos, value as string);
    case 'sm': {
      const sm = value as Buffer;
      buf[pos] = sm.length;
      return pos + 1 + sm.copy(buf, pos + 1);
    }
    case 'dests': {
      const dests = value as MultiDestination[];
      buf[pos++] = dests.length;
      for (const dest of dests) {
        if (dest.kind === 'sme') {
          buf[pos] = 1;
          buf[pos + 1] = dest.destAddrTon;
          buf[pos + 2] = dest.destAddrNpi;
          pos = writeCString(buf, pos + 3, dest.destinationAddr);
        } else {
          buf[pos] = 2;
          pos = writeCString(buf, pos + 1, dest.dlName);
        }
      }
      return pos;
    }
    case 'unsuccess': {
      const smes = value as UnsuccessSme[];
      buf[pos++] = smes.length;
      for (const sme of smes) {
        buf[pos] = sme.destAddrTon;
        buf[pos + 1] = sme.destAddrNpi;
        pos = writeCString(buf, pos + 2, sme.destinationAddr);
        pos = buf.writeUInt32BE(sme.errorStatusCode, pos);
      }
      return pos;
    }
  }
}
