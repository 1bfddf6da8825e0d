// Many nodes, one set of binds: a channel's `binds` is what the carrier allows the account, so
// the nodes together must never open more. Each bind is a lease row (channel, slot < binds) in
// PostgreSQL, whose primary key is the cap: a node opens its connector for a channel only while it
// holds one of its slots, renews it at every channel sync, and gives it up when it stops. A slot
// whose node is no longer alive (its liveness lock is gone — at once when a process is killed —
// or its heartbeat is stale, see dispatch/nodes.ts) or whose lease expired is taken over by the
// next node that syncs: within one channel-sync interval (5 s by default) of a kill.
//
// One slot per node per channel: a node runs one connector per channel, so with binds 2 and
// three nodes two of them bind and the third stands by.
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Channel } from '../../channels/channels.repository.ts';
import { listLiveNodes } from '../../dispatch/nodes.ts';
import { recordChannelEvent } from '../health/health.sql.ts';

type Queryable = Pick<pg.Pool, 'query'>;

/** Renews this node's slot of a channel (below `binds`); returns it, or null when it holds none. */
export async function renewBindLease(
  db: Queryable,
  { channelId, nodeId, binds, ttlMs }: { channelId: number; nodeId: string; binds: number; ttlMs: number },
): Promise<number | null> {
  const result = await db.query<{ slot: number }>(
    `update channel_bind_leases set expires_at = now() + make_interval(secs => $3::double precision / 1000)
      where channel_id = $1 and node_id = $2 and slot < $4 returning slot`,
    [channelId, nodeId, ttlMs, binds],
  );
  return result.rows[0]?.slot ?? null;
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

export async function releaseBindLeases(db: Queryable, nodeId: string): Promise<void> {
  await db.query('delete from channel_bind_leases where node_id = $1', [nodeId]);
}

export interface BindLeases {
  /** The enabled channels this node may bind now (it holds a slot of each), leases renewed. */
  hold(enabled: Channel[]): Promise<Channel[]>;
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
  const held = new Map<number, number>();
  return {
    async hold(enabled) {
      await dropStaleBindLeases(pool);
      let live: string[] | null = null;
      const out: Channel[] = [];
      for (const c of enabled) {
        let slot = await renewBindLease(pool, { channelId: c.id, nodeId, binds: c.binds, ttlMs });
        if (slot === null) {
          live ??= await listLiveNodes(pool, { deadAfterMs });
          if (!live.includes(nodeId)) live.push(nodeId);
          for (let s = 0; s < c.binds && slot === null; s++)
            if (await takeBindLease(pool, { channelId: c.id, slot: s, nodeId, ttlMs, liveNodeIds: live }))
              slot = s;
        }
        const before = held.get(c.id);
        if (slot !== null) {
          out.push(c);
          held.set(c.id, slot);
          if (before === undefined) {
            const reason = `node ${nodeId} holds bind ${slot + 1} of ${c.binds}`;
            logger.info({ channel: c.id, slot }, `channel ${c.name}: ${reason}`);
            await recordChannelEvent(pool, { channelId: c.id, kind: 'lease_taken', reason, nodeId });
          }
        } else if (before !== undefined) {
          held.delete(c.id);
          const reason = `node ${nodeId} lost its bind slot (all ${c.binds} are held by other nodes)`;
          logger.warn({ channel: c.id }, `channel ${c.name}: ${reason}`);
          await recordChannelEvent(pool, { channelId: c.id, kind: 'lease_released', reason, nodeId });
        }
      }
      for (const id of [...held.keys()]) if (!enabled.some((c) => c.id === id)) held.delete(id);
      return out;
    },
    async release() {
      held.clear();
      await releaseBindLeases(pool, nodeId);
    },
  };
}
