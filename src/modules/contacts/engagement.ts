// Keeps contacts.last_engaged_at up to date from deliveries and replies without touching their hot
// paths (no trigger on messages or inbound_messages): a periodic job walks each source by id from
// a cursor (contact_engagement_cursors) and raises last_engaged_at of the matching contacts.
// Clicks: the short-link module's clicks (short_link_clicks, joined to their link's phone), bots
// left out.
//
// Messages: a message's outcome arrives after its row was written, so the walk stops before the
// oldest message still on its way (queued or sending; sent within the last hour and awaiting its
// receipt; held and due within the hour) and looks at it again next time. A receipt later than an
// hour, or a scheduled send released more than an hour after the walk passed it, is not counted:
// engagement is measured in days, and waiting for every lost receipt (up to 72 hours) would stall
// the walk for everyone.
import type { CountryCode } from 'libphonenumber-js/max';
import type pg from 'pg';
import { withTransaction } from '../../db/pool.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import { recordEngagement } from './contacts.repository.ts';

const BLOCK = 50_000;
const MAX_BLOCKS_PER_RUN = 20;
const IN_FLIGHT_WINDOW_MS = 3_600_000;
const REPLY_BATCH = 10_000;

async function readCursor(tx: pg.PoolClient, source: string): Promise<number> {
  await tx.query('insert into contact_engagement_cursors (source) values ($1) on conflict do nothing', [
    source,
  ]);
  const { rows } = await tx.query<{ last_id: number }>(
    'select last_id from contact_engagement_cursors where source = $1 for update',
    [source],
  );
  return rows[0]!.last_id;
}

async function writeCursor(tx: pg.PoolClient, source: string, lastId: number, now: Date) {
  await tx.query('update contact_engagement_cursors set last_id = $2, updated_at = $3 where source = $1', [
    source,
    lastId,
    now,
  ]);
}

/** One block of messages: deliveries applied; answers where the walk may resume. */
async function applyDeliveredBlock(tx: pg.PoolClient, lo: number, hi: number, now: Date): Promise<number> {
  await tx.query(
    `update contacts c set last_engaged_at = e.at
       from (select tenant_id, recipient, max(coalesce(done_at, updated_at)) as at from messages
              where id > $1 and id <= $2 and status = 'delivered' group by tenant_id, recipient) e
      where c.tenant_id = e.tenant_id and c.phone = e.recipient
        and (c.last_engaged_at is null or c.last_engaged_at < e.at)`,
    [lo, hi],
  );
  const { rows } = await tx.query<{ id: number | null }>(
    `select min(id) as id from messages
      where id > $1 and id <= $2
        and (status in ('accepted', 'queued', 'sending')
             or (status = 'sent' and sent_at > $3::timestamptz - make_interval(secs => $4 / 1000.0))
             or (status = 'held' and send_at <= $3::timestamptz + make_interval(secs => $4 / 1000.0)))`,
    [lo, hi, now, IN_FLIGHT_WINDOW_MS],
  );
  const stall = rows[0]?.id ?? null;
  return stall === null ? hi : stall - 1;
}

/** Walks messages from the cursor; answers how many ids it moved past. */
export async function syncDeliveries(pool: pg.Pool, now: Date): Promise<number> {
  return withTransaction(pool, async (tx) => {
    const start = await readCursor(tx, 'messages');
    const { rows } = await tx.query<{ max: number | null }>('select max(id) as max from messages');
    const top = rows[0]?.max ?? 0;
    let cursor = start;
    for (let i = 0; i < MAX_BLOCKS_PER_RUN && cursor < top; i++) {
      const hi = Math.min(cursor + BLOCK, top);
      const next = await applyDeliveredBlock(tx, cursor, hi, now);
      const stalled = next < hi;
      cursor = Math.max(cursor, next);
      if (stalled) break;
    }
    if (cursor !== start) await writeCursor(tx, 'messages', cursor, now);
    return cursor - start;
  });
}

/** Applies replies attributed to a tenant since the cursor; answers how many were read. */
export async function syncReplies(pool: pg.Pool, now: Date, region: CountryCode): Promise<number> {
  return withTransaction(pool, async (tx) => {
    const start = await readCursor(tx, 'replies');
    const { rows } = await tx.query<{
      id: number;
      tenant_id: number | null;
      sender: string;
      received_at: Date;
    }>(`select id, tenant_id, sender, received_at from inbound_messages where id > $1 order by id limit $2`, [
      start,
      REPLY_BATCH,
    ]);
    if (rows.length === 0) return 0;
    const events: { tenantId: number; phone: string; at: Date }[] = [];
    for (const r of rows) {
      if (r.tenant_id === null) continue;
      const phone = normalizePhone(r.sender.startsWith('+') ? r.sender : `+${r.sender}`, region);
      const fallback = phone.ok ? phone : normalizePhone(r.sender, region);
      if (fallback.ok) events.push({ tenantId: r.tenant_id, phone: fallback.e164, at: r.received_at });
    }
    await recordEngagement(tx, events);
    // A reply not yet attributed to a tenant is passed for good: attribution happens when it is stored.
    await writeCursor(tx, 'replies', rows[rows.length - 1]!.id, now);
    return rows.length;
  });
}

/** Applies short-link clicks since the cursor (not a bot's); answers how many were read. */
export async function syncClicks(pool: pg.Pool, now: Date): Promise<number> {
  return withTransaction(pool, async (tx) => {
    const start = await readCursor(tx, 'clicks');
    const { rows } = await tx.query<{
      id: number;
      tenant_id: number;
      phone: string | null;
      at: Date;
      device: string;
    }>(
      `select k.id, k.tenant_id, l.phone, k.at, k.device
         from short_link_clicks k join short_links l on l.id = k.link_id
        where k.id > $1 order by k.id limit $2`,
      [start, REPLY_BATCH],
    );
    if (rows.length === 0) return 0;
    const events = rows
      .filter((r) => r.phone !== null && r.device !== 'bot')
      .map((r) => ({ tenantId: r.tenant_id, phone: r.phone!, at: r.at }));
    await recordEngagement(tx, events);
    await writeCursor(tx, 'clicks', rows[rows.length - 1]!.id, now);
    return rows.length;
  });
}

export async function syncEngagement(pool: pg.Pool, now: Date, region: CountryCode) {
  const deliveries = await syncDeliveries(pool, now);
  let clicks = 0;
  for (let n = await syncClicks(pool, now); n > 0; n = await syncClicks(pool, now)) {
    clicks += n;
    if (n < REPLY_BATCH) break;
  }
  let replies = 0;
  for (let n = await syncReplies(pool, now, region); n > 0; n = await syncReplies(pool, now, region)) {
    replies += n;
    if (n < REPLY_BATCH) break;
  }
  return { deliveries, replies, clicks };
}
