// GSM 03.38 (3GPP TS 23.038) 7-bit default alphabet and its extension table.
//
// SMPP carries GSM text UNPACKED: one septet per octet in short_message with data_coding 0x00,
// which is what SMSCs expect. Packing (8 septets in 7 octets) is what travels over the air; it is
// exported for carriers that want packed text and to reason about the 140-octet TP-UD limit.

/** Septet that escapes into the extension table; an extension character costs ESC + its code. */
export const GSM_ESCAPE = 0x1b;

// Index = septet, value = character. 0x1B is the escape and never decodes to a character by itself.
// 0x09 is 'Ç' as in TS 23.038 (older handsets show 'ç'); mapping only 'Ç' keeps encoding lossless.
const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

// Extension table: septet after ESC → character. Every code here is distinct from 0x1B, so in an
// encoded buffer a 0x1B is always the first half of a pair (segments.ts relies on this).
const EXTENSION: ReadonlyArray<readonly [septet: number, char: string]> = [
  [0x0a, '\f'],
  [0x14, '^'],
  [0x28, '{'],
  [0x29, '}'],
  [0x2f, '\\'],
  [0x3c, '['],
  [0x3d, '~'],
  [0x3e, ']'],
  [0x40, '|'],
  [0x65, '€'],
];

// The highest UTF-16 code unit in either table is '€' (U+20AC); a flat table indexed by code unit
// keeps the per-character test to one bounds check and one load (planSegments runs at acceptance
// for every message).
const TABLE_SIZE = 0x20ad;

/** Septets a UTF-16 code unit costs in GSM 7-bit: 1 (basic), 2 (extension), 0 (not encodable). */
export const GSM_COST = new Uint8Array(TABLE_SIZE);
// Code unit → septet (basic) or code in the extension table (extended).
const CODE = new Uint8Array(TABLE_SIZE);
// Septet → character, for decoding.
const DECODE_BASIC: string[] = [];
const DECODE_EXTENSION: (string | undefined)[] = new Array(128).fill(undefined);

for (let septet = 0; septet < 128; septet++) {
  const char = BASIC[septet]!;
  DECODE_BASIC.push(char);
  if (septet === GSM_ESCAPE) continue;
  const unit = char.charCodeAt(0);
  GSM_COST[unit] = 1;
  CODE[unit] = septet;
}
for (const [septet, char] of EXTENSION) {
  const unit = char.charCodeAt(0);
  GSM_COST[unit] = 2;
  CODE[unit] = septet;
  DECODE_EXTENSION[septet] = char;
}

/** Septet cost of one UTF-16 code unit: 1, 2, or 0 when GSM 7-bit cannot carry it. */
export function gsmCost(unit: number): number {
  return unit < TABLE_SIZE ? GSM_COST[unit]! : 0;
}

/** True when every character of `text` is in the GSM 7-bit default alphabet or its extension. */
export function isGsm7(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= TABLE_SIZE || GSM_COST[unit] === 0) return false;
  }
  return true;
}

/**
 * Unpacked septets (one per octet) for `text`. Throws a RangeError on a character GSM 7-bit cannot
 * carry: check `isGsm7` first; substituting '?' silently would change what the recipient reads.
 */
export function encodeGsm7(text: string): Buffer {
  // At most two septets per code unit; trimmed to what was written.
  const out = Buffer.allocUnsafe(text.length * 2);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const cost = unit < TABLE_SIZE ? GSM_COST[unit]! : 0;
    if (cost === 1) {
      out[n++] = CODE[unit]!;
    } else if (cost === 2) {
      out[n++] = GSM_ESCAPE;
      out[n++] = CODE[unit]!;
    } else {
      throw new RangeError(`character U+${unit.toString(16).padStart(4, '0')} at ${i} is not in GSM 7-bit`);
    }
  }
  return out.subarray(0, n);
}

/**
 * Text of unpacked septets. Total: an escape before a code the extension table lacks shows the
 * basic character (TS 23.038 6.2.1.1); a trailing escape is dropped; an octet above 0x7F (a carrier
 * that sent Latin-1 under data_coding 0) shows as that Latin-1 character.
 */
export function decodeGsm7(septets: Uint8Array): string {
  let text = '';
  for (let i = 0; i < septets.length; i++) {
    const septet = septets[i]!;
    if (septet > 0x7f) {
      text += String.fromCharCode(septet);
    } else if (septet === GSM_ESCAPE) {
      const next = septets[i + 1];
      if (next === undefined) break;
      i++;
      if (next > 0x7f) text += String.fromCharCode(next);
      else if (next === GSM_ESCAPE) text += ' ';
      else text += DECODE_EXTENSION[next] ?? DECODE_BASIC[next]!;
    } else {
      text += DECODE_BASIC[septet]!;
    }
  }
  return text;
}

/**
 * Packs septets 8-in-7, least significant bit first (TS 23.038 6.1.2.1.1). `fillBits` (0..6) leaves
 * that many zero bits first, so that text after a UDH starts on a septet boundary.
 */
export function packSeptets(septets: Uint8Array, fillBits = 0): Buffer {
  const out = Buffer.alloc(Math.ceil((septets.length * 7 + fillBits) / 8));
  let bit = fillBits;
  for (let i = 0; i < septets.length; i++) {
    const septet = septets[i]! & 0x7f;
    const byte = bit >> 3;
    const shift = bit & 7;
    out[byte] = out[byte]! | ((septet << shift) & 0xff);
    if (shift > 1) out[byte + 1] = septet >> (8 - shift);
    bit += 7;
  }
  return out;
}

/**
 * Unpacks 8-in-7 septets. Pass `septetCount` when known (the SMS TP-UDL): without it, seven spare
 * zero bits at the end of a packed buffer read as a trailing '@'.
 */
export function unpackSeptets(packed: Uint8Array, septetCount?: number, fillBits = 0): Buffer {
  const available = Math.max(0, Math.floor((packed.length * 8 - fillBits) / 7));
  const count = septetCount === undefined ? available : Math.max(0, Math.min(septetCount, available));
  const out = Buffer.allocUnsafe(count);
  let bit = fillBits;
  for (let i = 0; i < count; i++) {
    const byte = bit >> 3;
    const shift = bit & 7;
    let value = packed[byte]! >> shift;
    if (shift > 1) value |= (packed[byte + 1] ?? 0) << (8 - shift);
    out[i] = value & 0x7f;
    bit += 7;
  }
  return out;
}
