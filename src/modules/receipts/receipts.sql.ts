// Hot-path statements of receipt matching, one exported function per statement, each for a whole
// batch (unnest). The decisions — which message a receipt names, which of two receipts counts —
// are in receipts.models.ts; receipt-matching.ts runs these statements in one transaction.
import type pg from 'pg';
import { prepared } from '../../db/prepared.ts';
import type { FinalReceiptState, FixedIdConvention, ReadingHit } from './receipts.models.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface ReceiptLookup {
  /** The receipt's place in its batch. */
  ord: number;
  channelId: number;
  convention: FixedIdConvention;
  /** One spelling of the submit_sm_resp id that this reading names. */
  responseId: string;
}

/**
 * The messages (or parts) whose submit_sm_resp id is one of the lookups', with whether each still
 * awaits a receipt. A single-part message keeps its id on its row; parts are in message_parts.
 */
export async function findReceiptHits(
  db: Queryable,
  lookups: ReceiptLookup[],
): Promise<(ReadingHit & { ord: number })[]> {
  if (lookups.length === 0) return [];
  const result = await db.query<{
    ord: number;
    convention: FixedIdConvention;
    message_id: number;
    part_no: number;
    awaiting: boolean;
  }>(
    prepared(
      'find-receipt-hits',
      `with u as (select * from unnest($1::int[], $2::text[], $3::bigint[], $4::text[]) as u(ord, convention, channel_id, cid))
     select u.ord, u.convention, m.id as message_id, 0 as part_no, m.status in ('sent', 'unknown') as awaiting
       from u join messages m on m.channel_id = u.channel_id and m.carrier_message_id = u.cid and m.parts = 1
     union all
     select u.ord, u.convention, p.message_id, p.part_no,
            m.status in ('sent', 'unknown') and (p.state is null or p.state = 'unknown') as awaiting
       from u join message_parts p on p.channel_id = u.channel_id and p.carrier_message_id = u.cid
       join messages m on m.id = p.message_id`,
      [
        lookups.map((l) => l.ord),
        lookups.map((l) => l.convention),
        lookups.map((l) => l.channelId),
        lookups.map((l) => l.responseId),
      ],
    ),
  );
  return result.rows.map((r) => ({
    ord: r.ord,
    convention: r.convention,
    messageId: Number(r.message_id),
    partNo: r.part_no,
    awaiting: r.awaiting,
  }));
}

export interface ReceiptApplication {
  messageId: number;
  partNo: number;
  state: FinalReceiptState;
  errorCode: string | null;
  doneAt: Date;
}

/**
 * Outcomes of single-part messages. A message takes a receipt while `sent`, or `unknown` (the
 * receipt window passed, or the carrier's stat was unrecognised): a later final state replaces
 * that. Returns the ids updated; a receipt whose message is not among them is a duplicate.
 */
export async function applySinglePartReceipts(
  db: Queryable,
  { rows, now }: { rows: ReceiptApplication[]; now: Date },
): Promise<Set<number>> {
  if (rows.length === 0) return new Set();
  const result = await db.query<{ id: string }>(
    prepared(
      'apply-single-part-receipts',
      `update messages m
        set status = u.state, done_at = u.done_at, error_code = u.err,
            parts_delivered = case when u.state = 'delivered' then 1 else 0 end,
            parts_failed = case when u.state = 'delivered' then 0 else 1 end,
            updated_at = $5
       from unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[]) as u(id, state, err, done_at)
      where m.id = u.id and m.status in ('sent', 'unknown')
     returning m.id`,
      [
        rows.map((r) => r.messageId),
        rows.map((r) => r.state),
        rows.map((r) => r.errorCode),
        rows.map((r) => r.doneAt),
        now,
      ],
    ),
  );
  return new Set(result.rows.map((r) => Number(r.id)));
}

/**
 * A whole batch of receipts for distinct single-part messages in one statement, atomic by
 * itself: the outcomes applied as applySinglePartReceipts does, those their message could not
 * take recorded as duplicates (recordDuplicateReceipts), and the counts added to one slot
 * (addReceiptCounts; none parked). Returns the messages updated.
 */
