// Statements of the admission steps, one per function. Each checks a whole group of rows with one
// indexed `= any($1)` look-up per list (a 10,000-recipient batch against lists of millions is a
// few index probes per number, never a scan).
//
// The arrays are passed as `(select $1::text[])::text[]`, which hides their length from the
// planner: given 10,000 literal numbers, PostgreSQL 15 expects 10,000 matches and scans a
// 1,000,000-number list in parallel (400–600 ms on the shared 2-core machine) instead of probing
// its primary key (90–150 ms, index-only). bench/protection.ts measures it.
import type pg from 'pg';
import {
  type ListHit,
  mergeSettings,
  DEFAULT_SETTINGS,
  type ProtectionSettings,
} from './protection.models.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Arbitrary constant: the advisory-lock class of "a recipient's frequency counter" (two-int form). */
const RECIPIENT_LOCK_CLASS = 40_018;

export const keyOf = (tenantId: number, phone: string) => `${tenantId}|${phone}`;

/** For each (tenant, phone) key of the group that any list names: which lists. */
export async function findListHits(
  db: Queryable,
  { phones, tenantIds }: { phones: string[]; tenantIds: number[] },
): Promise<Map<string, Set<ListHit>>> {
  const result = await db.query<{ list: ListHit; tenant_id: string | null; phone: string }>(
    `select 'platform_blacklist' as list, null::bigint as tenant_id, phone from platform_blacklist
      where phone = any((select $1::text[])::text[])
     union all
     select 'tenant_blacklist', tenant_id, phone from tenant_blacklist
      where tenant_id = any((select $2::bigint[])::bigint[]) and phone = any((select $1::text[])::text[])
     union all
     select 'opt_out', tenant_id, phone from opt_outs
      where tenant_id = any((select $2::bigint[])::bigint[]) and phone = any((select $1::text[])::text[])`,
    [phones, tenantIds],
  );
  const hits = new Map<string, Set<ListHit>>();
  const add = (key: string, list: ListHit) => {
    const set = hits.get(key);
    if (set) set.add(list);
    else hits.set(key, new Set([list]));
  };
  for (const row of result.rows) {
    if (row.tenant_id === null) {
      for (const tenantId of tenantIds) add(keyOf(tenantId, row.phone), row.list);
    } else add(keyOf(Number(row.tenant_id), row.phone), row.list);
  }
  return hits;
}

/** The tenants' settings, whole (defaults where a tenant has none). */
export async function readSettings(
  db: Queryable,
  tenantIds: number[],
): Promise<Map<number, ProtectionSettings>> {
  return (await readSettingsAndAllowlists(db, tenantIds)).settings;
}

/** The settings, and which tenants have an allowlist at all (the others need no look-up). */
export async function readSettingsAndAllowlists(db: Queryable, tenantIds: number[]) {
  const result = await db.query<{ id: string; settings: ProtectionSettings | null; allowlist: boolean }>(
    `select t.id, s.settings, exists (select 1 from tenant_allowlist a where a.tenant_id = t.id) as allowlist
       from unnest($1::bigint[]) as t(id) left join protection_settings s on s.tenant_id = t.id`,
    [tenantIds],
  );
  const settings = new Map<number, ProtectionSettings>();
  const withAllowlist: number[] = [];
  for (const row of result.rows) {
    const id = Number(row.id);
    settings.set(id, row.settings ? mergeSettings(DEFAULT_SETTINGS, row.settings) : DEFAULT_SETTINGS);
    if (row.allowlist) withAllowlist.push(id);
  }
  return { settings, withAllowlist };
}

/** The (tenant, phone) keys on the tenants' allowlists. */
export async function findAllowlisted(
  db: Queryable,
  { phones, tenantIds }: { phones: string[]; tenantIds: number[] },
): Promise<Set<string>> {
  const result = await db.query<{ tenant_id: string; phone: string }>(
    `select tenant_id, phone from tenant_allowlist
      where tenant_id = any((select $2::bigint[])::bigint[]) and phone = any((select $1::text[])::text[])`,
    [phones, tenantIds],
  );
  return new Set(result.rows.map((r) => keyOf(Number(r.tenant_id), r.phone)));
}

/**
 * Locks are per bucket of recipients, not per recipient: a transaction holding 10,000 advisory
 * locks would fill PostgreSQL's shared lock table (max_locks_per_transaction × connections,
 * 6,400 by default) as soon as two such batches ran at once. Two recipients in one bucket only
 * make their groups wait for each other.
 */
export const RECIPIENT_LOCK_BUCKETS = 1024;

/**
 * Serializes, until the transaction ends, every group that counts for one of these recipients:
 * a second group waits here and then counts what the first wrote. Locks are taken in one order
 * (sorted buckets), so two groups cannot deadlock on them.
 */
