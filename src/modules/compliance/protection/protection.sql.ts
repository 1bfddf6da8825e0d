// Statements of the admission steps, one per function. Each checks a whole group of rows with one
// indexed `= any($1)` look-up per list (a 10,000-recipient batch against lists of millions is a
// few index probes per number, never a scan).
//
// The arrays are never shown to the planner: given 10,000 literal numbers, PostgreSQL 15 expects
// 10,000 matches and scans a 1,000,000-number list in parallel (400–600 ms on the shared 2-core
// machine) instead of probing its primary key (90–150 ms, index-only). The look-ups are functions
// (migration 0040) whose parameters it cannot see into, with the planner settings each needs: the
// lists and the allowlist use their index whatever their size (a small list was scanned and
// compared with every number of the array, one by one: 218 ms for 1,000 numbers), the caps count
// is never sorted. bench/protection.ts measures them.
import type pg from 'pg';
import {
  type CapWindow,
  type ListHit,
  mergeSettings,
  DEFAULT_SETTINGS,
  type ProtectionSettings,
  WINDOW_MS,
} from './protection.models.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Arbitrary constant: the advisory-lock class of "a recipient's frequency counter" (two-int form). */
const RECIPIENT_LOCK_CLASS = 40_018;

export const keyOf = (tenantId: number, phone: string) => `${tenantId}|${phone}`;

/**
 * PostgreSQL's text of a text[] (`{"+8613…","+8613…"}`), every element quoted, for a parameter
 * cast to text[]. The driver's own serializer escapes each element with two regular expressions:
 * 2.6 ms for a batch's 10,000 numbers against 0.7 ms for one join, on the request's critical path
 * twice (the lists and the caps count). Elements with a quote or a backslash (never a normalized
 * number) are escaped one by one.
 */
