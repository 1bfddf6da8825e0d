// TLV (optional parameter) codec, table-driven: one row per SMPP 3.4 tag gives its typed field and
// its value format.

import { CommandStatus, TlvTag } from './constants.ts';
import { PduEncodeError } from './errors.ts';
import type { NetworkErrorCode, RawTlv, Tlvs } from './pdu-types.ts';

type TlvKind = 'u8' | 'u16' | 'u32' | 'cstr' | 'octets' | 'flag' | 'netErr';
type TlvKey = Exclude<keyof Tlvs, 'unknown'>;

interface TlvDef {
  tag: number;
  key: TlvKey;
  kind: TlvKind;
  /** For cstr: the maximum size including the NUL. */
  max?: number;
}

const defs: readonly TlvDef[] = [
  { tag: TlvTag.dest_addr_subunit, key: 'destAddrSubunit', kind: 'u8' },
  { tag: TlvTag.dest_network_type, key: 'destNetworkType', kind: 'u8' },
  { tag: TlvTag.dest_bearer_type, key: 'destBearerType', kind: 'u8' },
  { tag: TlvTag.dest_telematics_id, key: 'destTelematicsId', kind: 'u16' },
  { tag: TlvTag.source_addr_subunit, key: 'sourceAddrSubunit', kind: 'u8' },
  { tag: TlvTag.source_network_type, key: 'sourceNetworkType', kind: 'u8' },
  { tag: TlvTag.source_bearer_type, key: 'sourceBearerType', kind: 'u8' },
  { tag: TlvTag.source_telematics_id, key: 'sourceTelematicsId', kind: 'u16' },
  { tag: TlvTag.qos_time_to_live, key: 'qosTimeToLive', kind: 'u32' },
  { tag: TlvTag.payload_type, key: 'payloadType', kind: 'u8' },
  { tag: TlvTag.additional_status_info_text, key: 'additionalStatusInfoText', kind: 'cstr', max: 256 },
  { tag: TlvTag.receipted_message_id, key: 'receiptedMessageId', kind: 'cstr', max: 65 },
  { tag: TlvTag.ms_msg_wait_facilities, key: 'msMsgWaitFacilities', kind: 'u8' },
  { tag: TlvTag.privacy_indicator, key: 'privacyIndicator', kind: 'u8' },
  { tag: TlvTag.source_subaddress, key: 'sourceSubaddress', kind: 'octets' },
  { tag: TlvTag.dest_subaddress, key: 'destSubaddress', kind: 'octets' },
  { tag: TlvTag.user_message_reference, key: 'userMessageReference', kind: 'u16' },
  { tag: TlvTag.user_response_code, key: 'userResponseCode', kind: 'u8' },
  { tag: TlvTag.source_port, key: 'sourcePort', kind: 'u16' },
  { tag: TlvTag.destination_port, key: 'destinationPort', kind: 'u16' },
  { tag: TlvTag.sar_msg_ref_num, key: 'sarMsgRefNum', kind: 'u16' },
  { tag: TlvTag.language_indicator, key: 'languageIndicator', kind: 'u8' },
  { tag: TlvTag.sar_total_segments, key: 'sarTotalSegments', kind: 'u8' },
  { tag: TlvTag.sar_segment_seqnum, key: 'sarSegmentSeqnum', kind: 'u8' },
  { tag: TlvTag.sc_interface_version, key: 'scInterfaceVersion', kind: 'u8' },
  { tag: TlvTag.callback_num_pres_ind, key: 'callbackNumPresInd', kind: 'u8' },
  { tag: TlvTag.callback_num_atag, key: 'callbackNumAtag', kind: 'octets' },
  { tag: TlvTag.number_of_messages, key: 'numberOfMessages', kind: 'u8' },
  { tag: TlvTag.callback_num, key: 'callbackNum', kind: 'octets' },
  { tag: TlvTag.dpf_result, key: 'dpfResult', kind: 'u8' },
  { tag: TlvTag.set_dpf, key: 'setDpf', kind: 'u8' },
  { tag: TlvTag.ms_availability_status, key: 'msAvailabilityStatus', kind: 'u8' },
  { tag: TlvTag.network_error_code, key: 'networkErrorCode', kind: 'netErr' },
  { tag: TlvTag.message_payload, key: 'messagePayload', kind: 'octets' },
  { tag: TlvTag.delivery_failure_reason, key: 'deliveryFailureReason', kind: 'u8' },
  { tag: TlvTag.more_messages_to_send, key: 'moreMessagesToSend', kind: 'u8' },
  { tag: TlvTag.message_state, key: 'messageState', kind: 'u8' },
  { tag: TlvTag.ussd_service_op, key: 'ussdServiceOp', kind: 'u8' },
  { tag: TlvTag.display_time, key: 'displayTime', kind: 'u8' },
  { tag: TlvTag.sms_signal, key: 'smsSignal', kind: 'u16' },
  { tag: TlvTag.ms_validity, key: 'msValidity', kind: 'u8' },
  { tag: TlvTag.alert_on_message_delivery, key: 'alertOnMessageDelivery', kind: 'flag' },
  { tag: TlvTag.its_reply_type, key: 'itsReplyType', kind: 'u8' },
  { tag: TlvTag.its_session_info, key: 'itsSessionInfo', kind: 'octets' },
];

