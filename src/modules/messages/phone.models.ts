// Recipient numbers: normalize to E.164 with libphonenumber-js's full ("max") metadata, so that
// number types are known, and mask them for logs.
//
// normalizePhone runs per recipient on batches of 10,000 and more. A full libphonenumber parse plus
// getType costs about 8 µs (some 120k numbers/s on the 2-core reference machine), most of it
// rebuilding metadata wrappers and compiling the same regular expressions on every call. For the
// common input — digits, optionally '+' and the default region's calling code, with spaces or
// hyphens — fastMobileE164 below answers from the same metadata with regular expressions compiled once
// per region. It only ever answers "valid mobile"; every other input, and every number it is not
// certain about, goes through the full parse, so its verdicts are the library's (the tests compare
// the two paths on random numbers).

import type { CountryCode } from 'libphonenumber-js/max';
import {
  isSupportedCountry,
  Metadata,
  parsePhoneNumberFromString,
  validatePhoneNumberLength,
} from 'libphonenumber-js/max';

export const PHONE_ERROR_CODES = [
  'phone.empty',
  'phone.invalid',
  'phone.too_short',
  'phone.too_long',
  'phone.invalid_country',
  'phone.not_mobile',
] as const;

export type PhoneErrorCode = (typeof PHONE_ERROR_CODES)[number];

export type NormalizedPhone =
  { ok: true; e164: string; country?: string } | { ok: false; code: PhoneErrorCode; reason: string };

// Longer input is not a phone number; libphonenumber itself gives up at 250 characters.
const MAX_INPUT_LENGTH = 64;
const HAS_LETTER = /\p{L}/u;
const LEADING_00 = /^[\s\-.()/]*00/;

/**
 * `input` as E.164, or why it cannot receive an SMS. National numbers are read in `defaultRegion`;
 * '+cc…', '00cc…' and the region's calling code without '+' ('8613800138000') are understood.
 * Only numbers the metadata classes as FIXED_LINE are refused as landlines: FIXED_LINE_OR_MOBILE
 * (the whole of the US, for one) and other types pass. Never throws.
 */
export function normalizePhone(input: string, defaultRegion: CountryCode = 'CN'): NormalizedPhone {
  const fast = fastMobileE164(input, defaultRegion);
  if (fast !== undefined) return { ok: true, e164: fast, country: defaultRegion };
  return fullNormalize(input, defaultRegion);
}

function fullNormalize(input: string, region: CountryCode): NormalizedPhone {
  const text = input.trim();
  if (text === '') return fail('phone.empty', 'the phone number is empty');
  if (text.length > MAX_INPUT_LENGTH) {
    return fail('phone.too_long', `the phone number is longer than ${MAX_INPUT_LENGTH} characters`);
  }
  // libphonenumber reads letters as keypad digits (1-800-FLOWERS) and "ext" as an extension; a
  // recipient list with letters in it is a mistake to report, not a number to guess.
  if (HAS_LETTER.test(text)) return fail('phone.invalid', 'the phone number contains letters');
  if (!isSupportedCountry(region)) return fail('phone.invalid_country', `unknown default region ${region}`);

  let parsed = parsePhoneNumberFromString(text, region);
  let type = parsed?.getType();
  // '00' is the international prefix in most of the world but not in every default region
  // (011 in the US): read '0086…' as '+86…' when the region's own reading is not a valid number.
  if (type === undefined && LEADING_00.test(text)) {
    const international = parsePhoneNumberFromString('+' + text.replace(LEADING_00, ''), region);
    const internationalType = international?.getType();
    if (internationalType !== undefined) {
      parsed = international;
      type = internationalType;
    }
  }
  if (parsed === undefined || type === undefined) return invalid(text, region);
  if (parsed.ext) return fail('phone.invalid', 'the phone number has an extension');
  if (type === 'FIXED_LINE') return fail('phone.not_mobile', `${parsed.number} is a landline`);
  return parsed.country
    ? { ok: true, e164: parsed.number, country: parsed.country }
    : { ok: true, e164: parsed.number };
}

// Only on the failure path: tells the sender what is wrong with the number.
function invalid(text: string, region: CountryCode): NormalizedPhone {
  switch (validatePhoneNumberLength(text, region)) {
    case 'TOO_SHORT':
      return fail('phone.too_short', 'the phone number is too short');
    case 'TOO_LONG':
      return fail('phone.too_long', 'the phone number is too long');
    case 'INVALID_COUNTRY':
      return fail('phone.invalid_country', 'the country calling code is unknown');
    default:
      return fail('phone.invalid', 'not a valid phone number');
  }
}

function fail(code: PhoneErrorCode, reason: string): NormalizedPhone {
  return { ok: false, code, reason };
}

// The parts of a libphonenumber-js numbering plan the fast path reads. They are not in its type
// declarations, so they are checked when a region's plan is built; if the library ever changes
// them, the fast path switches itself off and every number takes the full parse.
interface TypeInternals {
  pattern(): string;
  possibleLengths(): number[] | undefined;
}
interface PlanInternals {
  callingCode(): string;
  IDDPrefix(): string;
  nationalNumberPattern(): string;
  nationalPrefixForParsing(): string | undefined;
  type(type: 'FIXED_LINE' | 'MOBILE'): TypeInternals | undefined;
}
interface MetadataInternals {
  numberingPlan?: unknown;
  getCountryCodesForCallingCode(callingCode: string): string[] | undefined;
}

interface TypeMatcher {
  pattern: RegExp;
  lengths: readonly number[] | undefined;
}

