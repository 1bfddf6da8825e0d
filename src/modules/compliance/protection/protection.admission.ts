// The admission steps of recipient protection (see messages/admission.ts): they run inside the
// insert transaction of every insert path and refuse rows by themselves.
//   100 compliance.recipient_protection, three checks whose refusals rank in this order:
//       lists        platform and tenant blacklists, the tenant's opt-outs
//       quiet hours  marketing outside the recipient's daytime: held (the row's send_at moves to
//                    the window's opening) or refused, per tenant
//       caps         per-recipient rolling-window caps, counted in `messages` itself under
//                    advisory locks per bucket of recipients, so N concurrent sends admit exactly
//                    the allowed count, across processes (no send log to write: the admitted rows
//                    are what the next group counts)
//   300 compliance.marketing_review  after insert: a marketing batch's messages wait for review
// The three are one step so that the list look-up, which needs nothing of the transaction (it
// reads committed lists), runs on a second connection while quiet hours and the caps lock and
// count on the transaction's: for a 10,000-recipient batch against lists of 1,000,000 numbers it
// is 30,000 index probes, as long as the caps count, and in a row the two were most of what
// checking added to the request (bench/protection.ts). The refusals are those of three steps in a
// row: a list's verdict depends on (tenant, type, recipient) alone, the key caps count by, so every
// row of a listed key is refused, and counting those rows beside the others changes no other
// key's verdict; quiet hours still comes before caps, which must not count a row it refuses (two
// sends to one number at different times can part there).
// Quiet hours is a check that adjusts rows rather than a function the use case applies, so that
// it holds on every insert path alike (single, grouped, idempotent, batch) with one read of the
// tenants' settings per group.
import type pg from 'pg';
import type { AdmissionContext, AdmissionStep } from '../../messages/admission.ts';
import type { NewMessageRow } from '../../messages/messages.repository.ts';
import type { AppError } from '../../../shared/errors.ts';
import { blacklisted, optedOut, quietHours, recipientFrequency } from './protection.errors.ts';
import type { MessageType } from '../../messages/messages.models.ts';
import {
  type CapLimits,
  type ListHit,
  type ProtectionSettings,
  LONGEST_WINDOW_MS,
  type QuietHours,
  listVerdict,
  trippedWindow,
} from './protection.models.ts';
import {
  CapKeys,
  countRecentSends,
  findAllowlisted,
  findFirstIdSince,
  findListHits,
  type KeyCounts,
  type ListHits,
  lockRecipients,
  recipientLockBuckets,
  readSettings,
  readSettingsAndAllowlists,
} from './protection.sql.ts';
import { nextOpening, zonesOf } from './quiet-hours.models.ts';
import { markForReview, openReviews } from './review.sql.ts';

const distinct = <T>(values: T[]) => [...new Set(values)];

/** The rows' tenants, once each; a batch's rows are all one tenant's, found without a set. */
function tenantsOf(rows: readonly NewMessageRow[]): number[] {
  if (rows.length === 0) return [];
  const first = rows[0]!.tenantId;
  for (const row of rows) if (row.tenantId !== first) return distinct(rows.map((r) => r.tenantId));
  return [first];
}
const PLATFORM_LISTED: ReadonlySet<ListHit> = new Set(['platform_blacklist']);
const NOT_LISTED: ReadonlySet<ListHit> = new Set();

/** A list refusal per row (not yet settled), from the lists that name its number. */
function listVerdicts(hits: ListHits, rows: readonly NewMessageRow[]): (AppError | null)[] {
  if (hits.size === 0) return rows.map(() => null);
  return rows.map((row) => {
    const found = hits.get(row.recipient);
    if (!found) return null;
    // The platform's blacklist comes first whatever the tenant's lists say (listVerdict).
    const lists = found.platform ? PLATFORM_LISTED : (found.tenants.get(row.tenantId) ?? NOT_LISTED);
    const verdict = listVerdict(lists, row.type);
    if (verdict === null) return null;
    if (verdict === 'opt_out') return optedOut();
    return blacklisted({
      details: { list: verdict === 'platform_blacklist' ? 'platform' : 'tenant' },
    });
  });
}

/** The pool's side, as the look-up beside the transaction needs it. */
export type SparePool = Pick<pg.Pool, 'connect' | 'idleCount' | 'totalCount' | 'waitingCount' | 'options'>;

