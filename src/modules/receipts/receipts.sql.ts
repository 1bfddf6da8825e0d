// Applying delivery receipts in batches. A receipt names the carrier's id of one part; carriers
// disagree on hex or decimal, so each receipt comes with the id variants to try. A receipt that
// matches nothing yet (it overtook its submit_sm_resp, or our write of it) is parked in
// pending_receipts and retried by the sweeper until it matches or the receipt window passes.
import type pg from 'pg';

type Queryable = Pick<pg.PoolClient, 'query'>;

export type FinalReceiptState = 'delivered' | 'undelivered' | 'expired' | 'rejected' | 'unknown';

export interface ReceiptInput {
  channelId: number;
  carrierId: string;
  variants: string[];
  state: FinalReceiptState;
  errorCode: string | null;
  doneAt: Date;
}

interface Match {
  ord: number;
  messageId: number;
  partNo: number;
}

async function matchReceipts(db: Queryable, receipts: ReceiptInput[]): Promise<Map<number, Match>> {
  const ords: number[] = [];
  const channels: number[] = [];
  const ids: string[] = [];
  receipts.forEach((r, ord) => {
    for (const v of r.variants) {
      ords.push(ord);
      channels.push(r.channelId);
      ids.push(v);
    }
  });
  const result = await db.query<{ ord: number; message_id: number; part_no: number }>(
    `with u as (select * from unnest($1::int[], $2::bigint[], $3::text[]) as u(ord, channel_id, cid))
     select u.ord, m.id as message_id, 0 as part_no
       from u join messages m on m.channel_id = u.channel_id and m.carrier_message_id = u.cid and m.parts = 1
     union all
     select u.ord, p.message_id, p.part_no
       from u join message_parts p on p.channel_id = u.channel_id and p.carrier_message_id = u.cid`,
    [ords, channels, ids],
  );
  const matches = new Map<number, Match>();
  for (const row of result.rows) {
    if (!matches.has(row.ord))
      matches.set(row.ord, { ord: row.ord, messageId: row.message_id, partNo: row.part_no });
  }
  return matches;
}

async function applyMatched(
  db: Queryable,
  receipts: ReceiptInput[],
  matches: Map<number, Match>,
  now: Date,
): Promise<void> {
  const single = [...matches.values()].filter((m) => m.partNo === 0);
  if (single.length > 0) {
    await db.query(
      `update messages m
          set status = u.state, done_at = u.done_at, error_code = u.err,
              parts_delivered = case when u.state = 'delivered' then 1 else 0 end,
              parts_failed = case when u.state = 'delivered' then 0 else 1 end,
              updated_at = $5
         from unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[]) as u(id, state, err, done_at)
        where m.id = u.id and m.status in ('sent', 'unknown')`,
      [
        single.map((m) => m.messageId),
        single.map((m) => receipts[m.ord]!.state),
        single.map((m) => receipts[m.ord]!.errorCode),
        single.map((m) => receipts[m.ord]!.doneAt),
        now,
      ],
    );
  }
  const multi = [...matches.values()].filter((m) => m.partNo > 0);
  if (multi.length > 0) {
    // Each part counts once (a repeated receipt finds its part already stated); the message is
    // final when every part is, delivered only if every part was.
    await db.query(
      `with parts as (
         update message_parts p set state = u.state
           from unnest($1::bigint[], $2::int2[], $3::text[]) as u(message_id, part_no, state)
          where p.message_id = u.message_id and p.part_no = u.part_no and p.state is null
         returning p.message_id, p.state),
       agg as (
         select message_id,
                count(*) filter (where state = 'delivered')::int as d,
                count(*) filter (where state <> 'delivered')::int as f,
                min(state) filter (where state <> 'delivered') as fstate
           from parts group by message_id)
       update messages m
          set parts_delivered = m.parts_delivered + agg.d,
              parts_failed = m.parts_failed + agg.f,
              error_code = coalesce(m.error_code, agg.fstate),
              status = case when m.parts_delivered + agg.d + m.parts_failed + agg.f >= m.parts
                            then case when m.parts_failed + agg.f > 0 then coalesce(agg.fstate, 'undelivered') else 'delivered' end
                            else m.status end,
              done_at = case when m.parts_delivered + agg.d + m.parts_failed + agg.f >= m.parts then $4 else m.done_at end,
              updated_at = $4
         from agg
        where m.id = agg.message_id and m.status in ('sent', 'unknown')`,
      [
        multi.map((m) => m.messageId),
        multi.map((m) => m.partNo),
        multi.map((m) => receipts[m.ord]!.state),
        now,
      ],
    );
  }
}

