// Choosing the encoding, counting parts and building the short_message of each part.
//
// Quota is counted in parts (planSegments at acceptance) and the dispatcher sends exactly the
// parts encodeMessage builds, so both must cut at the same places: each packs greedily, moving an
// item that would overflow a part whole to the next one, where an item is one character, a GSM
// escape pair (2 septets) or a UTF-16 surrogate pair (2 units). A part may therefore hold 152
// septets or 66 units; splitting a pair would show as garbage on the handset.

import { decodeGsm7, encodeGsm7, GSM_COST, GSM_ESCAPE } from './gsm7.ts';
import { decodeUcs2, encodeUcs2, isHighSurrogate, isLowSurrogate } from './ucs2.ts';

/** Septets in a single-part GSM message (140 octets packed). */
export const GSM7_SINGLE_PART = 160;
/** Septets in each part of a concatenated GSM message: 6 UDH octets packed take 7 septets. */
export const GSM7_CONCAT_PART = 153;
/** UTF-16 units in a single-part UCS-2 message (140 octets). */
export const UCS2_SINGLE_PART = 70;
/** UTF-16 units in each part of a concatenated UCS-2 message (134 octets after the UDH). */
export const UCS2_CONCAT_PART = 67;
/** The 8-bit concatenation UDH counts parts in one octet. */
export const MAX_PARTS = 255;
/** esm_class bit saying short_message starts with a UDH (UDHI). */
export const ESM_CLASS_UDHI = 0x40;

export const DATA_CODING_DEFAULT = 0x00;
export const DATA_CODING_LATIN1 = 0x03;
export const DATA_CODING_UCS2 = 0x08;

const UDH_LENGTH = 6;

export type TextEncoding = 'gsm7' | 'ucs2';

export interface SegmentPlan {
  encoding: TextEncoding;
  dataCoding: 0 | 8;
  /** Septets for GSM 7-bit (an extension character counts 2), UTF-16 code units for UCS-2. */
  units: number;
  /** Parts on the wire; an empty text is one (empty) part. */
  parts: number;
  /** Capacity of one part: 160/70 for a single part, 153/67 for a concatenated one. */
  perPart: number;
}

export interface EncodedMessage {
  dataCoding: 0 | 8;
  /** ESM_CLASS_UDHI when the message is concatenated, else 0. */
  esmClass: number;
  /** Each a complete short_message, UDH included. */
  parts: Buffer[];
}

export interface ConcatInfo {
  reference: number;
  total: number;
  seq: number;
}

export interface DecodedShortMessage {
  text: string;
  concat?: ConcatInfo;
}

/**
 * Encoding and part count of `text`, in one pass without allocating: it runs at acceptance for
 * every message. GSM and UCS-2 packing are tracked together, because whether the text fits GSM is
 * only known at its end.
 */
export function planSegments(text: string): SegmentPlan {
  const length = text.length;
  let gsm = true;
  let septets = 0;
  let gsmParts = 1;
  let gsmFill = 0;
  let ucsParts = 1;
  let ucsFill = 0;
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (gsm) {
      const cost = unit < GSM_COST.length ? GSM_COST[unit]! : 0;
      if (cost === 0) {
        gsm = false;
      } else {
        septets += cost;
        if (gsmFill + cost > GSM7_CONCAT_PART) {
          gsmParts++;
          gsmFill = cost;
        } else {
          gsmFill += cost;
        }
      }
    }
    let width = 1;
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        width = 2;
        i++;
      }
    }
    if (ucsFill + width > UCS2_CONCAT_PART) {
      ucsParts++;
      ucsFill = width;
    } else {
      ucsFill += width;
    }
  }
  if (gsm) {
    const single = septets <= GSM7_SINGLE_PART;
    return {
      encoding: 'gsm7',
      dataCoding: 0,
      units: septets,
      parts: single ? 1 : gsmParts,
      perPart: single ? GSM7_SINGLE_PART : GSM7_CONCAT_PART,
    };
  }
  const single = length <= UCS2_SINGLE_PART;
  return {
    encoding: 'ucs2',
    dataCoding: 8,
    units: length,
    parts: single ? 1 : ucsParts,
    perPart: single ? UCS2_SINGLE_PART : UCS2_CONCAT_PART,
  };
}

/**
 * The short_message of every part of `text`, GSM 7-bit unpacked (data_coding 0) when every
 * character fits, else UCS-2 (data_coding 8). A message of several parts carries the 8-bit
 * concatenation UDH `05 00 03 ref total seq`; `reference` is taken modulo 256. Throws a RangeError
 * past MAX_PARTS: acceptance must have refused such a text using planSegments.
 */
export function encodeMessage(text: string, reference: number): EncodedMessage {
  const plan = planSegments(text);
  if (plan.parts > MAX_PARTS) {
    throw new RangeError(`message needs ${plan.parts} parts, more than ${MAX_PARTS}`);
  }
  if (plan.encoding === 'gsm7') {
    const septets = encodeGsm7(text);
    if (plan.parts === 1) return { dataCoding: 0, esmClass: 0, parts: [septets] };
    const bodies: Buffer[] = [];
    for (let start = 0; start < septets.length;) {
      let end = Math.min(start + GSM7_CONCAT_PART, septets.length);
      // An encoder never emits ESC as the second septet of a pair, so an ESC here starts one.
      if (end < septets.length && septets[end - 1] === GSM_ESCAPE) end--;
      bodies.push(septets.subarray(start, end));
      start = end;
    }
    return { dataCoding: 0, esmClass: ESM_CLASS_UDHI, parts: withConcatUdh(bodies, reference) };
  }
  const bytes = encodeUcs2(text);
  if (plan.parts === 1) return { dataCoding: 8, esmClass: 0, parts: [bytes] };
  const bodies: Buffer[] = [];
  for (let start = 0; start < text.length;) {
    let end = Math.min(start + UCS2_CONCAT_PART, text.length);
    if (
      end < text.length &&
      isHighSurrogate(text.charCodeAt(end - 1)) &&
      isLowSurrogate(text.charCodeAt(end))
    ) {
      end--;
    }
    bodies.push(bytes.subarray(start * 2, end * 2));
    start = end;
  }
  return { dataCoding: 8, esmClass: ESM_CLASS_UDHI, parts: withConcatUdh(bodies, reference) };
}