export async function applySinglePartReceiptsCounted(
  db: Queryable,
  {
    rows,
    now,
    slot,
  }: { rows: (ReceiptApplication & { channelId: number; carrierId: string })[]; now: Date; slot: number },
): Promise<Set<number>> {
  if (rows.length === 0) return new Set();
  const result = await db.query<{ id: string }>(
    prepared(
      'apply-single-part-receipts-counted',
      `with u as (
       select * from unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[], $6::text[])
         as u(id, state, err, done_at, channel_id, cid)),
     upd as (
       update messages m
          set status = u.state, done_at = u.done_at, error_code = u.err,
              parts_delivered = case when u.state = 'delivered' then 1 else 0 end,
              parts_failed = case when u.state = 'delivered' then 0 else 1 end,
              updated_at = $7
         from u
        where m.id = u.id and m.status in ('sent', 'unknown')
       returning m.id),
     dup as (
       insert into receipt_duplicates (channel_id, carrier_message_id, message_id, part_no, state, error_code, received_at)
       select u.channel_id, u.cid, u.id, 0, u.state, u.err, $7
         from u where u.id not in (select id from upd)),
     counted as (
       insert into receipt_counters as c (channel_id, slot, received, applied, parked, duplicate, expired)
       select u.channel_id, $8, count(*), count(upd.id), 0, count(*) - count(upd.id), 0
         from u left join upd on upd.id = u.id
        group by u.channel_id
        order by u.channel_id
       on conflict (channel_id, slot) do update
         set received = c.received + excluded.received, applied = c.applied + excluded.applied,
             duplicate = c.duplicate + excluded.duplicate)
     select id from upd`,
      [
        rows.map((r) => r.messageId),
        rows.map((r) => r.state),
        rows.map((r) => r.errorCode),
        rows.map((r) => r.doneAt),
        rows.map((r) => r.channelId),
        rows.map((r) => r.carrierId),
        now,
        slot,
      ],
    ),
  );
  return new Set(result.rows.map((r) => Number(r.id)));
}

/**
 * Locks the multi-part messages a batch will update, in id order. Two batches written at once
 * may hold receipts for different parts of one message; each must then see the other's parts
 * when it counts them, or both count one part and the message never ends. The next statement
 * takes its snapshot after these locks are held.
 */
export async function lockMessagesForParts(db: Queryable, messageIds: number[]): Promise<void> {
  if (messageIds.length === 0) return;
  await db.query(
    prepared(
      'lock-messages-for-parts',
      'select id from messages where id = any($1::bigint[]) order by id for update',
      [messageIds],
    ),
  );
}

/**
 * States of parts, then each touched message's counts and outcome recomputed from all its parts
 * (see messageOutcome in receipts.models.ts: final when every part has a state, delivered only
 * if all were, else the state and carrier code of the lowest failed part). A part takes a receipt
 * while it has no state or only `unknown`. Returns the parts updated ("messageId:partNo").
 */
export async function applyPartReceipts(
  db: Queryable,
  { rows, now }: { rows: ReceiptApplication[]; now: Date },
): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const result = await db.query<{ message_id: string; part_no: number }>(
    prepared(
      'apply-part-receipts',
      `with u as (select * from unnest($1::bigint[], $2::int2[], $3::text[], $4::text[]) as u(message_id, part_no, state, err)),
     upd as (
       update message_parts p set state = u.state, error_code = u.err
         from u, messages m
        where p.message_id = u.message_id and p.part_no = u.part_no
          and (p.state is null or p.state = 'unknown')
          and m.id = p.message_id and m.status in ('sent', 'unknown')
       returning p.message_id, p.part_no, p.state, p.error_code, p.covers),
     allparts as (
       select message_id, part_no, state, error_code, covers from upd
       union all
       select p.message_id, p.part_no, p.state, p.error_code, p.covers from message_parts p
        where p.message_id in (select message_id from upd)
          and (p.message_id, p.part_no) not in (select message_id, part_no from upd)),
     agg as (
       select message_id,
              coalesce(sum(covers) filter (where state = 'delivered'), 0)::int as d,
              coalesce(sum(covers) filter (where state is not null and state <> 'delivered'), 0)::int as f,
              (array_agg(state order by part_no) filter (where state is not null and state <> 'delivered'))[1] as fstate,
              (array_agg(error_code order by part_no) filter (where state is not null and state <> 'delivered'))[1] as ferr
         from allparts group by message_id),
     msg as (
       update messages m
          set parts_delivered = agg.d, parts_failed = agg.f,
              status = case when agg.d + agg.f >= m.parts then coalesce(agg.fstate, 'delivered') else m.status end,
              error_code = case when agg.d + agg.f >= m.parts then agg.ferr else m.error_code end,
              done_at = case when agg.d + agg.f >= m.parts then $5 else m.done_at end,
              updated_at = $5
         from agg where m.id = agg.message_id)
     select message_id, part_no from upd`,
      [
        rows.map((r) => r.messageId),
        rows.map((r) => r.partNo),
        rows.map((r) => r.state),
        rows.map((r) => r.errorCode),
        now,
      ],
    ),
  );
  return new Set(result.rows.map((r) => `${r.message_id}:${r.part_no}`));
}