/** Applies a batch of receipts; unmatched ones are parked. Returns how many matched. */
export interface KnownPart {
  messageId: number;
  /** 0 for a single-part message, else the part number (1-based). */
  partNo: number;
}

export async function applyReceipts(
  db: Queryable,
  {
    receipts,
    now,
    known,
  }: { receipts: ReceiptInput[]; now: Date; known?: (receipt: ReceiptInput) => KnownPart | undefined },
) {
  if (receipts.length === 0) return { matched: 0, parked: 0 };
  // Receipts whose message this process just sent are matched from memory; the rest (another
  // node's, or from before a restart) are looked up.
  const matches = new Map<number, Match>();
  const unknown: number[] = [];
  receipts.forEach((r, ord) => {
    const hit = known?.(r);
    if (hit) matches.set(ord, { ord, messageId: hit.messageId, partNo: hit.partNo });
    else unknown.push(ord);
  });
  if (unknown.length > 0) {
    const looked = await matchReceipts(
      db,
      unknown.map((ord) => receipts[ord]!),
    );
    for (const [i, m] of looked) matches.set(unknown[i]!, { ...m, ord: unknown[i]! });
  }
  await applyMatched(db, receipts, matches, now);
  const unmatched = receipts.filter((_, ord) => !matches.has(ord));
  if (unmatched.length > 0) {
    await db.query(
      `insert into pending_receipts (channel_id, carrier_message_id, id_variants, state, error_code, done_at, received_at)
       select u.channel_id, u.cid, string_to_array(u.variants, ' '), u.state, u.err, u.done_at, $7
         from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
           as u(channel_id, cid, variants, state, err, done_at)`,
      [
        unmatched.map((r) => r.channelId),
        unmatched.map((r) => r.carrierId),
        // Carrier ids are alphanumeric (validated by the parser), so a space is a safe separator.
        unmatched.map((r) => r.variants.join(' ')),
        unmatched.map((r) => r.state),
        unmatched.map((r) => r.errorCode),
        unmatched.map((r) => r.doneAt),
        now,
      ],
    );
  }
  return { matched: matches.size, parked: unmatched.length };
}

/**
 * Retries parked receipts against messages recorded since; drops those older than the receipt
 * window (their messages have become `unknown`). Runs in the caller's transaction, skipping rows
 * another node is working on.
 */
export async function retryPendingReceipts(
  db: Queryable,
  {
    now,
    windowHours,
    limit = 2000,
    carrierIds,
  }: {
    now: Date;
    windowHours: number;
    limit?: number;
    /** Only the parked receipts that name one of these ids (just recorded as sent): a GIN look-up. */
    carrierIds?: string[];
  },
) {
  const pending = await db.query<{
    id: number;
    channel_id: number;
    carrier_message_id: string;
    id_variants: string[];
    state: FinalReceiptState;
    error_code: string | null;
    done_at: Date | null;
  }>(
    carrierIds === undefined
      ? `select id, channel_id, carrier_message_id, id_variants, state, error_code, done_at from pending_receipts
          order by id limit $1 for update skip locked`
      : `select id, channel_id, carrier_message_id, id_variants, state, error_code, done_at from pending_receipts
          where id_variants && $2::text[] order by id limit $1 for update skip locked`,
    carrierIds === undefined ? [limit] : [limit, carrierIds],
  );
  if (pending.rows.length === 0) return { matched: 0, dropped: 0, seen: 0 };
  const receipts: ReceiptInput[] = pending.rows.map((r) => ({
    channelId: r.channel_id,
    carrierId: r.carrier_message_id,
    variants: r.id_variants,
    state: r.state,
    errorCode: r.error_code,
    doneAt: r.done_at ?? now,
  }));
  const matches = await matchReceipts(db, receipts);
  await applyMatched(db, receipts, matches, now);
  const matchedIds = [...matches.keys()].map((ord) => pending.rows[ord]!.id);
  if (matchedIds.length > 0)
    await db.query('delete from pending_receipts where id = any($1::bigint[])', [matchedIds]);
  const dropped = await db.query(
    `delete from pending_receipts where id = any($1::bigint[]) and received_at < $2::timestamptz - make_interval(hours => $3)`,
    [pending.rows.map((r) => r.id), now, windowHours],
  );
  return { matched: matchedIds.length, dropped: dropped.rowCount ?? 0, seen: pending.rows.length };
}