/**
 * A connection for a read beside the transaction, only when the pool gives one at once (one idle,
 * or room for a new one, and nobody waiting): a request that holds its transaction's connection
 * never waits for a second, so requests that each hold one cannot exhaust the pool waiting for
 * each other. Null: read on the transaction's connection, after its own statements.
 */
async function spareConnection(pool: SparePool | undefined): Promise<pg.PoolClient | null> {
  if (pool === undefined || pool.waitingCount > 0) return null;
  if (pool.idleCount === 0 && pool.totalCount >= (pool.options.max ?? 10)) return null;
  try {
    return await pool.connect();
  } catch {
    return null;
  }
}

/**
 * The work's result, once `spare` has gone back to the pool: released as it is when the work
 * succeeded, discarded when it failed (a connection that failed may be broken).
 */
function releasing<T>(spare: pg.PoolClient, work: Promise<T>): Promise<T> {
  return work.then(
    (result) => {
      spare.release();
      return result;
    },
    (error: unknown) => {
      spare.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    },
  );
}

/** The group's list hits, read on a spare connection if there is one. Committed lists only. */
async function findListHitsBeside(
  pool: SparePool | undefined,
  client: pg.PoolClient,
  query: { phones: string[]; tenantIds: number[] },
): Promise<ListHits> {
  const spare = await spareConnection(pool);
  return spare === null ? findListHits(client, query) : releasing(spare, findListHits(spare, query));
}

/** Quiet hours' verdict per row (not yet settled); held rows get their send_at moved. */
async function quietHoursVerdicts(
  client: pg.PoolClient,
  rows: readonly NewMessageRow[],
  context: AdmissionContext,
): Promise<(AppError | null)[]> {
  const marketing = rows.filter((r) => r.type === 'marketing');
  if (marketing.length === 0) return rows.map(() => null);
  return quietVerdictsOf(rows, await readSettings(client, tenantsOf(marketing)), context);
}

/** quietHoursVerdicts on settings read already (every marketing row's tenant's). */
function quietVerdictsOf(
  rows: readonly NewMessageRow[],
  settings: ReadonlyMap<number, ProtectionSettings>,
  context: AdmissionContext,
): (AppError | null)[] {
  // A batch's rows share their time, their tenant's window and mostly their country: each
  // opening is found once per (window, zones, time), not with a time-zone conversion per row.
  const openings = new Map<QuietHours, Map<readonly string[], Map<number, Date>>>();
  const openingOf = (due: Date, zones: readonly string[], quiet: QuietHours) => {
    let byZones = openings.get(quiet);
    if (!byZones) openings.set(quiet, (byZones = new Map()));
    let byTime = byZones.get(zones);
    if (!byTime) byZones.set(zones, (byTime = new Map()));
    let opening = byTime.get(due.getTime());
    if (!opening) byTime.set(due.getTime(), (opening = nextOpening(due, zones, quiet)));
    return opening;
  };
  return rows.map((row) => {
    if (row.type !== 'marketing') return null;
    const quiet = settings.get(row.tenantId)!.quiet_hours;
    if (!quiet.enabled) return null;
    const due = row.sendAt ?? context.now;
    const opening = openingOf(due, zonesOf(row.recipient), quiet);
    if (opening.getTime() === due.getTime()) return null;
    if (quiet.action === 'reject')
      return quietHours({ details: { window: { start: quiet.start, end: quiet.end }, opens_at: opening } });
    // Held until the window opens: the insert makes a row with a send_at `held`, and the
    // scheduler releases it then. The row object is the one the insert writes.
    (row as NewMessageRow).sendAt = opening;
    return null;
  });
}

/** How long a found first id is used again (see firstIdFinder). */
const FIRST_ID_REUSE_MS = 60_000;

/**
 * findFirstIdSince for the caps' longest window, searched at most once a minute per process
 * instead of once per group (a round trip inside every insert transaction): a bound found for
 * an earlier `now` is lower, so it is still a bound, only a looser one (the count's created_at
 * filter drops the extra minute of rows). A clock that went back searches again.
 */
function firstIdFinder() {
  let found: { at: number; id: number } | null = null;
  return async (client: pg.PoolClient, now: Date): Promise<number> => {
    const at = now.getTime();
    if (found !== null && at >= found.at && at - found.at < FIRST_ID_REUSE_MS) return found.id;
    const id = await findFirstIdSince(client, new Date(at - LONGEST_WINDOW_MS));
    found = { at, id };
    return id;
  };
}