interface FastPlan {
  callingCode: string;
  idd: RegExp;
  nationalPrefix: RegExp | undefined;
  nationalNumber: RegExp;
  fixedLine: TypeMatcher | undefined;
  mobile: TypeMatcher | undefined;
  // A MOBILE pattern the metadata dropped as a duplicate of FIXED_LINE: such numbers are
  // FIXED_LINE_OR_MOBILE.
  mobileSameAsFixed: boolean;
}

const fastPlans = new Map<string, FastPlan | null>();

function fastPlanFor(region: string): FastPlan | null {
  let plan = fastPlans.get(region);
  if (plan === undefined) {
    plan = buildFastPlan(region);
    fastPlans.set(region, plan);
  }
  return plan;
}

function buildFastPlan(region: string): FastPlan | null {
  try {
    if (!isSupportedCountry(region)) return null;
    const metadata = new Metadata() as unknown as MetadataInternals & Metadata;
    metadata.selectNumberingPlan(region);
    const plan = metadata.numberingPlan as Partial<PlanInternals> | undefined;
    if (
      typeof metadata.getCountryCodesForCallingCode !== 'function' ||
      typeof plan?.callingCode !== 'function' ||
      typeof plan.IDDPrefix !== 'function' ||
      typeof plan.nationalNumberPattern !== 'function' ||
      typeof plan.nationalPrefixForParsing !== 'function' ||
      typeof plan.type !== 'function'
    ) {
      return null;
    }
    const callingCode = plan.callingCode();
    // A calling code shared by several regions (+1, +7, +44) needs the library's choice of
    // region; only a region that owns its calling code alone can be answered here.
    if (metadata.getCountryCodesForCallingCode(callingCode)?.length !== 1) return null;
    const nationalPrefix = plan.nationalPrefixForParsing();
    const mobile = plan.type('MOBILE');
    return {
      callingCode,
      idd: new RegExp('^(?:' + plan.IDDPrefix() + ')'),
      nationalPrefix: nationalPrefix ? new RegExp('^(?:' + nationalPrefix + ')') : undefined,
      nationalNumber: new RegExp('^(?:' + plan.nationalNumberPattern() + ')$'),
      fixedLine: typeMatcher(plan.type('FIXED_LINE')),
      mobile: typeMatcher(mobile),
      mobileSameAsFixed: !mobile || mobile.pattern() === '',
    };
  } catch {
    return null;
  }
}

function typeMatcher(type: TypeInternals | undefined): TypeMatcher | undefined {
  const pattern = type?.pattern();
  if (!type || !pattern) return undefined;
  return { pattern: new RegExp('^(?:' + pattern + ')$'), lengths: type.possibleLengths() };
}

function matchesType(nsn: string, type: TypeMatcher | undefined): boolean {
  if (!type) return false;
  if (type.lengths && !type.lengths.includes(nsn.length)) return false;
  return type.pattern.test(nsn);
}

/**
 * E.164 of `input` when it is certainly a valid non-landline number of `region` by the steps
 * libphonenumber-js takes (parse.js, extractCountryCallingCode.js, extractNationalNumber.js,
 * getNumberType.js), else undefined: the caller then runs the full parse. Exported so that tests
 * can hold it to the library's verdicts; use normalizePhone.
 */
export function fastMobileE164(input: string, region: string): string | undefined {
  if (input.length > 32) return undefined;
  const plan = fastPlanFor(region);
  if (!plan) return undefined;
  let digits = '';
  let plus = false;
  let seenDigit = false;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      digits += input[i];
      seenDigit = true;
    } else if (c === 0x2b /* + */ && !seenDigit && !plus) {
      // Only right before the first digit: '+ 86' and '8+6' are left to the library.
      const next = input.charCodeAt(i + 1);
      if (!(next >= 0x30 && next <= 0x39)) return undefined;
      plus = true;
    } else if (c !== 0x20 && c !== 0x2d /* - */) {
      return undefined;
    }
  }
  let nsn: string;
  if (plus) {
    // Calling codes are prefix-free, so the library's shortest-match scan finds this one too.
    if (!digits.startsWith(plan.callingCode)) return undefined;
    nsn = digits.slice(plan.callingCode.length);
  } else if (plan.idd.test(digits)) {
    return undefined; // '00…': the library reads an international number
  } else if (digits.startsWith(plan.callingCode)) {
    // '8613800138000': the library drops the calling code when the whole is not a national
    // number and the rest is (extractCountryCallingCodeFromInternationalNumberWithoutPlusSign).
    const rest = digits.slice(plan.callingCode.length);
    if (
      plan.nationalPrefix?.test(digits) ||
      plan.nationalNumber.test(digits) ||
      !plan.nationalNumber.test(rest)
    ) {
      return undefined;
    }
    nsn = rest;
  } else {
    nsn = digits;
  }
  // A national (or carrier selection) prefix the library might strip or transform.
  if (plan.nationalPrefix?.test(nsn)) return undefined;
  if (!plan.nationalNumber.test(nsn)) return undefined;
  const mobile = matchesType(nsn, plan.fixedLine)
    ? plan.mobileSameAsFixed || matchesType(nsn, plan.mobile)
    : matchesType(nsn, plan.mobile);
  return mobile ? '+' + plan.callingCode + nsn : undefined;
}

/**
 * A phone number for logs: country code and the first digits, four stars, the last four digits
 * ('+8613800138000' → '+86138****8000'). Short or malformed input keeps only its last two
 * characters, so a log line never carries a whole number.
 */
export function maskPhone(e164: string): string {
  const length = e164.length;
  if (length >= 10) return e164.slice(0, length - 8) + '****' + e164.slice(length - 4);
  if (length <= 2) return '*'.repeat(length);
  return '*'.repeat(length - 2) + e164.slice(length - 2);
}
