// Pure rules of signatures (签名): what a name may be, extension codes, where a signature sits in
// a message. When a pending application can expect a decision is settings/review-hours.models.ts.

export const SIGNATURE_SOURCES = [
  'company',
  'trademark',
  'app',
  'website',
  'public_account',
  'other',
] as const;
export type SignatureSource = (typeof SIGNATURE_SOURCES)[number];

export interface NameLimits {
  min: number;
  max: number;
}

/** The clouds allow 2–12 characters; seed 002's platform 8. The operator sets it (compliance settings). */
export const DEFAULT_NAME_LIMITS: NameLimits = { min: 2, max: 12 };

// Letters and digits of any script: no brackets, punctuation, symbols, spaces or emoji
// ("不可含有特殊字符", seed 002). A bracket inside a name would also break the 【…】 framing.
const NAME = /^[\p{L}\p{N}]+$/u;

export function checkSignatureName(
  name: string,
  limits: NameLimits = DEFAULT_NAME_LIMITS,
): { ok: true } | { ok: false; rule: 'length' | 'characters'; reason: string; length: number } {
  const length = [...name].length;
  if (length < limits.min || length > limits.max) {
    return {
      ok: false,
      rule: 'length',
      reason: `a signature has ${limits.min}–${limits.max} characters; this one has ${length}`,
      length,
    };
  }
  if (!NAME.test(name)) {
    return {
      ok: false,
      rule: 'characters',
      reason: 'a signature holds letters and digits only: no brackets, spaces or symbols',
      length,
    };
  }
  return { ok: true };
}

/**
 * The next extension code of a tenant: 01, 02, … 99, then 100 … 9999. Codes are never reused,
 * so an old reply can never name a newer signature.
 */
export function nextExtensionCode(existing: readonly string[]): string {
  const highest = existing.reduce((max, code) => Math.max(max, Number(code)), 0);
  return String(highest + 1).padStart(2, '0');
}

/** The longest source address SMPP carries (source_addr is a C-octet string of at most 21). */
export const MAX_SOURCE_ADDR = 20;

/**
 * Channel number + tenant code + signature code, so that a reply names tenant and signature.
 * When the three do not fit in 20 digits the signature code is left out (the tenant is still
 * found); when channel + tenant alone do not fit, the address is cut as before.
 */
export function composeSourceAddress(
  channelSource: string,
  senderCode: string | null,
  extensionCode: string | null,
): string {
  const tenantAddress = `${channelSource}${senderCode ?? ''}`;
  if (senderCode !== null && extensionCode !== null) {
    const full = `${tenantAddress}${extensionCode}`;
    if (full.length <= MAX_SOURCE_ADDR) return full;
  }
  return tenantAddress.slice(0, MAX_SOURCE_ADDR);
}

/** A signature at the head of a text: 【name】. */
const LEADING = /^【([^【】]*)】/;
/** Any bracketed 【…】 span (a second signature makes handsets drop the message, seed 002). */
const BRACKETED = /【[^【】]*】/;

export type SignedContent =
  | { ok: true; text: string; signatureId: number; signatureName: string }
  | { ok: false; code: SignatureRefusal; message: string; signatureName?: string };

export type SignatureRefusal =
  'compliance.double_signature' | 'compliance.signature_not_approved' | 'compliance.signature_required';

export interface ApprovedSignature {
  id: number;
  name: string;
  isDefault: boolean;
}

/** The tenant's approved signatures, looked up by name in O(1) per message. */
export interface SignatureBook {
  byName: ReadonlyMap<string, ApprovedSignature>;
  defaultSignature: ApprovedSignature | null;
}

export function signatureBook(signatures: readonly ApprovedSignature[]): SignatureBook {
  return {
    byName: new Map(signatures.map((s) => [s.name, s])),
    defaultSignature: signatures.find((s) => s.isDefault) ?? null,
  };
}

/**
 * The final text of a message and the signature it carries. Either `signName` names one of the
 * tenant's approved signatures and 【name】 is put in front, or the body starts with 【name】 of
 * one; with neither, the tenant's default signature is put in front; a tenant without one is
 * refused. A second 【…】 anywhere is refused whichever way the first came.
 */
export function signContent(body: string, signName: string | undefined, book: SignatureBook): SignedContent {
  const leading = LEADING.exec(body);
  let signature: ApprovedSignature | undefined;
  let rest: string;
  if (signName !== undefined) {
    if (leading !== null) {
      return {
        ok: false,
        code: 'compliance.double_signature',
        message: `sign_name ${signName} and the content's own 【${leading[1]}】 would make two signatures`,
        signatureName: leading[1],
      };
    }
    signature = book.byName.get(signName);
    if (signature === undefined) return notApproved(signName);
    rest = body;
  } else if (leading !== null) {
    signature = book.byName.get(leading[1]!);
    if (signature === undefined) return notApproved(leading[1]!);
    rest = body.slice(leading[0].length);
  } else {
    if (book.defaultSignature === null) {
      return {
        ok: false,
        code: 'compliance.signature_required',
        message:
          'name an approved signature (sign_name, or 【name】 at the start); this tenant has no default one',
      };
    }
    signature = book.defaultSignature;
    rest = body;
  }
  const second = BRACKETED.exec(rest);
  if (second !== null) {
    return {
      ok: false,
      code: 'compliance.double_signature',
      message: `a second signature ${second[0]} in the content: handsets drop messages with two`,
      signatureName: second[0],
    };
  }
  return {
    ok: true,
    text: `【${signature.name}】${rest}`,
    signatureId: signature.id,
    signatureName: signature.name,
  };
}

function notApproved(name: string): SignedContent {
  return {
    ok: false,
    code: 'compliance.signature_not_approved',
    message: `【${name}】 is not an approved signature of this tenant`,
    signatureName: name,
  };
}