interface CapCount {
  /** Takes the locks on the transaction's connection. */
  lock(client: pg.PoolClient): Promise<void>;
  /** Counts, on any connection whose statement starts after `lock` returned. */
  count(db: Pick<pg.PoolClient, 'query'>): Promise<(AppError | null)[]>;
  /** Both on the transaction's connection, in one round trip (migration 0044). */
  lockAndCount(client: pg.PoolClient): Promise<(AppError | null)[]>;
}

/**
 * The caps of the rows: what locks their keys' buckets in the transaction on `client`, and what
 * counts them and gives each row its verdict (not yet settled), the rows counted against each
 * other in order. The count may run on any connection whose statement starts after the lock is
 * held: under READ COMMITTED it sees every message a previous holder of one of these buckets
 * committed, so the group counts what was admitted before it (and none of its own rows, which it
 * counts itself). On the transaction's connection both go in one round trip (lockAndCount).
 */
async function lockCaps(
  client: pg.PoolClient,
  rows: readonly NewMessageRow[],
  context: AdmissionContext,
  firstId: ReturnType<typeof firstIdFinder>,
): Promise<CapCount> {
  const nothing = async () => rows.map(() => null);
  const none: CapCount = { lock: async () => {}, count: nothing, lockAndCount: nothing };
  if (rows.length === 0) return none;
  const { settings, withAllowlist } = await readSettingsAndAllowlists(client, tenantsOf(rows));
  const limitsOf = capLimits(settings);
  const capped = rows.map((row) => limitsOf(row) !== undefined);
  if (!capped.includes(true)) return none;
  const allowed =
    withAllowlist.length > 0
      ? await findAllowlisted(client, {
          phones: distinct(rows.flatMap((r, i) => (capped[i] ? [r.recipient] : []))),
          tenantIds: withAllowlist,
        })
      : null;
  // Per row, its key's number (-1: not counted).
  const keys = new CapKeys();
  const keyOfRow = new Int32Array(rows.length).fill(-1);
  rows.forEach((row, i) => {
    if (capped[i] && !allowed?.get(row.tenantId)?.has(row.recipient))
      keyOfRow[i] = keys.add(row.tenantId, row.type, row.recipient);
  });
  if (keys.size === 0) return none;
  // The lower bound of the ids to count, an hour before the day's window (findFirstIdSince):
  // found before the locks as well as after them.
  const from = await firstId(client, context.now);
  const verdicts = (recent: KeyCounts) => capVerdictsOf(rows, keys, keyOfRow, recent, limitsOf);
  return {
    lock: (tx) => lockRecipients(tx, keys.phonesByTenant()),
    count: async (db) => verdicts(await countRecentSends(db, { keys, now: context.now, firstId: from })),
    lockAndCount: async (tx) =>
      verdicts(
        await countRecentSends(tx, {
          keys,
          now: context.now,
          firstId: from,
          lockBuckets: recipientLockBuckets(keys.phonesByTenant()),
        }),
      ),
  };
}

/** Each row's cap limits from its tenant's settings (undefined: not capped), memoized per (tenant, type). */
function capLimits(settings: ReadonlyMap<number, ProtectionSettings>) {
  // The last (tenant, type) looked up and its limits: a batch's rows all share it.
  let last: { tenantId: number; type: string; limits: CapLimits | undefined } | null = null;
  return (row: NewMessageRow): CapLimits | undefined => {
    if (last !== null && last.tenantId === row.tenantId && last.type === row.type) return last.limits;
    let limits: CapLimits | undefined = settings.get(row.tenantId)!.caps[row.type as MessageType];
    if (limits !== undefined && (limits.minute ?? limits.hour ?? limits.day) === null) limits = undefined;
    last = { tenantId: row.tenantId, type: row.type, limits };
    return limits;
  };
}

/**
 * A small group's quiet hours and caps with their reads in one round trip: the tenants' settings,
 * and the caps' locks and counts for every row's key, sent together on the transaction's
 * connection (pipelined, pool.ts) before the settings have said which rows are capped. The
 * verdicts are lockCaps' exactly: a key the settings leave uncapped, a row quiet hours refuses and
 * an allowlisted number only cost their lock and their count, which no verdict reads (each key is
 * counted on its own). Two round trips before the insert become one (the allowlist, when the
 * tenant has one, is still a look-up of its own after them).
 */
