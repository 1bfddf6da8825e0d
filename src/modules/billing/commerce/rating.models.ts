// Rating: how many quota parts a message costs, and what a sent part is worth in money, from the
// operator's price table. Pure: the ledger (part A) calls chargeUnits at reservation with the
// table it loaded, and statements use priceFor for their money columns.
//
// A price row matches by message type (null: every type) and destination: 'domestic', or
// 'international' with a calling code (null: every country without a row of its own). The most
// specific row wins, the country before the type, since the destination decides what a carrier
// charges. With no matching row a message costs 1 part per part (the default).
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export const MESSAGE_TYPES = ['verification', 'notification', 'marketing'] as const;
export type RatedType = (typeof MESSAGE_TYPES)[number];
export type Destination = 'domestic' | 'international';

export interface PriceRow {
  type: RatedType | null;
  destination: Destination;
  /** Calling code without '+', international rows only ('1', '44', '852'); null: any country. */
  countryCode: string | null;
  /** Quota parts charged per message part. */
  unitsPerPart: number;
  /** Money per quota part charged, a decimal string ('0.0450'), for statements' amounts. */
  pricePerPart: string;
  currency: string;
}

export interface PriceTable {
  rows: readonly PriceRow[];
  /** The calling code that counts as domestic ('86'). */
  domesticCountryCode: string;
}

export const DEFAULT_DOMESTIC_COUNTRY_CODE = '86';
export const EMPTY_PRICE_TABLE: PriceTable = { rows: [], domesticCountryCode: DEFAULT_DOMESTIC_COUNTRY_CODE };

/** The calling code of an E.164 number ('+8613800138000' → '86'), or null when it does not parse. */
export function countryCodeOf(e164: string): string | null {
  return parsePhoneNumberFromString(e164)?.countryCallingCode ?? null;
}

export function destinationOf(countryCode: string | null | undefined, table: PriceTable): Destination {
  return countryCode == null || countryCode === table.domesticCountryCode ? 'domestic' : 'international';
}

/** The price row that applies to a message, or null when none does (the default then applies). */
export function priceFor(
  message: { type: RatedType; countryCode?: string | null },
  table: PriceTable,
): PriceRow | null {
  const destination = destinationOf(message.countryCode, table);
  let best: PriceRow | null = null;
  let bestScore = -1;
  for (const row of table.rows) {
    if (row.destination !== destination) continue;
    if (row.type !== null && row.type !== message.type) continue;
    if (row.countryCode !== null && row.countryCode !== message.countryCode) continue;
    const score = (row.countryCode !== null ? 2 : 0) + (row.type !== null ? 1 : 0);
    if (score > bestScore) {
      best = row;
      bestScore = score;
    }
  }
  return best;
}

/** Quota parts a message of `parts` parts costs: its price row's units per part, else 1 per part. */
export function chargeUnits(
  message: { type: RatedType; countryCode?: string | null; parts: number },
  table: PriceTable,
): number {
  const row = priceFor(message, table);
  return message.parts * (row ? row.unitsPerPart : 1);
}

// Money is decimal: amounts are carried as integers of 1/1,000,000 of the currency unit (prices
// have 4 places, channel costs 5), so sums of many rows are exact (a float sum of 0.045 ×
// 1,000,000 parts is not).
const PLACES = 6;
const SCALE = 10n ** BigInt(PLACES);

export function toMicros(decimal: string): bigint {
  const m = /^(-)?(\d+)(?:\.(\d{0,6}))?$/.exec(decimal.trim());
  if (!m) throw new RangeError(`not a decimal amount with at most ${PLACES} places: "${decimal}"`);
  const value = BigInt(m[2]!) * SCALE + BigInt((m[3] ?? '').padEnd(PLACES, '0'));
  return m[1] ? -value : value;
}

/** An amount in 1/1,000,000 units as a decimal string with `places` places (rounded half away from 0). */
export function formatAmount(micros: bigint, places = 2): string {
  const negative = micros < 0n;
  let v = negative ? -micros : micros;
  const drop = 10n ** BigInt(PLACES - places);
  v = (v + drop / 2n) / drop;
  const unit = 10n ** BigInt(places);
  const whole = v / unit;
  const frac = places > 0 ? `.${(v % unit).toString().padStart(places, '0')}` : '';
  return `${negative && v !== 0n ? '-' : ''}${whole}${frac}`;
}

/** parts × price per part, exactly, in 1/1,000,000 units. */
export function amountOf(parts: number, pricePerPart: string): bigint {
  return BigInt(parts) * toMicros(pricePerPart);
}
