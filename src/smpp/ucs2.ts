// "UCS-2" as SMSCs and handsets use it today: UTF-16BE, with surrogate pairs carrying emoji and
// other characters beyond the BMP. Strict UCS-2 has no pairs, but every current handset renders
// them, and a pair counts as two of the 70/67 units a part holds.

/** UTF-16BE bytes of `text`, two per code unit (lone surrogates pass through unchanged). */
export function encodeUcs2(text: string): Buffer {
  // Node encodes UTF-16LE natively; swapping in place is cheaper than a per-unit write loop.
  return Buffer.from(text, 'utf16le').swap16();
}

/** Text of UTF-16BE bytes. Total: a dangling odd byte decodes to U+FFFD instead of throwing. */
export function decodeUcs2(bytes: Uint8Array): string {
  const even = bytes.length & ~1;
  // Copy before swapping: the caller's buffer (often a slice of a received PDU) must not change.
  const swapped = Buffer.from(bytes.subarray(0, even)).swap16();
  const text = swapped.toString('utf16le');
  return even === bytes.length ? text : text + '\uFFFD';
}

/** True for a UTF-16 high (leading) surrogate, the first half of a pair. */
export function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

/** True for a UTF-16 low (trailing) surrogate, the second half of a pair. */
export function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
