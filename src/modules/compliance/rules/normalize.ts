// The text the word rules match against: each character through NFKC (full-width ＡＢＣ and
// half-width ｶﾀｶﾅ fold to their ordinary forms) and lower case, with the characters people insert
// to dodge a filter dropped: spaces, zero-width and other format characters, punctuation, symbols
// and combining marks ("赌 博", "赌.博", "赌\u200b博", "ＶＸ" all read as the plain word). Each
// normalised unit remembers where its source character starts, so a match maps back to a span of
// the original text.
//
// Speed: the matcher must scan ≥ 50 MB/s, and String.prototype.normalize per character is far
// slower than that, so every BMP code unit's result is computed once (lazily, ~65k entries) into a
// table; only surrogate pairs take the slow path.

const IGNORABLE = /[\p{White_Space}\p{Cc}\p{Cf}\p{P}\p{S}\p{M}\p{Zl}\p{Zp}]/u;

/** table[unit]: 0 = dropped; < 0x10000 = that one unit; else 0x10000 + index into EXPANSIONS. */
let table: Uint32Array | null = null;
const EXPANSIONS: string[] = [];

function foldCharacter(ch: string): string {
  let out = '';
  for (const c of ch.normalize('NFKC').toLowerCase()) {
    if (!IGNORABLE.test(c)) out += c;
  }
  return out;
}

function buildTable(): Uint32Array {
  const t = new Uint32Array(0x10000);
  for (let unit = 0; unit < 0x10000; unit++) {
    if (unit >= 0xd800 && unit <= 0xdfff) {
      t[unit] = unit; // a surrogate: handled with its pair by the caller
      continue;
    }
    const out = foldCharacter(String.fromCharCode(unit));
    if (out.length === 0) t[unit] = 0;
    else if (out.length === 1) t[unit] = out.charCodeAt(0);
    else {
      t[unit] = 0x10000 + EXPANSIONS.length;
      EXPANSIONS.push(out);
    }
  }
  return t;
}

export function foldTable(): Uint32Array {
  table ??= buildTable();
  return table;
}

export interface NormalizedText {
  /** Normalised UTF-16 code units; only the first `length` are meaningful. */
  units: Uint16Array;
  /** For each normalised unit, the index in the original text where its source character starts. */
  sources: Int32Array;
  length: number;
}

/**
 * Normalises `text` for matching. Pass `into` to reuse its buffers (the scan of many messages then
 * allocates nothing once they have grown).
 */
export function normalizeText(text: string, into?: NormalizedText): NormalizedText {
  const t = foldTable();
  const n = text.length;
  let out = into ?? { units: new Uint16Array(0), sources: new Int32Array(0), length: 0 };
  if (out.units.length < n + 8) out = grow(out, n + 8);
  let units = out.units;
  let sources = out.sources;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const unit = text.charCodeAt(i);
    const v = t[unit]!;
    if (v === 0) continue;
    if (v < 0x10000 && (unit < 0xd800 || unit > 0xdfff)) {
      units[k] = v;
      sources[k++] = i;
      continue;
    }
    let folded: string;
    const start = i;
    if (v >= 0x10000) folded = EXPANSIONS[v - 0x10000]!;
    else if (unit <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      folded = foldCharacter(text.slice(i, i + 2));
      i++;
    } else folded = String.fromCharCode(unit); // a lone surrogate stays itself
    if (k + folded.length + 2 > units.length) {
      out = grow({ units, sources, length: k }, (units.length + folded.length) * 2);
      units = out.units;
      sources = out.sources;
    }
    for (let j = 0; j < folded.length; j++) {
      units[k] = folded.charCodeAt(j);
      sources[k++] = start;
    }
  }
  out.units = units;
  out.sources = sources;
  out.length = k;
  return out;
}

function grow(from: NormalizedText, capacity: number): NormalizedText {
  const units = new Uint16Array(capacity);
  const sources = new Int32Array(capacity);
  units.set(from.units.subarray(0, from.length));
  sources.set(from.sources.subarray(0, from.length));
  return { units, sources, length: from.length };
}

/** A word or phrase as the matcher stores it (the same folding as the text it is matched in). */
export function normalizeWord(word: string): string {
  // The common case without typed buffers: compiling 100,000 words calls this 100,000 times.
  const t = foldTable();
  let out = '';
  for (let i = 0; i < word.length; i++) {
    const unit = word.charCodeAt(i);
    const v = t[unit]!;
    if (v === 0) continue;
    if (v < 0x10000 && (unit < 0xd800 || unit > 0xdfff)) out += String.fromCharCode(v);
    else if (v >= 0x10000) out += EXPANSIONS[v - 0x10000]!;
    else if (unit <= 0xdbff && i + 1 < word.length && (word.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out += foldCharacter(word.slice(i, i + 2));
      i++;
    } else out += String.fromCharCode(unit);
  }
  return out;
}

/** Whether the original character at `index` reads as a Latin letter (a–z after folding). */
export function isLatinLetterAt(text: string, index: number): boolean {
  if (index < 0 || index >= text.length) return false;
  const v = foldTable()[text.charCodeAt(index)]!;
  return v >= 0x61 && v <= 0x7a;
}

/** Whether the original character at `index` reads as an ASCII digit after folding. */
export function isDigitAt(text: string, index: number): boolean {
  if (index < 0 || index >= text.length) return false;
  const v = foldTable()[text.charCodeAt(index)]!;
  return v >= 0x30 && v <= 0x39;
}

/** End (exclusive) in the original text of the character starting at `index`. */
export function characterEnd(text: string, index: number): number {
  const unit = text.charCodeAt(index);
  if (unit >= 0xd800 && unit <= 0xdbff && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00) return index + 2;
  return index + 1;
}
