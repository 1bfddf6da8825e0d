// The pure decisions of the npm-smpp SMSC (bench/npm-smsc.ts): how it writes ids, which outcome
// a recipient gets, the receipt's text, and its seeded randomness. No I/O.

export type IdStyle = 'decimal' | 'hex' | 'alnum';
export interface Outcome {
  stat: 'DELIVRD' | 'UNDELIV' | 'EXPIRED' | 'REJECTD';
  /** The receipt's err: field, three digits. */
  err: string;
}

export interface NpmSmscOptions {
  port?: number;
  host?: string;
  /** Only binds with this password are accepted (any when unset). */
  password?: string;
  ids?: IdStyle;
  /** How the receipt writes the id: as the response did, or the same number in decimal or hex. */
  receiptIds?: 'as-response' | 'decimal' | 'hex';
  firstId?: number;
  receiptTiming?: 'after-response' | 'before-response';
  /** Delay before a receipt is queued (after-response only); 0 sends it in the same tick. */
  receiptDelayMs?: number;
  receiptField?: 'short_message' | 'message_payload';
  receiptTlvs?: boolean;
  outcome?: (recipient: string) => Outcome;
  /** Token bucket: submits above this rate are answered ESME_RTHROTTLED. */
  throttleRate?: number;
  /** Bucket size in submits (default a tenth of a second at throttleRate). */
  throttleBurst?: number;
  /** Share of submits answered ESME_RTHROTTLED at random (0..1). */
  throttleShare?: number;
  /** Seed of the random throttle, so that a run can be repeated. */
  seed?: number;
  dropEvery?: number;
  replyEvery?: number;
  replyText?: string;
  /** Unacknowledged deliver_sm per session. */
  window?: number;
}

export interface SubmitRecord {
  /** Order in which the SMSC accepted it (0-based). */
  index: number;
  recipient: string;
  source: string;
  id: string;
  receiptId: string;
  outcome: Outcome;
  at: number;
  session: number;
  part?: { ref: number; total: number; seq: number };
  text: string;
  /** False for the submit whose answer was lost because the SMSC dropped the session. */
  answered: boolean;
  /** registered_delivery asked for a final receipt (SMPP 3.4 5.2.17, bits 0-1). */
  receiptRequested: boolean;
}

export interface NpmSmscStats {
  binds: number;
  submits: number;
  throttled: number;
  drops: number;
  /** deliver_sm receipts written, resends included. */
  receiptsSent: number;
  receiptsAcked: number;
  /** Receipts unacknowledged when their session closed, queued again for the next one. */
  receiptsResent: number;
  receiptsBeforeResponse: number;
  replies: number;
}

/** Numbers ending in 8 or 9 are UNDELIV with err = their last two digits; the rest DELIVRD. */
export function outcomeByLastDigit(recipient: string): Outcome {
  const last = recipient.at(-1);
  if (last !== '8' && last !== '9') return { stat: 'DELIVRD', err: '000' };
  return { stat: 'UNDELIV', err: `0${recipient.slice(-2).padStart(2, '0')}` };
}

export function formatId(n: number, style: IdStyle): string {
  if (style === 'decimal') return String(n);
  if (style === 'hex') return n.toString(16).toUpperCase();
  // A letter no reading takes for a digit, then base 36: never a number in decimal or hex.
  return `M${n.toString(36).toUpperCase().padStart(7, '0')}`;
}

/** Appendix B date: YYMMDDhhmm (UTC). */
export function receiptDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\D/g, '').slice(2, 12);
}

/** mulberry32: small, seeded, good enough to pick which submits to refuse. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The Appendix B receipt text, as most SMSCs write it. */
export function receiptText(r: {
  receiptId: string;
  outcome: Outcome;
  at: number;
  doneAt: number;
  text: string;
}): string {
  const { stat, err } = r.outcome;
  return (
    `id:${r.receiptId} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'}` +
    ` submit date:${receiptDate(r.at)} done date:${receiptDate(r.doneAt)}` +
    ` stat:${stat} err:${err} text:${r.text.slice(0, 20).replace(/[^\x20-\x7e]/g, '?')}`
  );
}