const byTag = new Map<number, TlvDef>(defs.map((d) => [d.tag, d]));
const byKey = new Map<string, TlvDef>(defs.map((d) => [d.key, d]));
const intMax = { u8: 0xff, u16: 0xffff, u32: 0xffffffff } as const;
const intSize = { u8: 1, u16: 2, u32: 4 } as const;

export interface TlvDecodeError {
  code: number;
  message: string;
}

/**
 * Decodes the TLVs in buf[pos, end). Returns the TLVs read so far and, when the stream is broken
 * (a header cut short, a length past the end), the error; callers decide whether that matters.
 */
export function decodeTlvs(buf: Buffer, pos: number, end: number): { tlvs: Tlvs; error?: TlvDecodeError } {
  const tlvs: Tlvs = {};
  while (pos < end) {
    if (end - pos < 4) {
      return { tlvs, error: { code: CommandStatus.ESME_RINVOPTPARSTREAM, message: 'truncated TLV header' } };
    }
    const tag = buf.readUInt16BE(pos);
    const length = buf.readUInt16BE(pos + 2);
    pos += 4;
    if (length > end - pos) {
      const message = `TLV 0x${tag.toString(16).padStart(4, '0')} length ${length} runs past the PDU`;
      return { tlvs, error: { code: CommandStatus.ESME_RINVOPTPARSTREAM, message } };
    }
    const def = byTag.get(tag);
    if (def === undefined || !decodeKnown(def, buf, pos, length, tlvs)) {
      const raw = { tag, value: Buffer.from(buf.subarray(pos, pos + length)) };
      if (tlvs.unknown === undefined) tlvs.unknown = [raw];
      else tlvs.unknown.push(raw);
    }
    pos += length;
  }
  return { tlvs };
}

/**
 * Sets the typed field; false when the value's length does not fit its format, so that the caller
 * keeps it raw. Integers of 1-4 octets are read whatever their declared width: carriers send
 * message_state as 2 octets, and refusing their receipts would help no one.
 */
function decodeKnown(def: TlvDef, buf: Buffer, pos: number, length: number, tlvs: Tlvs): boolean {
  const out = tlvs as Record<string, unknown>;
  switch (def.kind) {
    case 'u8':
    case 'u16':
    case 'u32':
      if (length < 1 || length > 4) return false;
      out[def.key] = buf.readUIntBE(pos, length);
      return true;
    case 'cstr': {
      const nul = buf.indexOf(0, pos);
      const stop = nul === -1 || nul > pos + length ? pos + length : nul;
      out[def.key] = buf.toString('latin1', pos, stop);
      return true;
    }
    case 'octets':
      out[def.key] = Buffer.from(buf.subarray(pos, pos + length));
      return true;
    case 'flag':
      out[def.key] = true;
      return true;
    case 'netErr':
      if (length !== 3) return false;
      out[def.key] = { type: buf[pos]!, code: buf.readUInt16BE(pos + 1) } satisfies NetworkErrorCode;
      return true;
  }
}