export interface DuplicateReceipt extends ReceiptApplication {
  channelId: number;
  carrierId: string;
}

/** Receipts for a message or part that could not take them, kept with the carrier's id. */
export async function recordDuplicateReceipts(
  db: Queryable,
  { rows, now }: { rows: DuplicateReceipt[]; now: Date },
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    prepared(
      'record-duplicate-receipts',
      `insert into receipt_duplicates (channel_id, carrier_message_id, message_id, part_no, state, error_code, received_at)
     select u.channel_id, u.cid, u.message_id, u.part_no, u.state, u.err, $7
       from unnest($1::bigint[], $2::text[], $3::bigint[], $4::int2[], $5::text[], $6::text[])
         as u(channel_id, cid, message_id, part_no, state, err)`,
      [
        rows.map((r) => r.channelId),
        rows.map((r) => r.carrierId),
        rows.map((r) => r.messageId),
        rows.map((r) => r.partNo),
        rows.map((r) => r.state),
        rows.map((r) => r.errorCode),
        now,
      ],
    ),
  );
}

export interface ParkedReceiptInput {
  channelId: number;
  carrierId: string;
  /** Every response id the receipt may name: a search hint for when those ids are written. */
  hints: string[];
  state: FinalReceiptState;
  errorCode: string | null;
  doneAt: Date;
}

/**
 * Receipts that name no message yet wait in pending_receipts, one per carrier id and channel: a
 * copy of one already waiting (a carrier's resend, or twice in this batch) is not parked again.
 * Answers the index of each row that was parked; the others were copies.
 */
export async function parkReceipts(
  db: Queryable,
  { rows, now }: { rows: ParkedReceiptInput[]; now: Date },
): Promise<Set<number>> {
  if (rows.length === 0) return new Set();
  const result = await db.query<{ channel_id: string; carrier_message_id: string }>(
    prepared(
      'park-receipts',
      `insert into pending_receipts (channel_id, carrier_message_id, id_variants, state, error_code, done_at, received_at)
     select u.channel_id, u.cid, string_to_array(u.hints, ' '), u.state, u.err, u.done_at, $7
       from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
         as u(channel_id, cid, hints, state, err, done_at)
     on conflict (channel_id, carrier_message_id) do nothing
     returning channel_id, carrier_message_id`,
      [
        rows.map((r) => r.channelId),
        rows.map((r) => r.carrierId),
        // Carrier ids are alphanumeric (validated by the parser), so a space is a safe separator.
        rows.map((r) => r.hints.join(' ')),
        rows.map((r) => r.state),
        rows.map((r) => r.errorCode),
        rows.map((r) => r.doneAt),
        now,
      ],
    ),
  );
  // Each inserted key counts once, for its first row here; later rows with it were copies.
  const inserted = new Set(result.rows.map((r) => `${r.channel_id} ${r.carrier_message_id}`));
  const parked = new Set<number>();
  rows.forEach((r, i) => {
    if (inserted.delete(`${r.channelId} ${r.carrierId}`)) parked.add(i);
  });
  return parked;
}

export interface ParkedReceipt {
  id: number;
  channelId: number;
  carrierId: string;
  state: FinalReceiptState;
  errorCode: string | null;
  doneAt: Date | null;
  receivedAt: Date;
}

/**
 * Parked receipts to retry, oldest first, skipping rows another node is working on; with
 * `responseIds`, only those that may name one of these just-written ids (a GIN look-up).
 */
