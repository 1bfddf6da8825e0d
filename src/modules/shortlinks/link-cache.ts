// The redirect's memory of short links: code → what a click needs (target, disabled, and the
// message, contact, campaign and tenant it is attributed to), so that a redirect answers without
// waiting on PostgreSQL. A campaign's recipients each click their own code, mostly once, so a
// cache filled by misses would miss on nearly every click of a campaign's first minutes (the
// bench's 20,000 random codes missed ~9 in 10 and ran at the database's pace). Instead each node
// follows the table:
//   - new links: every `syncIntervalMs` the links created since the last one seen (by id) are
//     read into the cache, so a run's links are in memory on every node within about a second of
//     their commit, before their messages reach the handsets; at start, the newest `maxEntries`;
//   - changes: the links an operator disabled or enabled since the last look (`changed_at`, the
//     database's clock, with a margin for statements that committed late) replace their entries,
//     so a disable takes effect on every node within about `syncIntervalMs` (on the node that
//     took it, at once);
//   - misses (a link older than the cache holds, or one whose id committed after a larger one was
//     read): the codes missing at the same moment are read with one statement; an unknown code is
//     remembered as unknown for `missTtlMs`, so a scan of random codes cannot load the database.
// Bounded: `maxEntries` codes, the least recently used dropped first. Staleness is bounded too:
// an entry is served from memory only while it was loaded, or confirmed by a sync, within
// `trustForMs`. If PostgreSQL cannot be reached, redirects go on from memory for that long, then
// each asks PostgreSQL (and answers 503 while it is unreachable), so a disable written while this
// node could not see the database is never ignored for longer.
import type pg from 'pg';
import {
  findLinksByCodes,
  latestLinkId,
  type LinkTarget,
  readLinksAfter,
  readLinksChangedSince,
} from './shortlinks.sql.ts';

interface Entry {
  link: LinkTarget | null;
  /** When it was read from PostgreSQL (ms, this process's clock). */
  at: number;
}

export interface LinkCache {
  /** The link of `code` from memory: a link, null (no such code), or undefined (ask `load`). */
  get(code: string): LinkTarget | null | undefined;
  /** Reads `code` from PostgreSQL, together with the other misses of the moment. */
  load(code: string): Promise<LinkTarget | null>;
  /** The link as this node just wrote it (an operator's disable or enable). */
  set(code: string, link: LinkTarget | null): void;
  /** One sync now (tests, and the timer). */
  sync(): Promise<void>;
  start(): void;
  /** Stops syncing; answers once a sync in flight has ended. */
  close(): Promise<void>;
  readonly size: number;
}

/** Read again changes stamped up to this long before the last look: a statement stamps `now()` at
 * its start and may commit later. */
const CHANGE_MARGIN_MS = 5000;
const PAGE = 5000;
const MAX_CODES_PER_READ = 1000;

export function createLinkCache({
  pool,
  maxEntries = 200_000,
  syncIntervalMs = 1000,
  trustForMs = 30_000,
  missTtlMs = 10_000,
  now = Date.now,
  onError,
}: {
  pool: Pick<pg.Pool, 'query'>;
  maxEntries?: number;
  syncIntervalMs?: number;
  trustForMs?: number;
  missTtlMs?: number;
  now?: () => number;
  onError: (err: unknown) => void;
}): LinkCache {
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  const entries = new Map<string, Entry>();
  let lastId: number | null = null;
  let changesSince: Date | null = null;
  let syncedAt = -Infinity;
  let syncing: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let started = false;
  let closed = false;
  const waiting = new Map<
    string,
    { resolve: (l: LinkTarget | null) => void; reject: (e: unknown) => void }[]
  >();
  let readScheduled = false;

  const put = (code: string, link: LinkTarget | null, at: number) => {
    entries.delete(code);
    entries.set(code, { link, at });
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  };

  const get = (code: string): LinkTarget | null | undefined => {
    const entry = entries.get(code);
    if (entry === undefined) return undefined;
    const t = now();
    if (entry.link === null ? t - entry.at > missTtlMs : t - Math.max(entry.at, syncedAt) > trustForMs)
      return undefined;
    entries.delete(code);
    entries.set(code, entry);
    return entry.link;
  };

  const readMisses = async () => {
    readScheduled = false;
    const codes = [...waiting.keys()].slice(0, MAX_CODES_PER_READ);
    const callers = codes.map((c) => {
      const w = waiting.get(c)!;
      waiting.delete(c);
      return w;
    });
    if (waiting.size > 0) schedule();
    const startedAt = now();
    try {
      const found = await findLinksByCodes(pool, codes);
      const t = now();
      codes.forEach((code, i) => {
        const link = found.get(code) ?? null;
        // A sync that read this code after this statement began knows better: keep its entry.
        const held = entries.get(code);
        if (held === undefined || held.at <= startedAt) put(code, link, t);
        for (const w of callers[i]!) w.resolve(link);
      });
    } catch (err) {
      for (const ws of callers) for (const w of ws) w.reject(err);
    }
  };
  const schedule = () => {
    if (readScheduled) return;
    readScheduled = true;
    // After this turn's other requests have queued their misses: one statement for all.
    setImmediate(() => void readMisses());
  };

  const syncOnce = async () => {
    const startedAt = now();
    // Changes first, new links after: a link both new and changed is then kept as the later read
    // (the page) saw it, and a change committed after this read is read by the next sync.
    const { changed, dbNow } = await readLinksChangedSince(pool, changesSince);
    let t = now();
    for (const { code, link } of changed) put(code, link, t);
    if (lastId === null) lastId = Math.max(0, (await latestLinkId(pool)) - maxEntries);
    for (;;) {
      const page = await readLinksAfter(pool, lastId, PAGE);
      t = now();
      for (const { code, link } of page) put(code, link, t);
      if (page.length > 0) lastId = page[page.length - 1]!.link.id;
      if (page.length < PAGE) break;
    }
    changesSince = new Date(dbNow.getTime() - CHANGE_MARGIN_MS);
    syncedAt = startedAt;
  };

  const sync = (): Promise<void> => {
    syncing ??= syncOnce()
      .catch(onError)
      .finally(() => {
        syncing = null;
      });
    return syncing;
  };

  const loop = () => {
    if (closed) return;
    timer = setTimeout(() => void sync().finally(loop), syncIntervalMs);
  };

  return {
    get,
    load(code) {
      const cached = get(code);
      if (cached !== undefined) return Promise.resolve(cached);
      return new Promise((resolve, reject) => {
        const list = waiting.get(code);
        if (list) list.push({ resolve, reject });
        else waiting.set(code, [{ resolve, reject }]);
        schedule();
      });
    },
    set(code, link) {
      put(code, link, now());
    },
    sync,
    start() {
      if (started || closed) return;
      started = true;
      void sync().finally(loop);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await syncing;
    },
    get size() {
      return entries.size;
    },
  };
}