/** Encoded size of the TLVs, validating every value (throws PduEncodeError). */
export function tlvsSize(tlvs: Tlvs): number {
  let size = 0;
  for (const key in tlvs) {
    const value = (tlvs as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (key === 'unknown') {
      if (!Array.isArray(value)) throw new PduEncodeError('tlvs.unknown: expected an array');
      for (const raw of value as RawTlv[]) size += 4 + rawSize(raw);
      continue;
    }
    const def = byKey.get(key);
    if (def === undefined) throw new PduEncodeError(`tlvs.${key}: not an SMPP 3.4 TLV`);
    size += 4 + valueSize(def, value);
  }
  return size;
}

function rawSize(raw: RawTlv): number {
  if (!Number.isInteger(raw.tag) || raw.tag < 0 || raw.tag > 0xffff) {
    throw new PduEncodeError(`tlvs.unknown: tag ${raw.tag} is not a 16-bit integer`);
  }
  if (!Buffer.isBuffer(raw.value) || raw.value.length > 0xffff) {
    throw new PduEncodeError(
      `tlvs.unknown 0x${raw.tag.toString(16)}: value must be a Buffer of <= 65535 octets`,
    );
  }
  return raw.value.length;
}

function valueSize(def: TlvDef, value: unknown): number {
  switch (def.kind) {
    case 'u8':
    case 'u16':
    case 'u32':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > intMax[def.kind]) {
        throw new PduEncodeError(`tlvs.${def.key}: ${String(value)} is not a ${def.kind}`);
      }
      return intSize[def.kind];
    case 'cstr':
      return checkCString(`tlvs.${def.key}`, value, def.max ?? 0xffff) + 1;
    case 'octets':
      if (!Buffer.isBuffer(value) || value.length > 0xffff) {
        throw new PduEncodeError(`tlvs.${def.key}: expected a Buffer of <= 65535 octets`);
      }
      return value.length;
    case 'flag':
      if (value !== true) throw new PduEncodeError(`tlvs.${def.key}: expected true`);
      return 0;
    case 'netErr': {
      const v = value as Partial<NetworkErrorCode> | null;
      const ok =
        typeof v === 'object' &&
        v !== null &&
        Number.isInteger(v.type) &&
        Number.isInteger(v.code) &&
        v.type! >= 0 &&
        v.type! <= 0xff &&
        v.code! >= 0 &&
        v.code! <= 0xffff;
      if (!ok) throw new PduEncodeError(`tlvs.${def.key}: expected { type: u8, code: u16 }`);
      return 3;
    }
  }
}

/** Writes TLVs already validated by tlvsSize; returns the new position. */
export function writeTlvs(buf: Buffer, pos: number, tlvs: Tlvs): number {
  for (const key in tlvs) {
    const value = (tlvs as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (key === 'unknown') {
      for (const raw of value as RawTlv[]) {
        buf.writeUInt16BE(raw.tag, pos);
        buf.writeUInt16BE(raw.value.length, pos + 2);
        pos += 4 + raw.value.copy(buf, pos + 4);
      }
      continue;
    }
    const def = byKey.get(key)!;
    buf.writeUInt16BE(def.tag, pos);
    const start = pos + 4;
    let end = start;
    switch (def.kind) {
      case 'u8':
      case 'u16':
      case 'u32':
        end = buf.writeUIntBE(value as number, start, intSize[def.kind]);
        break;
      case 'cstr':
        end = writeCString(buf, start, value as string);
        break;
      case 'octets':
        end = start + (value as Buffer).copy(buf, start);
        break;
      case 'flag':
        break;
      case 'netErr':
        buf[start] = (value as NetworkErrorCode).type;
        end = buf.writeUInt16BE((value as NetworkErrorCode).code, start + 1);
        break;
    }
    buf.writeUInt16BE(end - start, pos + 2);
    pos = end;
  }
  return pos;
}

/**
 * Checks a C-Octet string for encoding: a string of latin1 characters without NUL whose size with
 * the NUL fits `max`. Returns its length in octets.
 */
export function checkCString(what: string, value: unknown, max: number): number {
  if (typeof value !== 'string') throw new PduEncodeError(`${what}: expected a string, got ${typeof value}`);
  if (value.length + 1 > max) {
    throw new PduEncodeError(`${what}: ${value.length} characters, the maximum is ${max - 1}`);
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c > 0xff) {
      throw new PduEncodeError(
        `${what}: character ${i} (U+${c.toString(16).padStart(4, '0')}) is not allowed`,
      );
    }
  }
  return value.length;
}

/** Writes a checked C-Octet string and its NUL; returns the new position. */
export function writeCString(buf: Buffer, pos: number, value: string): number {
  for (let i = 0; i < value.length; i++) buf[pos++] = value.charCodeAt(i);
  buf[pos++] = 0;
  return pos;
}
