// Many nodes, one set of binds: a channel's `binds` is what the carrier allows the account, so
// the nodes together must never open more. Each bind is a lease row (channel, slot < binds) in
// PostgreSQL, whose primary key is the cap: a node opens its connector for a channel only while it
// holds one of its slots, renews it at every channel sync, and gives it up when it stops. A slot
// whose node is no longer alive (its liveness lock is gone — at once when a process is killed —
// or its heartbeat is stale, see dispatch/nodes.ts) or whose lease expired is taken over by the
// next node that syncs: within one channel-sync interval (5 s by default) of a kill.
//
// A node holds its share of a channel's slots, ceil(binds ÷ live worker nodes), and runs one
// connector (one bind) per slot: one node alone opens all of a channel's binds; with binds 2 and
// three nodes two of them bind and the third stands by. A node holding more than its share while
// another live worker node holds less (a node just started) gives the extra slots up at its next
// sync, and the other takes them at its own.
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Channel } from '../../channels/channels.repository.ts';
import { listLiveNodes } from '../../dispatch/nodes.ts';
import { recordChannelEvent } from '../health/health.sql.ts';

type Queryable = Pick<pg.Pool, 'query'>;

/** Renews this node's slots of a channel (below `binds`); returns them, in order. */
export async function renewBindLeases(
  db: Queryable,
  { channelId, nodeId, binds, ttlMs }: { channelId: number; nodeId: string; binds: number; ttlMs: number },
): Promise<number[]> {
  const result = await db.query<{ slot: number }>(
    `update channel_bind_leases set expires_at = now() + make_interval(secs => $3::double precision / 1000)
      where channel_id = $1 and node_id = $2 and slot < $4 returning slot`,
    [channelId, nodeId, ttlMs, binds],
  );
  return result.rows.map((r) => r.slot).sort((a, b) => a - b);
}

/** How many slots of each channel each live node holds (to see whether a node holds less than its share). */
async function slotsHeldByLiveNodes(db: Queryable, liveNodeIds: string[]): Promise<Map<number, number[]>> {
  const result = await db.query<{ channel_id: string; n: number }>(
    `select channel_id, count(*)::int as n from channel_bind_leases
      where node_id = any($1::text[]) and expires_at >= now()
      group by channel_id, node_id`,
    [liveNodeIds],
  );
  const out = new Map<number, number[]>();
  for (const r of result.rows) {
    const list = out.get(Number(r.channel_id)) ?? [];
    list.push(r.n);
    out.set(Number(r.channel_id), list);
  }
  return out;
}

/** Live nodes that run the worker role (only they bind). */
async function liveWorkerNodes(db: Queryable, liveNodeIds: string[]): Promise<string[]> {
  const result = await db.query<{ id: string }>(
    `select id from nodes where id = any($1::text[]) and 'worker' = any (roles)`,
    [liveNodeIds],
  );
  return result.rows.map((r) => r.id);
}

/** A node's share of a channel's binds. */
export function shareOfBinds(binds: number, workerNodes: number): number {
  return Math.ceil(binds / Math.max(1, workerNodes));
}

/**
 * Takes `slot` if it is free, expired, or held by a node that is not alive. One statement: of two
 * nodes racing for a slot, the insert of one conflicts and its update's condition is then false.
 */
