// The rules for replies (MO), free of I/O: which concatenation a part belongs to, how parts make
// one message, how text becomes storable, and which tenant a reply belongs to.
import { decodeShortMessage } from '../../smpp/segments.ts';

/** One part of a concatenated reply: its reference, the number of parts, its 1-based position. */
export interface ConcatRef {
  ref: number;
  total: number;
  seq: number;
}

function consistent(c: ConcatRef | undefined): c is ConcatRef {
  return c !== undefined && c.total >= 1 && c.seq >= 1 && c.seq <= c.total;
}

/**
 * The concatenation a reply part belongs to: the UDH's (8- or 16-bit reference) if present, else
 * the SAR TLVs when all three are there. A single-part "concatenation" (total 1), inconsistent
 * numbering or half a set of SAR TLVs is no concatenation: the part is stored on its own rather
 * than held waiting for siblings that cannot exist.
 */
export function concatOf({
  udh,
  sar,
}: {
  udh?: ConcatRef;
  sar: { ref?: number; total?: number; seq?: number };
}): ConcatRef | undefined {
  const fromSar =
    sar.ref !== undefined && sar.total !== undefined && sar.seq !== undefined
      ? { ref: sar.ref, total: sar.total, seq: sar.seq }
      : undefined;
  const found = consistent(udh) ? udh : consistent(fromSar) ? fromSar : undefined;
  return found && found.total > 1 ? found : undefined;
}

/**
 * Text PostgreSQL can store, deterministically: NUL (which a text column refuses) is removed, and
 * a lone UTF-16 surrogate (invalid UCS-2 from the handset) becomes U+FFFD, as the driver would
 * otherwise do silently. `sanitized` says whether anything changed; the raw bytes are kept apart.
 */
export function sanitizeText(text: string): { text: string; sanitized: boolean } {
  let out = '';
  let sanitized = false;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0) {
      sanitized = true;
    } else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += text[i]! + text[i + 1]!;
        i++;
      } else {
        out += '\uFFFD';
        sanitized = true;
      }
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      out += '\uFFFD';
      sanitized = true;
    } else {
      out += text[i]!;
    }
  }
  return { text: sanitized ? out : text, sanitized };
}

export interface ReplyPart {
  seq: number;
  dataCoding: number;
  /** User data without the UDH. */
  body: Uint8Array;
}

export interface ReassembledReply {
  content: string;
  sanitized: boolean;
  /** The parts' user data joined in order, as hex. */
  rawHex: string;
  /** The data coding of the parts, or null when they disagree. */
  dataCoding: number | null;
  parts: number;
  incomplete: boolean;
}

/**
 * One reply from the parts that arrived, in sequence order, each sequence number once (a carrier
 * that resends a part repeats it). The bytes are joined before decoding when all parts share a
 * data coding, so a UCS-2 character or GSM escape split across two parts is read whole; parts
 * of different codings are decoded one by one.
 */
export function reassemble(parts: ReplyPart[], total: number): ReassembledReply {
  const bySeq = new Map<number, ReplyPart>();
  for (const p of parts) if (!bySeq.has(p.seq)) bySeq.set(p.seq, p);
  const ordered = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const codings = new Set(ordered.map((p) => p.dataCoding));
  const joined = Buffer.concat(ordered.map((p) => p.body));
  const dataCoding = codings.size === 1 ? ordered[0]!.dataCoding : null;
  const decoded =
    dataCoding !== null
      ? decodeShortMessage(joined, dataCoding, false).text
      : ordered.map((p) => decodeShortMessage(Buffer.from(p.body), p.dataCoding, false).text).join('');
  const { text, sanitized } = sanitizeText(decoded);
  return {
    content: text,
    sanitized,
    rawHex: joined.toString('hex'),
    dataCoding,
    parts: ordered.length,
    incomplete: ordered.length < total,
  };
}

export type Attribution = 'extension' | 'recent_sender' | 'ambiguous' | 'unknown';

export interface AttributionResult {
  tenantId: number | null;
  attribution: Attribution;
  candidateTenantIds: number[] | null;
}

/**
 * Whose reply this is. The extension code in the destination names the tenant. Without one, the
 * tenant that messaged this handset on this channel is only a safe answer when it is the only one
 * that did within the receipt window: with two or more it is a guess that could hand one tenant
 * another's opt-out, so the reply is left unattributed, with the candidates, for the operator.
 */
export function attribute({
  extensionTenantId,
  recentTenantIds,
}: {
  extensionTenantId: number | null;
  recentTenantIds: number[];
}): AttributionResult {
  if (extensionTenantId !== null)
    return { tenantId: extensionTenantId, attribution: 'extension', candidateTenantIds: null };
  const distinct = [...new Set(recentTenantIds)].sort((a, b) => a - b);
  if (distinct.length === 1)
    return { tenantId: distinct[0]!, attribution: 'recent_sender', candidateTenantIds: null };
  if (distinct.length === 0) return { tenantId: null, attribution: 'unknown', candidateTenantIds: null };
  return { tenantId: null, attribution: 'ambiguous', candidateTenantIds: distinct };
}
