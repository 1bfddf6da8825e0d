// SQL of smpp_server_outbox (0023-smpp-server.sql), one function a statement.
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

export interface OutboxRow {
  id: number;
  kind: 'receipt' | 'reply';
  payload: Record<string, unknown>;
  attempts: number;
}

/** Leases the account's oldest due rows to this node (committed before anything is sent). */
export async function claimOutboxRows(
  db: Queryable,
  {
    accountId,
    nodeId,
    leaseMs,
    limit,
  }: { accountId: number; nodeId: string; leaseMs: number; limit: number },
): Promise<OutboxRow[]> {
  const { rows } = await db.query<OutboxRow>(
    `update smpp_server_outbox o
        set leased_by = $2, leased_until = now() + $3 * interval '1 millisecond', attempts = o.attempts + 1
      where o.id in (
        select id from smpp_server_outbox
         where account_id = $1 and state = 'pending' and next_attempt_at <= now()
           and (leased_until is null or leased_until < now())
         order by id limit $4
           for update skip locked)
      returning o.id, o.kind, o.payload, o.attempts`,
    [accountId, nodeId, leaseMs, limit],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id) })).sort((a, b) => a.id - b.id);
}

export async function markOutboxDelivered(db: Queryable, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `update smpp_server_outbox
        set state = 'delivered', delivered_at = now(), leased_by = null, leased_until = null
      where id = any ($1::bigint[])`,
    [ids],
  );
}

/** Puts rows back with a backoff of 1 s doubling per attempt up to maxMs. */
export async function releaseOutboxRows(
  db: Queryable,
  { ids, error, baseMs, maxMs }: { ids: readonly number[]; error: string; baseMs: number; maxMs: number },
): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `update smpp_server_outbox
        set leased_by = null, leased_until = null, last_error = left($2, 500),
            next_attempt_at = now() + least($4::float8, $3::float8 * power(2, greatest(attempts - 1, 0)))
                                        * interval '1 millisecond'
      where id = any ($1::bigint[])`,
    [ids, error, baseMs, maxMs],
  );
}

/** Delivered rows are kept a day for support questions, then deleted. */
export async function deleteDeliveredOutboxRows(db: Queryable, olderThanMs: number): Promise<number> {
  const { rowCount } = await db.query(
    `delete from smpp_server_outbox
      where state = 'delivered' and delivered_at < now() - $1 * interval '1 millisecond'`,
    [olderThanMs],
  );
  return rowCount ?? 0;
}
