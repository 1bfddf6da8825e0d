// Statements, pure: fold the finest-grain usage rows into the grouping asked, rate them (quota
// parts charged and refunded, money) and, for the operator, add the channels' cost and the margin.
//
// Figures of a row:
//   parts_sent       message parts the carrier took; parts_delivered / parts_failed by outcome
//   charged          quota parts reserved at acceptance (the ledger; rating applied then)
//   refunded         quota parts given back: failed (refund) or never sent (release)
//   amount           money of what stays charged: (charged − refunded) × the price row's money
//                    per quota part (0 without a price row)
//   cost             (operator) parts sent × the channel's cost per part — carriers bill submits
//   margin           (operator) amount − cost
import type { StatementDimension } from './commerce.models.ts';
import { amountOf, formatAmount, type PriceTable, priceFor } from './rating.models.ts';
import type { UsageRow } from './statements.sql.ts';

export interface StatementRow {
  day?: string;
  type?: string;
  signature_id?: number | null;
  signature?: string | null;
  channel_id?: number | null;
  channel?: string | null;
  /** (operator, grouped by channel) the channel's cost price per part, decimal text. */
  cost_per_part?: string | null;
  messages: number;
  parts_sent: number;
  parts_delivered: number;
  parts_failed: number;
  charged: number;
  refunded: number;
  amount: string;
  cost?: string;
  margin?: string;
}

interface Sum {
  keys: Partial<StatementRow>;
  messages: number;
  parts_sent: number;
  parts_delivered: number;
  parts_failed: number;
  charged: number;
  refunded: number;
  amount: bigint;
  cost: bigint;
}

function keysOf(
  row: UsageRow,
  dims: readonly StatementDimension[],
  operator: boolean,
): Partial<StatementRow> {
  const k: Partial<StatementRow> = {};
  for (const d of dims) {
    if (d === 'day') k.day = row.day;
    if (d === 'type') k.type = row.type;
    if (d === 'signature') {
      k.signature_id = row.signature_id;
      k.signature = row.signature;
    }
    if (d === 'channel') {
      k.channel_id = row.channel_id;
      k.channel = row.channel;
      if (operator) k.cost_per_part = row.channel_cost;
    }
  }
  return k;
}

export function buildStatement({
  usage,
  dims,
  prices,
  operator,
}: {
  usage: readonly UsageRow[];
  dims: readonly StatementDimension[];
  prices: PriceTable;
  operator: boolean;
}): { rows: StatementRow[]; totals: StatementRow } {
  const empty = (keys: Partial<StatementRow>): Sum => ({
    keys,
    messages: 0,
    parts_sent: 0,
    parts_delivered: 0,
    parts_failed: 0,
    charged: 0,
    refunded: 0,
    amount: 0n,
    cost: 0n,
  });
  const groups = new Map<string, Sum>();
  const total = empty({});
  for (const u of usage) {
    const keys = keysOf(u, dims, operator);
    const id = JSON.stringify(keys);
    let g = groups.get(id);
    if (!g) {
      g = empty(keys);
      groups.set(id, g);
    }
    const price = priceFor({ type: u.type, countryCode: u.country_code }, prices);
    const amount = amountOf(u.charged - u.refunded, price?.pricePerPart ?? '0');
    const cost = u.channel_cost === null ? 0n : amountOf(u.parts_sent, u.channel_cost);
    for (const s of [g, total]) {
      s.messages += u.messages;
      s.parts_sent += u.parts_sent;
      s.parts_delivered += u.parts_delivered;
      s.parts_failed += u.parts_failed;
      s.charged += u.charged;
      s.refunded += u.refunded;
      s.amount += amount;
      s.cost += cost;
    }
  }
  const view = (s: Sum): StatementRow => ({
    ...s.keys,
    messages: s.messages,
    parts_sent: s.parts_sent,
    parts_delivered: s.parts_delivered,
    parts_failed: s.parts_failed,
    charged: s.charged,
    refunded: s.refunded,
    amount: formatAmount(s.amount),
    ...(operator ? { cost: formatAmount(s.cost), margin: formatAmount(s.amount - s.cost) } : {}),
  });
  return { rows: [...groups.values()].map(view), totals: view(total) };
}

/** Columns of an exported statement, in order: the grouping's, then the figures. */
export function statementColumns(
  dims: readonly StatementDimension[],
  operator: boolean,
): (keyof StatementRow)[] {
  const keys: (keyof StatementRow)[] = [];
  for (const d of dims) {
    if (d === 'day') keys.push('day');
    if (d === 'type') keys.push('type');
    if (d === 'signature') keys.push('signature_id', 'signature');
    if (d === 'channel')
      keys.push('channel_id', 'channel', ...(operator ? (['cost_per_part'] as const) : []));
  }
  keys.push('messages', 'parts_sent', 'parts_delivered', 'parts_failed', 'charged', 'refunded', 'amount');
  if (operator) keys.push('cost', 'margin');
  return keys;
}
