import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  amountOf,
  chargeUnits,
  countryCodeOf,
  EMPTY_PRICE_TABLE,
  formatAmount,
  type PriceRow,
  type PriceTable,
  priceFor,
  toMicros,
} from './rating.models.ts';

const row = (r: Partial<PriceRow> & Pick<PriceRow, 'destination' | 'unitsPerPart'>): PriceRow => ({
  type: null,
  countryCode: null,
  pricePerPart: '0',
  currency: 'CNY',
  ...r,
});

const table: PriceTable = {
  domesticCountryCode: '86',
  rows: [
    row({ destination: 'domestic', unitsPerPart: 1, pricePerPart: '0.045' }),
    row({ destination: 'domestic', type: 'marketing', unitsPerPart: 2, pricePerPart: '0.06' }),
    row({ destination: 'international', unitsPerPart: 5, pricePerPart: '0.35' }),
    row({ destination: 'international', countryCode: '852', unitsPerPart: 3 }),
    row({ destination: 'international', countryCode: '852', type: 'verification', unitsPerPart: 4 }),
  ],
};

describe('chargeUnits', () => {
  it('charges 1 part per part when the operator set no price', () => {
    expect(chargeUnits({ type: 'notification', countryCode: '86', parts: 3 }, EMPTY_PRICE_TABLE)).toBe(3);
    expect(chargeUnits({ type: 'marketing', countryCode: '44', parts: 2 }, EMPTY_PRICE_TABLE)).toBe(2);
  });

  it.each([
    [
      'domestic notification: the any-type domestic row',
      { type: 'notification', countryCode: '86', parts: 2 },
      2,
    ],
    ['domestic marketing: its own type row', { type: 'marketing', countryCode: '86', parts: 2 }, 4],
    ['no country counts as domestic', { type: 'marketing', countryCode: null, parts: 1 }, 2],
    [
      'international without a country row: 5 per part',
      { type: 'notification', countryCode: '44', parts: 2 },
      10,
    ],
    ['a country row beats the any-country row', { type: 'marketing', countryCode: '852', parts: 2 }, 6],
    ['country and type beat country alone', { type: 'verification', countryCode: '852', parts: 2 }, 8],
  ] as const)('%s', (_name, message, units) => {
    expect(chargeUnits(message, table)).toBe(units);
  });

  it('a domestic row never prices an international message, nor the reverse', () => {
    const onlyDomestic: PriceTable = {
      domesticCountryCode: '86',
      rows: [row({ destination: 'domestic', unitsPerPart: 7 })],
    };
    expect(chargeUnits({ type: 'notification', countryCode: '1', parts: 1 }, onlyDomestic)).toBe(1);
    const onlyIntl: PriceTable = {
      domesticCountryCode: '86',
      rows: [row({ destination: 'international', unitsPerPart: 7 })],
    };
    expect(chargeUnits({ type: 'notification', countryCode: '86', parts: 1 }, onlyIntl)).toBe(1);
  });

  it('is parts × the matching row units, whatever the order of the rows', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(table.rows as PriceRow[], { minLength: table.rows.length }),
        fc.constantFrom('verification', 'notification', 'marketing' as const),
        fc.constantFrom('86', '852', '44', null),
        fc.integer({ min: 1, max: 10 }),
        (rows, type, countryCode, parts) => {
          const shuffled = { ...table, rows };
          const units = priceFor({ type, countryCode }, table)?.unitsPerPart ?? 1;
          expect(chargeUnits({ type, countryCode, parts }, shuffled)).toBe(parts * units);
        },
      ),
    );
  });
});

describe('countryCodeOf', () => {
  it('reads the calling code of an E.164 number', () => {
    expect(countryCodeOf('+8613800138000')).toBe('86');
    expect(countryCodeOf('+85261234567')).toBe('852');
    expect(countryCodeOf('+14155550123')).toBe('1');
    expect(countryCodeOf('garbage')).toBeNull();
  });
});

describe('money', () => {
  it('sums exactly where floats would not', () => {
    expect(formatAmount(amountOf(1_000_001, '0.045'))).toBe('45000.05');
    expect(formatAmount(amountOf(3, '0.1'), 4)).toBe('0.3000');
    expect(0.1 * 3).not.toBe(0.3);
  });

  it('rounds half away from zero and keeps the sign', () => {
    expect(formatAmount(toMicros('1.005'))).toBe('1.01');
    expect(formatAmount(-toMicros('1.005'))).toBe('-1.01');
    expect(formatAmount(toMicros('0.0049'))).toBe('0.00');
  });

  it('refuses amounts that are not decimals with at most 6 places', () => {
    expect(() => toMicros('1.2345678')).toThrow(RangeError);
    expect(formatAmount(toMicros('0.00005'), 4)).toBe('0.0001');
    expect(() => toMicros('1e3')).toThrow(RangeError);
  });
});
