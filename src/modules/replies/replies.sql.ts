// Statements for replies (MO), one per function, batched with unnest.
import type pg from 'pg';
import type { Attribution } from './inbound.models.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Arbitrary constant: the advisory-lock class of "a concatenated reply's parts" (two-int form). */
const REPLY_GROUP_LOCK_CLASS = 40_004;

/** The parts of one concatenated reply share this key. */
export interface GroupKey {
  channelId: number;
  sender: string;
  destination: string;
  ref: number;
  total: number;
}

function groupColumns(keys: GroupKey[]) {
  return [
    keys.map((k) => k.channelId),
    keys.map((k) => k.sender),
    keys.map((k) => k.destination),
    keys.map((k) => k.ref),
    keys.map((k) => k.total),
  ];
}

/**
 * Serializes the writers of each group until the transaction ends, so that two batches carrying
 * sibling parts cannot each miss the other's uncommitted part and both leave the reply waiting.
 * Locks are taken in one order, so two transactions cannot deadlock on them.
 */
export async function lockReplyGroups(db: Queryable, keys: GroupKey[]): Promise<void> {
  if (keys.length === 0) return;
  await db.query(
    `select pg_advisory_xact_lock($6::int, h)
       from (select distinct hashtext(concat_ws('|', channel_id, sender, destination, ref, total)) as h
               from unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int[])
                 as k(channel_id, sender, destination, ref, total)
              order by h) s`,
    [...groupColumns(keys), REPLY_GROUP_LOCK_CLASS],
  );
}

export interface PartRow extends GroupKey {
  seq: number;
  dataCoding: number;
  body: Buffer;
  receivedAt: Date;
}

/**
 * Keeps parts durably. A part already waiting, or already assembled with the same bytes, is a
 * resend and is ignored. An assembled part with other bytes belongs to a new reply that reuses
 * the reference (8-bit references wrap, some handsets pick them at random): it takes the row.
 */
export async function insertReplyParts(db: Queryable, parts: PartRow[]): Promise<void> {
  // An upsert may not touch one row twice in a statement: a key repeated in the batch goes in a
  // later round, in arrival order (rare: a part and its resend in the same batch).
  const rounds: PartRow[][] = [];
  const seen = new Map<string, number>();
  for (const p of parts) {
    const key = `${p.channelId}|${p.sender}|${p.destination}|${p.ref}|${p.total}|${p.seq}`;
    const round = seen.get(key) ?? 0;
    seen.set(key, round + 1);
    (rounds[round] ??= []).push(p);
  }
  for (const round of rounds) await upsertReplyParts(db, round);
}

async function upsertReplyParts(db: Queryable, parts: PartRow[]): Promise<void> {
  await db.query(
    `insert into inbound_parts (channel_id, sender, destination, ref, total, seq, data_coding, body, received_at)
     select * from unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int2[], $6::int2[], $7::int2[],
                          $8::bytea[], $9::timestamptz[])
     on conflict (channel_id, sender, destination, ref, total, seq) do update
        set data_coding = excluded.data_coding, body = excluded.body, received_at = excluded.received_at,
            assembled = false
      where inbound_parts.assembled and inbound_parts.body <> excluded.body`,
    [
      ...groupColumns(parts),
      parts.map((p) => p.seq),
      parts.map((p) => p.dataCoding),
      parts.map((p) => p.body),
      parts.map((p) => p.receivedAt),
    ],
  );
}

interface PartDbRow {
  channel_id: string;
  sender: string;
  destination: string;
  ref: number;
  total: number;
  seq: number;
  data_coding: number;
  body: Buffer;
  received_at: Date;
}

function toPartRow(r: PartDbRow): PartRow {
  return {
    channelId: Number(r.channel_id),
    sender: r.sender,
    destination: r.destination,
    ref: r.ref,
    total: r.total,
    seq: r.seq,
    dataCoding: r.data_coding,
    body: r.body,
    receivedAt: r.received_at,
  };
}

const PART_COLUMNS =
  'p.channel_id, p.sender, p.destination, p.ref, p.total, p.seq, p.data_coding, p.body, p.received_at';

/** Marks assembled, and returns, the parts of those groups that are now complete. */
export async function takeCompleteGroups(db: Queryable, keys: GroupKey[]): Promise<PartRow[]> {
  if (keys.length === 0) return [];
  const result = await db.query<PartDbRow>(
    `with k as (select distinct * from unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int2[])
                  as k(channel_id, sender, destination, ref, total)),
          done as (select p.channel_id, p.sender, p.destination, p.ref, p.total
                     from inbound_parts p join k using (channel_id, sender, destination, ref, total)
                    group by 1, 2, 3, 4, 5 having count(*) filter (where not p.assembled) >= p.total)
     update inbound_parts p set assembled = true from done d
      where (p.channel_id, p.sender, p.destination, p.ref, p.total)
          = (d.channel_id, d.sender, d.destination, d.ref, d.total) and not p.assembled
     returning ${PART_COLUMNS}`,
    groupColumns(keys),
  );
  return result.rows.map(toPartRow);
}

