// `hongyan billing reconcile`: the ledger checked against itself and against messages. Every
// balance must equal the sum of its ledger rows (and its available part the sum of its lots), and
// every message with a reservation must have the charge its status calls for (billing.models.ts):
// no double capture, no lost refund, no reservation left behind by a finished message.
import { chargeStateOf, expectedChargeState, type MessageCharge } from './billing.models.ts';
import type { Queryable } from './ledger.sql.ts';

export type Difference =
  | {
      kind: 'balance';
      tenant_id: number;
      available: number;
      reserved: number;
      ledger_available: number;
      ledger_reserved: number;
      lots_available: number;
    }
  | {
      kind: 'message';
      message_id: number;
      tenant_id: number;
      status: string | null;
      expected: string | null;
      found: string;
      charge: MessageCharge;
    };

export interface Reconciliation {
  consistent: boolean;
  tenants_checked: number;
  messages_checked: number;
  differences: Difference[];
  /** True when there were more differences than `limit` (the rest are not listed). */
  truncated: boolean;
}

async function balanceDifferences(db: Queryable) {
  const { rows } = await db.query<{
    tenant_id: number;
    available: number;
    reserved: number;
    ledger_available: number;
    ledger_reserved: number;
    lots_available: number;
  }>(
    // Balances and lots as they stand: with the deltas the status trigger wrote and no fold has
    // applied yet (migration 0021).
    `select t.tenant_id, (coalesce(b.available, 0) + coalesce(d.available, 0))::bigint as available,
            (coalesce(b.reserved, 0) + coalesce(d.reserved, 0))::bigint as reserved,
            coalesce(l.available, 0)::bigint as ledger_available, coalesce(l.reserved, 0)::bigint as ledger_reserved,
            (coalesce(p.parts_left, 0) + coalesce(d.lots, 0))::bigint as lots_available
       from (select tenant_id from billing_balances union select tenant_id from billing_ledger
             union select tenant_id from billing_lots) t
       left join billing_balances b on b.tenant_id = t.tenant_id
       left join (select tenant_id, sum(available_delta) as available, sum(reserved_delta) as reserved,
                         sum(available_delta) filter (where lot_id is not null) as lots
                    from billing_balance_deltas group by tenant_id) d on d.tenant_id = t.tenant_id
       left join (select tenant_id, sum(available_delta) as available, sum(reserved_delta) as reserved
                    from billing_ledger group by tenant_id) l on l.tenant_id = t.tenant_id
       left join (select tenant_id, sum(parts_left) as parts_left from billing_lots group by tenant_id) p
         on p.tenant_id = t.tenant_id
      order by t.tenant_id`,
  );
  return {
    checked: rows.length,
    differences: rows.filter(
      (r) =>
        r.available !== r.ledger_available ||
        r.reserved !== r.ledger_reserved ||
        r.available !== r.lots_available,
    ),
  };
}

async function* messageCharges(db: Queryable, pageSize: number) {
  let after = 0;
  for (;;) {
    const { rows } = await db.query<
      { message_id: number; tenant_id: number; status: string | null } & Record<keyof MessageCharge, number>
    >(
      `select l.message_id, min(l.tenant_id)::bigint as tenant_id, m.status,
              coalesce(max(l.units) filter (where l.kind = 'reserve'), 0)::bigint as units,
              count(*) filter (where l.kind = 'reserve')::int as reserves,
              count(*) filter (where l.kind = 'capture')::int as captures,
              count(*) filter (where l.kind in ('refund', 'release'))::int as returns,
              sum(l.available_delta)::bigint as available, sum(l.reserved_delta)::bigint as reserved
         from billing_ledger l left join messages m on m.id = l.message_id
        where l.message_id in (select distinct message_id from billing_ledger
                                where message_id > $1 order by message_id limit $2)
        group by l.message_id, m.status
        order by l.message_id`,
      [after, pageSize],
    );
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]!.message_id;
  }
}

export async function reconcile({
  db,
  limit = 1000,
  pageSize = 10_000,
}: {
  db: Queryable;
  limit?: number;
  pageSize?: number;
}): Promise<Reconciliation> {
  const balances = await balanceDifferences(db);
  const differences: Difference[] = balances.differences.map((r) => ({ kind: 'balance' as const, ...r }));
  let messagesChecked = 0;
  let messageDifferences = 0;
  for await (const page of messageCharges(db, pageSize)) {
    for (const row of page) {
      messagesChecked++;
      const charge: MessageCharge = {
        units: row.units,
        reserves: row.reserves,
        captures: row.captures,
        returns: row.returns,
        available: row.available,
        reserved: row.reserved,
      };
      const expected = row.status === null ? null : expectedChargeState(row.status);
      const found = chargeStateOf(charge);
      if (expected !== null && found === expected) continue;
      messageDifferences++;
      if (differences.length < limit)
        differences.push({
          kind: 'message',
          message_id: row.message_id,
          tenant_id: row.tenant_id,
          status: row.status,
          expected,
          found,
          charge,
        });
    }
  }
  const total = balances.differences.length + messageDifferences;
  return {
    consistent: total === 0,
    tenants_checked: balances.checked,
    messages_checked: messagesChecked,
    differences: differences.slice(0, limit),
    truncated: total > limit,
  };
}