export async function lockRecipients(db: Queryable, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  // Buckets are found here, not with hashtext() in SQL: a 10,000-recipient group then sends at
  // most 1,024 integers instead of 10,000 strings (less to serialize and parse on both sides).
  // Every process runs this same function, so a recipient is in the same bucket in all of them.
  const buckets = [...new Set(keys.map(bucketOf))].sort((a, b) => a - b);
  await db.query(
    `select pg_advisory_xact_lock($2::int, b) from unnest($1::int[]) with ordinality as u(b, n) order by n`,
    [buckets, RECIPIENT_LOCK_CLASS],
  );
}

/** FNV-1a over the key's UTF-16 code units, masked to a bucket. */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & (RECIPIENT_LOCK_BUCKETS - 1);
}

export interface WindowCounts {
  tenantId: number;
  phone: string;
  type: string;
  minute: number;
  hour: number;
  day: number;
}

/**
 * Statuses of messages that never reached the handset and never will: refused by the carrier or
 * the platform at submit (`rejected`), or canceled before they went out. They count for no cap;
 * everything else admitted does, whatever became of it later (a failure after the carrier took
 * it may still have rung the phone, and a cap is anti-abuse, not billing).
 */
export const UNCOUNTED_STATUSES = ['rejected', 'canceled'] as const;

/**
 * Slack between id order and creation time: ids come from one sequence, in the order rows are
 * inserted, while created_at is the request's clock; a long transaction or a node whose clock is
 * a little off makes the two disagree by seconds. The bound is searched an hour earlier than the
 * window, so such a message is still inside it (and counted or not by its created_at).
 */
const ID_BOUND_SLACK = '1 hour';

/**
 * The lowest message id that can have been created after `since`, by a binary search over the
 * primary key (about log2(ids) probes, each one index look-up, ~30 for a billion rows): ids grow
 * with time, so every message of a rolling window has an id at least this. Found once per group,
 * it bounds each recipient's range of messages_recipient (recipient, id), so a number that has
 * been sent to for years costs what its last day costs.
 */
export async function findFirstIdSince(db: Queryable, since: Date): Promise<number> {
  const result = await db.query<{ lo: string }>(
    `with recursive search (lo, hi) as (
       select coalesce((select min(id) from messages), 0), coalesce((select max(id) from messages), 0) + 1
       union all
       select case when p.created_at is null or p.created_at > $1::timestamptz - $2::interval
                   then s.lo else (s.lo + s.hi) / 2 + 1 end,
              case when p.created_at is null or p.created_at > $1::timestamptz - $2::interval
                   then (s.lo + s.hi) / 2 else s.hi end
         from search s
         left join lateral (select m.created_at from messages m where m.id >= (s.lo + s.hi) / 2
                             order by m.id limit 1) p on true
        where s.lo < s.hi
     )
     select lo from search where lo >= hi`,
    [since, ID_BOUND_SLACK],
  );
  return Number(result.rows[0]?.lo ?? 0);
}

/**
 * Messages each (tenant, phone, type) key got in each rolling window ending at `now`, counted from
 * `messages` itself (no send log to write: the rows the insert makes are what later groups count);
 * keys with none are left out. Per key, one aggregate over its index range of messages_recipient
 * (recipient, id) from `firstId` (findFirstIdSince): no sort or hash of every counted row (the
 * join-then-group form sorted 72,000 rows to disk for 10,000 keys of 7 messages each, 270–330 ms of
 * PostgreSQL CPU against 150–250 on the busy machine).
 * `tenant_id + 0` keeps the tenant out of the index choice: on its own (tenant_id, id) index the
 * planner, trusting the few keys it is told of, scanned every message of the tenant for each
 * recipient (minutes for a 10,000-recipient batch over 50,000 messages; found by the bench).
 */
export async function countRecentSends(
  db: Queryable,
  {
    keys,
    now,
    firstId,
  }: { keys: { tenantId: number; phone: string; type: string }[]; now: Date; firstId: number },
): Promise<WindowCounts[]> {
  // The answer names each key by its position (1-based): four integers a row to parse, not strings.
  const result = await db.query<{ n: number; minute: number; hour: number; day: number }>(
    `select k.n::int as n, c.minute, c.hour, c.day
       from unnest((select $1::bigint[])::bigint[], (select $2::text[])::text[], (select $3::text[])::text[])
              with ordinality as k(tenant_id, recipient, type, n)
      cross join lateral (
        select count(*) filter (where m.created_at > $4::timestamptz - interval '1 minute')::int as minute,
               count(*) filter (where m.created_at > $4::timestamptz - interval '1 hour')::int as hour,
               count(*)::int as day
          from messages m
         where m.recipient = k.recipient and m.id >= $5::bigint and m.tenant_id + 0 = k.tenant_id
           and m.type = k.type and m.status <> all ($6::text[])
           and m.created_at > $4::timestamptz - interval '1 day' and m.created_at <= $4::timestamptz) c
      where c.day > 0`,
    [
      keys.map((k) => k.tenantId),
      keys.map((k) => k.phone),
      keys.map((k) => k.type),
      now,
      firstId,
      UNCOUNTED_STATUSES,
    ],
  );
  return result.rows.map((r) => {
    const key = keys[r.n - 1]!;
    return { ...key, minute: r.minute, hour: r.hour, day: r.day };
  });
}