async function quietAndCapsAtOnce(
  client: pg.PoolClient,
  rows: readonly NewMessageRow[],
  context: AdmissionContext,
  firstId: ReturnType<typeof firstIdFinder>,
): Promise<{ quiet: (AppError | null)[]; caps: (AppError | null)[] }> {
  const keys = new CapKeys();
  const keyOfRow = new Int32Array(rows.length);
  rows.forEach((row, i) => (keyOfRow[i] = keys.add(row.tenantId, row.type, row.recipient)));
  const read = readSettingsAndAllowlists(client, tenantsOf(rows));
  read.catch(() => {}); // awaited below, unless finding the first id failed
  const from = await firstId(client, context.now); // a minute's cached bound, or one more statement
  const counted = countRecentSends(client, {
    keys,
    now: context.now,
    firstId: from,
    lockBuckets: recipientLockBuckets(keys.phonesByTenant()),
  });
  counted.catch(() => {}); // awaited below, unless the read before it failed
  const { settings, withAllowlist } = await read;
  const quiet = quietVerdictsOf(rows, settings, context);
  const limitsOf = capLimits(settings);
  // Rows quiet hours let through whose type is capped: the only ones an allowlist can exempt.
  const capped: number[] = [];
  quiet.forEach((q, i) => q === null && limitsOf(rows[i]!) !== undefined && capped.push(i));
  const allowed =
    withAllowlist.length > 0 && capped.length > 0
      ? await findAllowlisted(client, {
          phones: distinct(capped.map((i) => rows[i]!.recipient)),
          tenantIds: withAllowlist,
        })
      : null;
  const recent = await counted;
  const openRows = rows.filter((_, i) => quiet[i] === null);
  const keyOfOpen = new Int32Array(openRows.length).fill(-1);
  let k = 0;
  rows.forEach((row, i) => {
    if (quiet[i] !== null) return;
    if (limitsOf(row) !== undefined && !allowed?.get(row.tenantId)?.has(row.recipient))
      keyOfOpen[k] = keyOfRow[i]!;
    k++;
  });
  return { quiet, caps: capVerdictsOf(openRows, keys, keyOfOpen, recent, limitsOf) };
}

/** Each row's cap verdict from its key's counts; rows of one key count against each other in order. */
function capVerdictsOf(
  rows: readonly NewMessageRow[],
  keys: CapKeys,
  keyOfRow: Int32Array,
  recent: Awaited<ReturnType<typeof countRecentSends>>,
  limitsOf: (row: NewMessageRow) => CapLimits | undefined,
): (AppError | null)[] {
  // Per key, its counts so far; rows of the same group to the same number count against each other.
  const minute = new Int32Array(keys.size);
  const hour = new Int32Array(keys.size);
  const day = new Int32Array(keys.size);
  recent.key.forEach((k, j) => {
    minute[k] = recent.minute[j]!;
    hour[k] = recent.hour[j]!;
    day[k] = recent.day[j]!;
  });
  return rows.map((row, i) => {
    const k = keyOfRow[i]!;
    if (k < 0) return null;
    const limits = limitsOf(row)!;
    const tripped = trippedWindow(limits, { minute: minute[k]!, hour: hour[k]!, day: day[k]! });
    if (tripped) {
      return recipientFrequency({
        message: `The recipient's ${row.type} cap of ${tripped.limit} per ${tripped.window} is reached.`,
        details: { window: tripped.window, limit: tripped.limit, type: row.type },
      });
    }
    minute[k]!++;
    hour[k]!++;
    day[k]!++;
    return null;
  });
}

/**
 * A group this large counts its caps beside the transaction while the rows are written (see
 * checkEarly); a smaller one (single sends' groups) counts on the transaction, as a second
 * connection would cost it more than the count.
 */
export const COUNT_BESIDE_MIN_ROWS = 1_000;

/** The step's verdicts so far, and the caps' still to come (null: they are in `verdicts`). */
interface Verdicts {
  verdicts: (AppError | null)[];
  later: Promise<(AppError | null)[]> | null;
}