export async function selectParkedReceipts(
  db: Queryable,
  { limit, responseIds }: { limit: number; responseIds?: string[] },
): Promise<ParkedReceipt[]> {
  const columns = 'id, channel_id, carrier_message_id, state, error_code, done_at, received_at';
  const result = await db.query<{
    id: string;
    channel_id: string;
    carrier_message_id: string;
    state: FinalReceiptState;
    error_code: string | null;
    done_at: Date | null;
    received_at: Date;
  }>(
    responseIds === undefined
      ? `select ${columns} from pending_receipts order by id limit $1 for update skip locked`
      : `select ${columns} from pending_receipts where id_variants && $2::text[] order by id limit $1 for update skip locked`,
    responseIds === undefined ? [limit] : [limit, responseIds],
  );
  return result.rows.map((r) => ({
    id: Number(r.id),
    channelId: Number(r.channel_id),
    carrierId: r.carrier_message_id,
    state: r.state,
    errorCode: r.error_code,
    doneAt: r.done_at,
    receivedAt: r.received_at,
  }));
}

export async function deleteParkedReceipts(db: Queryable, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    prepared('delete-parked-receipts', 'delete from pending_receipts where id = any($1::bigint[])', [ids]),
  );
}

export interface ReceiptCounts {
  received: number;
  applied: number;
  parked: number;
  duplicate: number;
  expired: number;
}

export function noCounts(): ReceiptCounts {
  return { received: 0, applied: 0, parked: 0, duplicate: 0, expired: 0 };
}

/** Adds one batch's counts per channel to one slot row of receipt_counters. */
export async function addReceiptCounts(
  db: Queryable,
  { counts, slot }: { counts: Map<number, ReceiptCounts>; slot: number },
): Promise<void> {
  const entries = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  if (entries.length === 0) return;
  const col = (k: keyof ReceiptCounts) => entries.map(([, c]) => c[k]);
  await db.query(
    prepared(
      'add-receipt-counts',
      `insert into receipt_counters as c (channel_id, slot, received, applied, parked, duplicate, expired)
     select u.channel_id, $7, u.received, u.applied, u.parked, u.duplicate, u.expired
       from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
         as u(channel_id, received, applied, parked, duplicate, expired)
     on conflict (channel_id, slot) do update
       set received = c.received + excluded.received, applied = c.applied + excluded.applied,
           parked = c.parked + excluded.parked, duplicate = c.duplicate + excluded.duplicate,
           expired = c.expired + excluded.expired`,
      [
        entries.map(([id]) => id),
        col('received'),
        col('applied'),
        col('parked'),
        col('duplicate'),
        col('expired'),
        slot,
      ],
    ),
  );
}

/** Each channel's counters (the slots summed), with how many receipts wait parked now. */
export async function readReceiptCounts(
  db: Queryable,
): Promise<(ReceiptCounts & { channelId: number; waiting: number })[]> {
  const result = await db.query<{
    channel_id: string;
    received: string;
    applied: string;
    parked: string;
    duplicate: string;
    expired: string;
    waiting: string;
  }>(
    `select ch.id as channel_id,
            coalesce(sum(c.received), 0) as received, coalesce(sum(c.applied), 0) as applied,
            coalesce(sum(c.parked), 0) as parked, coalesce(sum(c.duplicate), 0) as duplicate,
            coalesce(sum(c.expired), 0) as expired,
            (select count(*) from pending_receipts p where p.channel_id = ch.id) as waiting
       from channels ch left join receipt_counters c on c.channel_id = ch.id
      group by ch.id order by ch.id`,
  );
  return result.rows.map((r) => ({
    channelId: Number(r.channel_id),
    received: Number(r.received),
    applied: Number(r.applied),
    parked: Number(r.parked),
    duplicate: Number(r.duplicate),
    expired: Number(r.expired),
    waiting: Number(r.waiting),
  }));
}

/** Persists what `auto` learned, once: the first node to learn it wins; updated_at is left alone. */
export async function saveLearnedConvention(
  db: Queryable,
  { channelId, convention, now }: { channelId: number; convention: FixedIdConvention; now: Date },
): Promise<void> {
  await db.query(
    `update channels set id_convention_learned = $2, id_convention_learned_at = $3
      where id = $1 and id_convention = 'auto' and id_convention_learned is null`,
    [channelId, convention, now],
  );
}

/** The id conventions of every channel (read when a batch names a channel not seen lately). */
export async function readIdConventions(db: Queryable) {
  const result = await db.query<{ id: string; id_convention: string; id_convention_learned: string | null }>(
    'select id, id_convention, id_convention_learned from channels',
  );
  return result.rows.map((r) => ({
    channelId: Number(r.id),
    convention: r.id_convention,
    learned: r.id_convention_learned,
  }));
}