export async function takeBindLease(
  db: Queryable,
  {
    channelId,
    slot,
    nodeId,
    ttlMs,
    liveNodeIds,
  }: { channelId: number; slot: number; nodeId: string; ttlMs: number; liveNodeIds: string[] },
): Promise<boolean> {
  const result = await db.query(
    `insert into channel_bind_leases (channel_id, slot, node_id, expires_at)
     values ($1, $2, $3, now() + make_interval(secs => $4::double precision / 1000))
     on conflict (channel_id, slot) do update
        set node_id = excluded.node_id, expires_at = excluded.expires_at, taken_at = now()
      where channel_bind_leases.expires_at < now() or not (channel_bind_leases.node_id = any($5::text[]))`,
    [channelId, slot, nodeId, ttlMs, liveNodeIds],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Slots above a lowered bind count, and leases of channels that are disabled or gone. */
export async function dropStaleBindLeases(db: Queryable): Promise<void> {
  await db.query(
    `delete from channel_bind_leases l using channels c
      where c.id = l.channel_id and (l.slot >= c.binds or not c.enabled)`,
  );
}

export async function releaseBindLeases(
  db: Queryable,
  nodeId: string,
  channelId?: number,
  slots?: number[],
): Promise<void> {
  if (channelId === undefined) {
    await db.query('delete from channel_bind_leases where node_id = $1', [nodeId]);
    return;
  }
  await db.query(
    'delete from channel_bind_leases where node_id = $1 and channel_id = $2 and slot = any($3::int[])',
    [nodeId, channelId, slots ?? []],
  );
}

export interface HeldChannel {
  channel: Channel;
  /** The slots this node holds: one bind each. */
  slots: number[];
}

export interface BindLeases {
  /** The enabled channels this node may bind now, with the slots it holds of each, leases renewed. */
  hold(enabled: Channel[]): Promise<HeldChannel[]>;
  /** Gives back the slots `hold` gave up (above this node's share), once their connectors closed. */
  releaseGivenUp(): Promise<void>;
  /** Gives every slot of this node back (at stop, after its connectors closed). */
  release(): Promise<void>;
}

export function createBindLeases({
  pool,
  nodeId,
  ttlMs,
  deadAfterMs,
  logger,
}: {
  pool: pg.Pool;
  nodeId: string;
  /** How long a lease lasts without renewal. */
  ttlMs: number;
  deadAfterMs: number;
  logger: Logger;
}): BindLeases {
  const held = new Map<number, number[]>();
  const givenUp = new Map<number, number[]>();
  const event = async (c: Channel, kind: 'lease_taken' | 'lease_released', reason: string) => {
    if (kind === 'lease_taken') logger.info({ channel: c.id }, `channel ${c.name}: ${reason}`);
    else logger.warn({ channel: c.id }, `channel ${c.name}: ${reason}`);
    await recordChannelEvent(pool, { channelId: c.id, kind, reason, nodeId });
  };
  return {
    async hold(enabled) {
      await dropStaleBindLeases(pool);
      const live = await listLiveNodes(pool, { deadAfterMs });
      if (!live.includes(nodeId)) live.push(nodeId);
      const workers = await liveWorkerNodes(pool, live);
      if (!workers.includes(nodeId)) workers.push(nodeId);
      const others = await slotsHeldByLiveNodes(
        pool,
        workers.filter((id) => id !== nodeId),
      );
      const out: HeldChannel[] = [];
      for (const c of enabled) {
        const share = shareOfBinds(c.binds, workers.length);
        let slots = await renewBindLeases(pool, { channelId: c.id, nodeId, binds: c.binds, ttlMs });
        // More than its share while another worker node holds less: the extra slots go back.
        const othersHeld = others.get(c.id) ?? [];
        const someoneShort =
          othersHeld.length < workers.length - 1 ||
          othersHeld.some((n) => n < Math.floor(c.binds / workers.length));
        if (slots.length > share && someoneShort) {
          // Given back by releaseGivenUp, once their connectors are closed: never a moment with
          // more binds at the carrier than it allows.
          givenUp.set(c.id, slots.slice(share));
          slots = slots.slice(0, share);
        }
        for (let s = 0; s < c.binds && slots.length < share; s++) {
          if (slots.includes(s)) continue;
          if (await takeBindLease(pool, { channelId: c.id, slot: s, nodeId, ttlMs, liveNodeIds: live }))
            slots.push(s);
        }
        slots.sort((a, b) => a - b);
        const before = held.get(c.id) ?? [];
        for (const s of slots)
          if (!before.includes(s))
            await event(c, 'lease_taken', `node ${nodeId} holds bind ${s + 1} of ${c.binds}`);
        for (const s of before)
          if (!slots.includes(s))
            await event(c, 'lease_released', `node ${nodeId} gave up bind ${s + 1} of ${c.binds}`);
        if (slots.length > 0) {
          held.set(c.id, slots);
          out.push({ channel: c, slots });
        } else held.delete(c.id);
      }
      for (const id of [...held.keys()]) if (!enabled.some((c) => c.id === id)) held.delete(id);
      return out;
    },
    async releaseGivenUp() {
      for (const [channelId, slots] of givenUp) await releaseBindLeases(pool, nodeId, channelId, slots);
      givenUp.clear();
    },
    async release() {
      held.clear();
      await releaseBindLeases(pool, nodeId);
    },
  };
}