/** Lists beside quiet hours then caps; `pool` gives the spare connections. */
export function recipientProtectionStep({ pool }: { pool?: SparePool } = {}): AdmissionStep {
  const firstId = firstIdFinder();
  /**
   * The three checks. With `beside`, the caps are counted on a second spare connection when the
   * pool gives one at once, and their verdicts come later; else they are in the answer.
   */
  const run = async (
    client: pg.PoolClient,
    rows: readonly NewMessageRow[],
    context: AdmissionContext,
    beside: boolean,
  ): Promise<Verdicts> => {
    // Every row's number, repeats and all: the look-up's index scan drops repeated keys itself,
    // and a set of 10,000 numbers built here cost 1.7 ms of the request's critical path.
    const listed = findListHitsBeside(pool, client, {
      phones: rows.map((r) => r.recipient),
      tenantIds: tenantsOf(rows),
    });
    let quiet: (AppError | null)[];
    let counted: Promise<(AppError | null)[]>;
    let late = false;
    try {
      if (!beside && rows.length < COUNT_BESIDE_MIN_ROWS) {
        const found = await quietAndCapsAtOnce(client, rows, context, firstId);
        quiet = found.quiet;
        counted = Promise.resolve(found.caps);
      } else {
        quiet = await quietHoursVerdicts(client, rows, context);
        const open = rows.filter((_, i) => quiet[i] === null);
        const caps = await lockCaps(client, open, context, firstId);
        if (beside) await caps.lock(client);
        const spare = beside ? await spareConnection(pool) : null;
        if (spare === null) counted = beside ? caps.count(client) : caps.lockAndCount(client);
        else {
          late = true;
          counted = releasing(spare, caps.count(spare));
          // Handled where it is awaited; until then an early failure must not go unheard.
          counted.catch(() => {});
        }
        if (!late) await counted;
      }
    } catch (error) {
      // The look-up is waited for either way: its connection goes back before the error does.
      await listed.catch(() => {});
      throw error;
    }
    let lists: (AppError | null)[];
    try {
      lists = listVerdicts(await listed, rows);
    } catch (error) {
      if (late) await counted.catch(() => {});
      throw error;
    }
    // Verdicts of the three checks as three steps in a row: lists, then quiet hours, then caps.
    const merge = (caps: (AppError | null)[] | null) => {
      let k = 0;
      const capped = quiet.map((q) => (q === null ? (caps?.[k++] ?? null) : null));
      if (context.allOrNothing) {
        // The first refusal of the first check that refuses any.
        const first =
          lists.find((v) => v !== null) ?? quiet.find((v) => v !== null) ?? capped.find((v) => v !== null);
        if (first) return rows.map(() => first);
      }
      return rows.map((_, i) => lists[i] ?? quiet[i] ?? capped[i] ?? null);
    };
    if (!late) return { verdicts: merge(await counted), later: null };
    const early = merge(null);
    return {
      verdicts: early,
      // Only what the caps add: rows the lists or quiet hours refused keep that answer.
      later: counted.then((caps) => merge(caps).map((v, i) => (early[i] === null ? v : null))),
    };
  };
  return {
    name: 'compliance.recipient_protection',
    order: 100,
    async check(client, rows, context) {
      return (await run(client, rows, context, false)).verdicts;
    },
    /**
     * A large group's caps are counted on a second connection while the admitted rows are
     * written: the count (70 ms for 10,000 recipients of 8 messages each) no longer waits before
     * the insert, which takes longer. A row the caps refuse then rolls the write back
     * (admission.ts). The count cannot see this transaction's rows, and needs not: a group
     * counts its own rows itself, and it is the transaction's only admission.
     */
    async checkEarly(client, rows, context) {
      return run(client, rows, context, rows.length >= COUNT_BESIDE_MIN_ROWS);
    },
  };
}

export function marketingReviewStep(): AdmissionStep {
  return {
    name: 'compliance.marketing_review',
    order: 300,
    async check(client, rows) {
      // Marked here, written held by the insert; the answer tells the tenant they wait (held).
      await markForReview(client, rows);
      return rows.map(() => null);
    },
    async afterInsert(client, rows, _inserted, context) {
      await openReviews(client, { rows, now: context.now });
    },
  };
}

/** Every step of recipient protection, for app/context.ts to register; `pool` is the transactions' pool. */
export function protectionSteps({ pool }: { pool?: SparePool } = {}): AdmissionStep[] {
  return [recipientProtectionStep({ pool }), marketingReviewStep()];
}