function withConcatUdh(bodies: Buffer[], reference: number): Buffer[] {
  const total = bodies.length;
  return bodies.map((body, index) => {
    const part = Buffer.allocUnsafe(UDH_LENGTH + body.length);
    part[0] = 0x05; // UDHL: the five octets that follow
    part[1] = 0x00; // IEI: concatenated short message, 8-bit reference
    part[2] = 0x03; // IEDL
    part[3] = reference & 0xff;
    part[4] = total;
    part[5] = index + 1;
    body.copy(part, UDH_LENGTH);
    return part;
  });
}

/**
 * Text of a received short_message (deliver_sm MO text or a submit_sm from a customer bind).
 * Total: a malformed UDH or an unknown data_coding yields best-effort text, never an exception.
 * `hasUdh` is esm_class & 0x40; a UDH longer than the payload means the flag is wrong, and the
 * whole payload is decoded as text.
 */
export function decodeShortMessage(
  payload: Buffer,
  dataCoding: number,
  hasUdh: boolean,
): DecodedShortMessage {
  let body: Uint8Array = payload;
  let concat: ConcatInfo | undefined;
  if (hasUdh && payload.length > 0) {
    const headerEnd = 1 + payload[0]!;
    if (headerEnd <= payload.length) {
      concat = readConcat(payload.subarray(1, headerEnd));
      body = payload.subarray(headerEnd);
    }
  }
  const text = decodeText(body, dataCoding);
  return concat ? { text, concat } : { text };
}

// Finds the concatenation element (IEI 0x00, 8-bit reference, or 0x08, 16-bit reference) among
// the UDH's elements. Inconsistent numbering is dropped, so the part is shown on its own rather
// than held forever waiting for siblings that cannot exist.
function readConcat(header: Uint8Array): ConcatInfo | undefined {
  for (let i = 0; i + 2 <= header.length;) {
    const iei = header[i]!;
    const size = header[i + 1]!;
    const data = i + 2;
    if (data + size > header.length) return undefined;
    let found: ConcatInfo | undefined;
    if (iei === 0x00 && size === 3) {
      found = { reference: header[data]!, total: header[data + 1]!, seq: header[data + 2]! };
    } else if (iei === 0x08 && size === 4) {
      found = {
        reference: (header[data]! << 8) | header[data + 1]!,
        total: header[data + 2]!,
        seq: header[data + 3]!,
      };
    }
    if (found) return found.total >= 1 && found.seq >= 1 && found.seq <= found.total ? found : undefined;
    i = data + size;
  }
  return undefined;
}

type Alphabet = 'gsm7' | 'ucs2' | 'latin1' | 'iso-8859-5' | 'iso-8859-8' | 'euc-kr';

// SMPP 3.4 5.2.19 data_coding, plus the GSM 03.38 DCS coding groups that some SMSCs pass through
// unchanged. 0x01 (IA5) is treated as the GSM default alphabet: SMSCs that send it mean "default".
function alphabetOf(dataCoding: number): Alphabet {
  const dc = dataCoding & 0xff;
  switch (dc) {
    case 0x00:
    case 0x01:
      return 'gsm7';
    case 0x08:
      return 'ucs2';
    case 0x06:
      return 'iso-8859-5';
    case 0x07:
      return 'iso-8859-8';
    case 0x0e:
      return 'euc-kr';
  }
  if (dc < 0x10) return 'latin1'; // 0x03 Latin-1; binary and the rest best-effort as Latin-1
  if (dc < 0x80) {
    // General data coding: bits 3-2 give the alphabet (compressed text, bit 5, is shown raw).
    if (dc & 0x20) return 'latin1';
    const bits = (dc >> 2) & 0x03;
    return bits === 0x02 ? 'ucs2' : bits === 0x01 ? 'latin1' : 'gsm7';
  }
  if (dc >= 0xf0) return dc & 0x04 ? 'latin1' : 'gsm7';
  if (dc >= 0xe0) return 'ucs2';
  return dc >= 0xc0 ? 'gsm7' : 'latin1';
}

const decoders = new Map<string, InstanceType<typeof TextDecoder> | null>();

function decodeText(bytes: Uint8Array, dataCoding: number): string {
  const alphabet = alphabetOf(dataCoding);
  if (alphabet === 'gsm7') return decodeGsm7(bytes);
  if (alphabet === 'ucs2') return decodeUcs2(bytes);
  if (alphabet !== 'latin1') {
    let decoder = decoders.get(alphabet);
    if (decoder === undefined) {
      // A Node built without full ICU lacks these; fall back to Latin-1 rather than fail.
      try {
        decoder = new TextDecoder(alphabet);
      } catch {
        decoder = null;
      }
      decoders.set(alphabet, decoder);
    }
    if (decoder) return decoder.decode(bytes);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
