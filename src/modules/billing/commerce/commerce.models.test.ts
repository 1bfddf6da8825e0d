import { describe, expect, it } from 'vitest';
import { canCancel, canConfirm, lowBalanceDecision, parseGroupBy, parseRange } from './commerce.models.ts';
import { buildStatement, statementColumns } from './statements.models.ts';
import type { UsageRow } from './statements.sql.ts';
import type { PriceTable } from './rating.models.ts';

describe('orders', () => {
  it('confirms created and paid orders, cancels only unpaid ones, and nothing leaves credited', () => {
    expect(['created', 'paid', 'credited', 'canceled'].filter((s) => canConfirm(s as never))).toEqual([
      'created',
      'paid',
    ]);
    expect(['created', 'paid', 'credited', 'canceled'].filter((s) => canCancel(s as never))).toEqual([
      'created',
    ]);
  });
});

describe('lowBalanceDecision', () => {
  it.each([
    [29, 30, false, 'alert'],
    [29, 30, true, 'none'],
    [0, 30, true, 'none'],
    [30, 30, true, 'rearm'],
    [31, 30, true, 'rearm'],
    [30, 30, false, 'none'],
    [500, 30, false, 'none'],
  ] as const)('available %i, threshold %i, alerted %s: %s', (available, threshold, alerted, decision) => {
    expect(lowBalanceDecision({ available, threshold, alerted })).toBe(decision);
  });
});

describe('statement parameters', () => {
  it('group_by: known names in a fixed order, day and type by default', () => {
    expect(parseGroupBy(undefined)).toEqual(['day', 'type']);
    expect(parseGroupBy('channel,day')).toEqual(['day', 'channel']);
    expect(parseGroupBy('day,tenant')).toBeNull();
  });

  it('a range is two real dates, in order, at most 366 days apart', () => {
    expect(parseRange('2026-03-01', '2026-03-01')).toEqual({ from: '2026-03-01', to: '2026-03-01' });
    expect(parseRange('2026-03-02', '2026-03-01')).toBeNull();
    expect(parseRange('2026-02-30', '2026-03-01')).toBeNull();
    expect(parseRange('2025-01-01', '2026-03-01')).toBeNull();
    expect(parseRange('20260301', '2026-03-01')).toBeNull();
  });
});

const usage = (u: Partial<UsageRow>): UsageRow => ({
  day: '2026-03-01',
  type: 'notification',
  signature_id: null,
  signature: null,
  channel_id: 1,
  channel: 'ch1',
  channel_cost: '0.03',
  country_code: null,
  messages: 0,
  parts: 0,
  parts_sent: 0,
  parts_delivered: 0,
  parts_failed: 0,
  charged: 0,
  refunded: 0,
  ...u,
});

const prices: PriceTable = {
  domesticCountryCode: '86',
  rows: [
    {
      type: null,
      destination: 'domestic',
      countryCode: null,
      unitsPerPart: 1,
      pricePerPart: '0.05',
      currency: 'CNY',
    },
    {
      type: null,
      destination: 'international',
      countryCode: null,
      unitsPerPart: 5,
      pricePerPart: '0.40',
      currency: 'CNY',
    },
  ],
};

describe('buildStatement', () => {
  const rows = [
    usage({
      messages: 10,
      parts: 12,
      parts_sent: 12,
      parts_delivered: 10,
      parts_failed: 2,
      charged: 12,
      refunded: 2,
    }),
    usage({ country_code: 'other', messages: 1, parts: 1, parts_sent: 1, parts_delivered: 1, charged: 5 }),
    usage({
      day: '2026-03-02',
      type: 'marketing',
      channel_id: 2,
      channel: 'ch2',
      channel_cost: '0.02',
      messages: 3,
      parts: 6,
      parts_sent: 6,
      parts_delivered: 6,
      charged: 6,
    }),
  ];

  it('rates each group: charged and refunded in quota parts, amount, and for the operator cost and margin', () => {
    const { rows: out, totals } = buildStatement({ usage: rows, dims: ['day'], prices, operator: true });
    expect(out).toEqual([
      {
        day: '2026-03-01',
        messages: 11,
        parts_sent: 13,
        parts_delivered: 11,
        parts_failed: 2,
        charged: 12 + 5,
        refunded: 2,
        amount: '2.50', // (12 − 2) × 0.05 + 5 × 0.40
        cost: '0.39', // 13 × 0.03
        margin: '2.11',
      },
      {
        day: '2026-03-02',
        messages: 3,
        parts_sent: 6,
        parts_delivered: 6,
        parts_failed: 0,
        charged: 6,
        refunded: 0,
        amount: '0.30',
        cost: '0.12',
        margin: '0.18',
      },
    ]);
    expect(totals).toMatchObject({
      messages: 14,
      charged: 23,
      refunded: 2,
      amount: '2.80',
      cost: '0.51',
      margin: '2.29',
    });
  });

  it('a tenant statement has no cost or margin', () => {
    const { rows: out } = buildStatement({ usage: rows, dims: ['channel'], prices, operator: false });
    expect(out.map((r) => Object.keys(r))).toEqual(
      out.map(() => [
        'channel_id',
        'channel',
        'messages',
        'parts_sent',
        'parts_delivered',
        'parts_failed',
        'charged',
        'refunded',
        'amount',
      ]),
    );
    expect(statementColumns(['channel'], false)).not.toContain('margin');
    expect(statementColumns(['channel'], true)).toContain('margin');
  });
});