/** Groups whose first part arrived before `before`: their missing parts are given up on. */
export async function selectExpiredGroups(
  db: Queryable,
  { before, limit }: { before: Date; limit: number },
): Promise<GroupKey[]> {
  const result = await db.query<{
    channel_id: string;
    sender: string;
    destination: string;
    ref: number;
    total: number;
  }>(
    `select channel_id, sender, destination, ref, total from inbound_parts where not assembled
      group by 1, 2, 3, 4, 5 having min(received_at) < $1 order by min(received_at) limit $2`,
    [before, limit],
  );
  return result.rows.map((r) => ({
    channelId: Number(r.channel_id),
    sender: r.sender,
    destination: r.destination,
    ref: r.ref,
    total: r.total,
  }));
}

/** Marks assembled, and returns, the waiting parts of those groups whose first part arrived before `before`. */
export async function takeExpiredGroups(
  db: Queryable,
  { keys, before }: { keys: GroupKey[]; before: Date },
): Promise<PartRow[]> {
  if (keys.length === 0) return [];
  const result = await db.query<PartDbRow>(
    `with k as (select distinct * from unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int2[])
                  as k(channel_id, sender, destination, ref, total)),
          old as (select p.channel_id, p.sender, p.destination, p.ref, p.total
                    from inbound_parts p join k using (channel_id, sender, destination, ref, total)
                   where not p.assembled
                   group by 1, 2, 3, 4, 5 having min(p.received_at) < $6)
     update inbound_parts p set assembled = true from old d
      where (p.channel_id, p.sender, p.destination, p.ref, p.total)
          = (d.channel_id, d.sender, d.destination, d.ref, d.total) and not p.assembled
     returning ${PART_COLUMNS}`,
    [...groupColumns(keys), before],
  );
  return result.rows.map(toPartRow);
}

/** Forgets assembled parts received before `before`: a resent copy is no longer expected. */
export async function purgeAssembledParts(db: Queryable, { before }: { before: Date }): Promise<number> {
  const result = await db.query('delete from inbound_parts where assembled and received_at < $1', [before]);
  return result.rowCount ?? 0;
}

export interface AttributionLookup {
  extensionTenantId: number | null;
  recentTenantIds: number[];
}

/**
 * For each reply: the tenant whose extension code follows the channel's number in the
 * destination (the longest code wins), and the tenants that messaged this handset on this
 * channel since `since`.
 */
export async function lookupAttribution(
  db: Queryable,
  { replies, since }: { replies: { channelId: number; sender: string; destination: string }[]; since: Date },
): Promise<AttributionLookup[]> {
  if (replies.length === 0) return [];
  const result = await db.query<{ ord: number; extension_tenant_id: string | null; recent: string[] }>(
    `select u.ord,
            -- The codes the destination could carry are the prefixes of what follows the
            -- channel's number: a look-up in the unique index per prefix, not a scan of tenants.
            (select t.id from channels c
               cross join lateral generate_series(1, length(u.destination) - length(c.source_addr)) as n
               join tenants t on t.sender_code = substr(u.destination, length(c.source_addr) + 1, n)
              where c.id = u.channel_id and starts_with(u.destination, c.source_addr)
              order by n desc limit 1) as extension_tenant_id,
            array(select distinct m.tenant_id from messages m
                   where m.recipient = u.sender and m.channel_id = u.channel_id and m.sent_at >= $4) as recent
       from unnest($1::bigint[], $2::text[], $3::text[]) with ordinality as u(channel_id, sender, destination, ord)`,
    [replies.map((r) => r.channelId), replies.map((r) => r.sender), replies.map((r) => r.destination), since],
  );
  const out: AttributionLookup[] = replies.map(() => ({ extensionTenantId: null, recentTenantIds: [] }));
  for (const row of result.rows) {
    out[Number(row.ord) - 1] = {
      extensionTenantId: row.extension_tenant_id === null ? null : Number(row.extension_tenant_id),
      recentTenantIds: row.recent.map(Number),
    };
  }
  return out;
}

export interface InboundRow {
  tenantId: number | null;
  attribution: Attribution;
  candidateTenantIds: number[] | null;
  channelId: number;
  sender: string;
  destination: string;
  content: string;
  sanitized: boolean;
  rawHex: string;
  dataCoding: number | null;
  parts: number;
  incomplete: boolean;
  receivedAt: Date;
}

export async function insertInboundMessages(db: Queryable, rows: InboundRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `insert into inbound_messages (tenant_id, attribution, candidate_tenant_ids, channel_id, sender, destination,
                                   content, sanitized, raw_hex, data_coding, parts, incomplete, received_at)
     select u.tenant_id, u.attribution, string_to_array(nullif(u.candidates, ''), ',')::bigint[], u.channel_id,
            u.sender, u.destination, u.content, u.sanitized, u.raw_hex, u.data_coding, u.parts, u.incomplete,
            u.received_at
       from unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                   $8::bool[], $9::text[], $10::int2[], $11::int2[], $12::bool[], $13::timestamptz[])
         as u(tenant_id, attribution, candidates, channel_id, sender, destination, content, sanitized, raw_hex,
              data_coding, parts, incomplete, received_at)`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.attribution),
      rows.map((r) => (r.candidateTenantIds ?? []).join(',')),
      rows.map((r) => r.channelId),
      rows.map((r) => r.sender),
      rows.map((r) => r.destination),
      rows.map((r) => r.content),
      rows.map((r) => r.sanitized),
      rows.map((r) => r.rawHex),
      rows.map((r) => r.dataCoding),
      rows.map((r) => r.parts),
      rows.map((r) => r.incomplete),
      rows.map((r) => r.receivedAt),
    ],
  );
}
