// Storing replies (MO) received in one batch of deliver_sm. A single reply is stored at once; a
// part of a concatenated reply is kept in inbound_parts, and the reply is stored whole when its
// last part arrives (or, after the reassembly timeout, partial and flagged incomplete).
//
// Every deliver_sm of the batch (receipts included) is acknowledged only if this succeeds, so
// one reply must never fail the batch: a carrier resends what we reject, for ever. Text is made
// storable by a pure rule (inbound.models.ts); a row that still fails for its data is found by
// storing the replies one by one, and stored with its raw bytes only, or logged and dropped.
import type pg from 'pg';
import type { Logger } from 'pino';
import { withTransaction } from '../../db/pool.ts';
import { applyOptOutReplies } from '../compliance/protection/opt-out.replies.ts';
import type { InboundInput } from './inbound.ts';
import { attribute, reassemble } from './inbound.models.ts';
import {
  type GroupKey,
  type InboundRow,
  insertInboundMessages,
  insertReplyParts,
  lockReplyGroups,
  lookupAttribution,
  type PartRow,
  purgeAssembledParts,
  selectExpiredGroups,
  takeCompleteGroups,
  takeExpiredGroups,
} from './replies.sql.ts';

type Pool = Pick<pg.Pool, 'connect'>;
type Queryable = Pick<pg.PoolClient, 'query'>;
type Log = Pick<Logger, 'warn' | 'error'>;

/** A reply ready to be attributed and stored. */
type Reply = Omit<InboundRow, 'tenantId' | 'attribution' | 'candidateTenantIds'>;

/**
 * Errors a row's own data causes (SQLSTATE class 22 data exception, 23 integrity): storing the
 * row again cannot succeed, and its neighbours must not share its fate. Anything else (the
 * database is down, a deadlock) is transient: the batch is refused and the carrier resends it.
 */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

function keyOf(p: GroupKey): string {
  return `${p.channelId}|${p.sender}|${p.destination}|${p.ref}|${p.total}`;
}

/** One reply per group of parts, partial when parts are missing. */
function repliesFromParts(parts: PartRow[]): Reply[] {
  const groups = new Map<string, PartRow[]>();
  for (const p of parts) {
    const key = keyOf(p);
    const group = groups.get(key);
    if (group) group.push(p);
    else groups.set(key, [p]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    const whole = reassemble(group, first.total);
    return {
      channelId: first.channelId,
      sender: first.sender,
      destination: first.destination,
      ...whole,
      // When the handset sent it: its first part's arrival.
      receivedAt: new Date(Math.min(...group.map((p) => p.receivedAt.getTime()))),
    };
  });
}

function singleReply(m: InboundInput): Reply {
  return {
    channelId: m.channelId,
    sender: m.sender,
    destination: m.destination,
    ...reassemble([{ seq: 1, dataCoding: m.dataCoding, body: m.body }], 1),
    receivedAt: m.receivedAt,
  };
}

async function attributeAndInsert(
  db: Queryable,
  replies: Reply[],
  { since, rawOnly }: { since: Date; rawOnly: boolean },
): Promise<void> {
  if (replies.length === 0) return;
  const lookups = await lookupAttribution(db, { replies, since });
  const rows = replies.map((r, i) => ({
    ...r,
    ...(rawOnly ? { content: '', sanitized: true } : {}),
    ...attribute(lookups[i]!),
  }));
  await insertInboundMessages(db, rows);
  // TD, 退订, STOP… opt the sender out of the tenant it replied to, in the same transaction.
  await applyOptOutReplies(db, rows);
}

async function storeTogether(
  pool: Pool,
  messages: InboundInput[],
  { since, rawOnly }: { since: Date; rawOnly: boolean },
): Promise<void> {
  const parts: PartRow[] = [];
  const singles: Reply[] = [];
  for (const m of messages) {
    if (m.concat)
      parts.push({
        channelId: m.channelId,
        sender: m.sender,
        destination: m.destination,
        ...m.concat,
        dataCoding: m.dataCoding,
        body: m.body,
        receivedAt: m.receivedAt,
      });
    else singles.push(singleReply(m));
  }
  await withTransaction(pool, async (db) => {
    await lockReplyGroups(db, parts);
    await insertReplyParts(db, parts);
    const complete = await takeCompleteGroups(db, parts);
    await attributeAndInsert(db, [...singles, ...repliesFromParts(complete)], { since, rawOnly });
  });
}

export async function storeInboundMessages(
  pool: Pool,
  {
    messages,
    now = new Date(),
    windowHours = 72,
    logger,
  }: {
    messages: InboundInput[];
    now?: Date;
    /** The receipt window: a tenant that messaged the handset longer ago is not a candidate. */
    windowHours?: number;
    logger?: Log;
  },
): Promise<{ isolated: number; dropped: number }> {
  if (messages.length === 0) return { isolated: 0, dropped: 0 };
  const since = new Date(now.getTime() - windowHours * 3_600_000);
  try {
    await storeTogether(pool, messages, { since, rawOnly: false });
    return { isolated: 0, dropped: 0 };
  } catch (error) {
    if (!isDataError(error)) throw error;
    logger?.warn(
      { err: error, replies: messages.length },
      'a reply of the batch cannot be stored; storing one by one',
    );
  }
  let isolated = 0;
  let dropped = 0;
  for (const m of messages) {
    try {
      await storeTogether(pool, [m], { since, rawOnly: false });
      continue;
    } catch (error) {
      if (!isDataError(error)) throw error;
      isolated++;
    }
    try {
      await storeTogether(pool, [m], { since, rawOnly: true });
      logger?.warn({ channelId: m.channelId, sender: m.sender }, 'reply stored with its raw bytes only');
    } catch (error) {
      if (!isDataError(error)) throw error;
      dropped++;
      logger?.error(
        { err: error, channelId: m.channelId, sender: m.sender, raw: m.body.toString('hex') },
        'reply cannot be stored at all; acknowledged and dropped so the batch is not resent for ever',
      );
    }
  }
  return { isolated, dropped };
}

/**
 * Stores, flagged incomplete, the replies whose parts stopped arriving `timeoutMs` ago, and
 * forgets assembled parts twice that old. Returns how many partial replies were stored.
 */
export async function flushExpiredReplyParts(
  pool: Pool,
  {
    now,
    timeoutMs,
    windowHours = 72,
    limit = 1000,
  }: { now: Date; timeoutMs: number; windowHours?: number; limit?: number },
): Promise<number> {
  const before = new Date(now.getTime() - timeoutMs);
  const since = new Date(now.getTime() - windowHours * 3_600_000);
  const flush = (rawOnly: boolean, max: number) =>
    withTransaction(pool, async (db) => {
      const keys = await selectExpiredGroups(db, { before, limit: max });
      await lockReplyGroups(db, keys);
      const replies = repliesFromParts(await takeExpiredGroups(db, { keys, before }));
      await attributeAndInsert(db, replies, { since, rawOnly });
      await purgeAssembledParts(db, { before: new Date(now.getTime() - 2 * timeoutMs) });
      return replies.length;
    });
  try {
    return await flush(false, limit);
  } catch (error) {
    if (!isDataError(error)) throw error;
  }
  // One reply of the lot cannot be stored: the oldest alone, raw if need be; the rest next time.
  try {
    return await flush(false, 1);
  } catch (error) {
    if (!isDataError(error)) throw error;
    return flush(true, 1);
  }
}

/** How often the worker looks for replies whose parts stopped arriving. */
export const REPLY_PARTS_SWEEP_MS = 5000;