export function textArray(values: readonly string[]): string {
  let plain = true;
  for (const value of values) {
    if (value.includes('"') || value.includes('\\')) {
      plain = false;
      break;
    }
  }
  if (values.length === 0) return '{}';
  if (plain) return `{"${values.join('","')}"}`;
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/**
 * Which lists name the group's numbers, per number: the platform blacklist (every tenant's), and
 * per tenant its blacklist and its opt-outs. Numbers no list names are absent (usually all of
 * them), so the step looks each row up by its recipient string alone, with no key to build.
 */
export type ListHits = Map<string, { platform: boolean; tenants: Map<number, Set<ListHit>> }>;

export async function findListHits(
  db: Queryable,
  { phones, tenantIds }: { phones: string[]; tenantIds: number[] },
): Promise<ListHits> {
  const result = await db.query<{ list: ListHit; tenant_id: string | null; phone: string }>(
    'select list, tenant_id, phone from protection_list_hits($1::text[], $2::bigint[])',
    [textArray(phones), tenantIds],
  );
  const hits: ListHits = new Map();
  for (const row of result.rows) {
    let entry = hits.get(row.phone);
    if (!entry) hits.set(row.phone, (entry = { platform: false, tenants: new Map() }));
    if (row.tenant_id === null) {
      entry.platform = true;
      continue;
    }
    const tenantId = Number(row.tenant_id);
    const lists = entry.tenants.get(tenantId);
    if (lists) lists.add(row.list);
    else entry.tenants.set(tenantId, new Set([row.list]));
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

/** Per tenant, its numbers of the group that are on its allowlist. */
export async function findAllowlisted(
  db: Queryable,
  { phones, tenantIds }: { phones: string[]; tenantIds: number[] },
): Promise<Map<number, Set<string>>> {
  const result = await db.query<{ tenant_id: string; phone: string }>(
    'select tenant_id, phone from protection_allowlisted($1::text[], $2::bigint[])',
    [textArray(phones), tenantIds],
  );
  const allowed = new Map<number, Set<string>>();
  for (const row of result.rows) {
    const tenantId = Number(row.tenant_id);
    const phones = allowed.get(tenantId);
    if (phones) phones.add(row.phone);
    else allowed.set(tenantId, new Set([row.phone]));
  }
  return allowed;
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
 * (ascending buckets), so two groups cannot deadlock on them. `phones` are per tenant.
 */
export async function lockRecipients(
  db: Queryable,
  phones: ReadonlyMap<number, Iterable<string>>,
): Promise<void> {
  const buckets = recipientLockBuckets(phones);
  if (buckets.length === 0) return;
  await db.query(
    `select pg_advisory_xact_lock($2::int, b) from unnest($1::int[]) with ordinality as u(b, n) order by n`,
    [buckets, RECIPIENT_LOCK_CLASS],
  );
}

/** The lock buckets of these recipients (`phones` per tenant), ascending: lockRecipients' order. */
export function recipientLockBuckets(phones: ReadonlyMap<number, Iterable<string>>): number[] {
  // Buckets are found here, not with hashtext() in SQL: a 10,000-recipient group then sends at
  // most 1,024 integers instead of 10,000 strings (less to serialize and parse on both sides).
  // Every process runs this same function, so a recipient is in the same bucket in all of them.
  const taken = new Uint8Array(RECIPIENT_LOCK_BUCKETS);
  for (const [tenantId, numbers] of phones) {
    const prefix = fnv1a(FNV_OFFSET_BASIS, `${tenantId}|`);
    for (const phone of numbers) taken[(fnv1a(prefix, phone) >>> 0) & (RECIPIENT_LOCK_BUCKETS - 1)] = 1;
  }
  const buckets: number[] = [];
  for (let b = 0; b < RECIPIENT_LOCK_BUCKETS; b++) if (taken[b]) buckets.push(b);
  return buckets;
}

const FNV_OFFSET_BASIS = 0x811c9dc5;

/** FNV-1a continued from state `h` over the text's UTF-16 code units. */
function fnv1a(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/**
 * A recipient's lock bucket: FNV-1a over `keyOf(tenantId, phone)`'s UTF-16 code units, masked.
 * Processes of two versions must agree on it while both run (a rolling restart), so it never
 * changes; lockRecipients computes the same without building the key.
 */
export function bucketOf(key: string): number {
  return (fnv1a(FNV_OFFSET_BASIS, key) >>> 0) & (RECIPIENT_LOCK_BUCKETS - 1);
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

/** The (tenant, recipient, type) keys a group counts: key i is (tenants[tenant[i]], phones[i], types[type[i]]). */
export interface CountKeys {
  tenants: number[];
  types: string[];
  phones: string[];
  tenant: number[];
  type: number[];
}

/** Counts of the keys with some message in the day: key `key[j]` has `minute[j]`, `hour[j]`, `day[j]`. */
export interface KeyCounts {
  key: number[];
  minute: number[];
  hour: number[];
  day: number[];
}

/**
 * Messages each (tenant, phone, type) key got in each rolling window ending at `now`, counted from
 * `messages` itself (no send log to write: the rows the insert makes are what later groups count);
 * keys with none are left out. One scan for the whole group, in one round trip
 * (protection_recent_counts_one / protection_recent_counts, migrations 0040 and 0042):
 * - the group's numbers are looked up together in messages_recipient (recipient, id), each from
 *   `firstId` (findFirstIdSince), as one bitmap, so each heap page holding some of their messages
 *   is read once, not once per message as a probe per key did (10,000 keys of 8 messages each on
 *   the busy machine: 2,568 pages read instead of 79,600; 58 ms against 149 for the statement);
 * - the rows are counted in a hash table by key. Sorting them instead is what the planner picks,
 *   trusting its guess of a few rows (it cannot see the array's length, see the header), and the
 *   sort of every counted row spills to disk (80,000 rows: 4.5 MB, 110–125 ms). The functions turn
 *   sorts off for themselves (it took two statements around this one before);
 * - `tenant_id + 0` keeps the tenant out of the index choice: on its own (tenant_id, id) index the
 *   planner, trusting the few keys it is told of, scanned every message of the tenant (minutes for
 *   a 10,000-recipient batch over 50,000 messages; found by the bench).
 * - Tenants and types are filtered each as a set, so a group of several may count combinations it
 *   did not ask for (tenant A's type of tenant B): those are dropped here, by key.
 * - The window bounds are parameters, not `now - interval` per row; the answer is one row of arrays.
 * - Windows have no end: a row whose created_at is after `now` (a request that read its clock
 *   after this one and took the locks first) was sent within the window all the same (0042).
 */
export async function countRecentSends(
  db: Queryable,
  {
    keys,
    now,
    firstId,
    lockBuckets,
  }: {
    keys: CapKeys;
    now: Date;
    firstId: number;
    /**
     * Lock these buckets first, in the same round trip (protection_lock_and_count*, migration
     * 0044): the count is a statement of its own in that function, so its snapshot is taken after
     * the locks, as when lockRecipients runs before. Only on the transaction's own connection.
     */
    lockBuckets?: number[];
  },
): Promise<KeyCounts> {
  const since = (window: CapWindow) => new Date(now.getTime() - WINDOW_MS[window]);
  const tenants = keys.tenants();
  const types = keys.types();
  // A batch is one tenant and one type: its rows are grouped by recipient alone (a third less
  // time in the hash table than by three columns).
  const one = tenants.length === 1 && types.length === 1;
  const windows = [since('minute'), since('hour'), since('day'), firstId, UNCOUNTED_STATUSES];
  const result = await db.query<{
    recipient: string[] | null;
    tenant?: string | null;
    type?: string | null;
    minute: string | null;
    hour: string | null;
    day: string | null;
  }>(
    lockBuckets === undefined
      ? one
        ? `select recipient, minute, hour, day
             from protection_recent_counts_one($1::text[], $2::bigint, $3::text, $4, $5, $6, $7, $8::text[])`
        : `select recipient, tenant, type, minute, hour, day
             from protection_recent_counts($1::text[], $2::bigint[], $3::text[], $4, $5, $6, $7, $8::text[])`
      : one
        ? `select recipient, minute, hour, day
             from protection_lock_and_count_one($9::int[], $10::int,
               $1::text[], $2::bigint, $3::text, $4, $5, $6, $7, $8::text[])`
        : `select recipient, tenant, type, minute, hour, day
             from protection_lock_and_count($9::int[], $10::int,
               $1::text[], $2::bigint[], $3::text[], $4, $5, $6, $7, $8::text[])`,
    [
      textArray(keys.phones()),
      one ? tenants[0] : tenants,
      one ? types[0] : types,
      ...windows,
      ...(lockBuckets === undefined ? [] : [lockBuckets, RECIPIENT_LOCK_CLASS]),
    ],
  );
  // Recipients as one JSON array (one JSON.parse), integers as PostgreSQL's array text split here:
  // postgres-array parsing six arrays of 10,000 took 20–40 ms on the busy machine.
  const row = result.rows[0]!;
  // A batch's keys are one map by number, one look-up per recipient instead of three nested. What
  // stays (3–4 ms for 10,000, bench/protection.ts BENCH_CPU_PROF) is mostly hashing the strings
  // JSON.parse made; a count beside the write is read while the write is still running.
  const byPhone = one ? keys.phoneKeys(tenants[0]!, types[0]!) : undefined;
  const recipients = row.recipient ?? [];
  const ints = (text: string | null) => (text === null ? [] : parseIntArray(text));
  const tenant = one ? null : ints(row.tenant ?? null);
  const type = one ? null : ints(row.type ?? null);
  const [minute, hour, day] = [ints(row.minute), ints(row.hour), ints(row.day)];
  const counts: KeyCounts = { key: [], minute: [], hour: [], day: [] };
  for (let j = 0; j < recipients.length; j++) {
    const key = one
      ? byPhone?.get(recipients[j]!)
      : keys.find(tenant![j]!, types[type![j]! - 1]!, recipients[j]!);
    if (key === undefined) continue;
    counts.key.push(key);
    counts.minute.push(minute[j]!);
    counts.hour.push(hour[j]!);
    counts.day.push(day[j]!);
  }
  return counts;
}

/**
 * PostgreSQL's text of an array of non-negative integers (`{3,10,1}`), read without the 10,000
 * intermediate strings a split makes for a batch's counts (less for the collector).
 */
export function parseIntArray(text: string): number[] {
  const out: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 1; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c === 44) {
      out.push(digits === 0 ? NaN : value);
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits++;
    } else return text.slice(1, -1).split(',').map(Number);
  }
  if (text.length > 2) out.push(digits === 0 ? NaN : value);
  return out;
}

/**
 * The distinct (tenant, type, recipient) keys of a group, numbered from 0 in order of first
 * appearance, found by nested maps of the rows' own strings (whose hashes V8 keeps) rather than by
 * a key string built for each row.
 */
export class CapKeys {
  private readonly index = new Map<number, Map<string, Map<string, number>>>();
  /** The last (tenant, type) added and its map: a batch's rows all share it. */
  private last: { tenantId: number; type: string; byPhone: Map<string, number> } | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The key's number, new or not. */
  add(tenantId: number, type: string, phone: string): number {
    let byPhone: Map<string, number>;
    if (this.last !== null && this.last.tenantId === tenantId && this.last.type === type) {
      byPhone = this.last.byPhone;
    } else {
      let byType = this.index.get(tenantId);
      if (!byType) this.index.set(tenantId, (byType = new Map()));
      let found = byType.get(type);
      if (!found) byType.set(type, (found = new Map()));
      byPhone = found;
      this.last = { tenantId, type, byPhone };
    }
    let key = byPhone.get(phone);
    if (key === undefined) byPhone.set(phone, (key = this.count++));
    return key;
  }

  find(tenantId: number, type: string, phone: string): number | undefined {
    return this.index.get(tenantId)?.get(type)?.get(phone);
  }

  /** The keys of one (tenant, type), by number: for a group that has no other. */
  phoneKeys(tenantId: number, type: string): ReadonlyMap<string, number> | undefined {
    return this.index.get(tenantId)?.get(type);
  }

  tenants(): number[] {
    return [...this.index.keys()];
  }

  types(): string[] {
    const types = new Set<string>();
    for (const byType of this.index.values()) for (const type of byType.keys()) types.add(type);
    return [...types];
  }

  /** Every recipient, once. */
  phones(): string[] {
    if (this.index.size === 1) return [...this.tenantPhones(this.index.values().next().value!)];
    const phones = new Set<string>();
    for (const byType of this.index.values())
      for (const phone of this.tenantPhones(byType)) phones.add(phone);
    return [...phones];
  }

  /** Each tenant's recipients (over every type), once each, for the locks. */
  phonesByTenant(): Map<number, Iterable<string>> {
    const out = new Map<number, Iterable<string>>();
    for (const [tenantId, byType] of this.index) out.set(tenantId, this.tenantPhones(byType));
    return out;
  }

  private tenantPhones(byType: Map<string, Map<string, number>>): Iterable<string> {
    if (byType.size === 1) return byType.values().next().value!.keys();
    const phones = new Set<string>();
    for (const byPhone of byType.values()) for (const phone of byPhone.keys()) phones.add(phone);
    return phones;
  }
}
