// Which worker nodes are alive, from PostgreSQL's own word rather than process ids (a pid means
// nothing across containers or PID namespaces, and cannot always be signalled): each node holds a
// session advisory lock on a dedicated connection and writes its heartbeat through that same
// connection. A node is alive while its lock is held and its heartbeat is fresh. A node killed
// with -9 loses its connection, so its lock is free at once and peers recover its messages
// without waiting for the heartbeat to go stale; a node whose event loop is stuck keeps its lock
// but stops beating.
import type pg from 'pg';
import type { Logger } from 'pino';

type Queryable = Pick<pg.Pool, 'query'>;

/** First key of every node's advisory lock ("Hy"); the second is the node's `lock_key`. */
export const NODE_LOCK_CLASS = 0x4879;

/** Inserts or refreshes this node's row; returns its advisory lock key. */
export async function upsertNode(
  db: Queryable,
  { nodeId, roles, hostname, pid }: { nodeId: string; roles: string[]; hostname: string; pid: number },
): Promise<number> {
  const result = await db.query<{ lock_key: number }>(
    `insert into nodes (id, roles, hostname, pid) values ($1, $2, $3, $4)
     on conflict (id) do update set seen_at = now(), roles = excluded.roles, hostname = excluded.hostname,
       pid = excluded.pid
     returning lock_key`,
    [nodeId, roles, hostname, pid],
  );
  return result.rows[0]!.lock_key;
}

/** Nodes whose liveness lock is held (in this database) and whose heartbeat is fresh. */
export async function listLiveNodes(
  db: Queryable,
  { deadAfterMs }: { deadAfterMs: number },
): Promise<string[]> {
  const result = await db.query<{ id: string }>(
    `select n.id from nodes n
      where n.seen_at > now() - make_interval(secs => $1::double precision / 1000)
        and exists (select 1 from pg_locks l
                     where l.locktype = 'advisory' and l.granted and l.objsubid = 2
                       and l.database = (select oid from pg_database where datname = current_database())
                       and l.classid::bigint = $2 and l.objid::bigint = n.lock_key)`,
    [deadAfterMs, NODE_LOCK_CLASS],
  );
  return result.rows.map((r) => r.id);
}

/** Forgets nodes that have been gone for a day (their rows only serve diagnosis). */
export async function deleteLongGoneNodes(db: Queryable) {
  await db.query(`delete from nodes where seen_at < now() - interval '1 day'`);
}

/**
 * Whether this node may still act on what it claimed. Peers recover a node's messages once its
 * heartbeat is `deadAfterMs` old (or its lock is free), so a node that could not beat for that
 * long — its process was stopped (SIGSTOP, a frozen VM), its event loop stuck, its database
 * unreachable — may find on waking that its claims were handed to another node, and its binds
 * too: sending them then would send each message twice. So a node is `alive` only while its last
 * successful beat began less than `deadAfterMs` minus a margin ago (by its own monotonic clock,
 * which a stop does not fool), and submits and claims nothing otherwise; and when a beat finds
 * that it was not alive before it (or had lost its lock), the node behaves as if it had crashed:
 * `epoch` grows, what it held is no longer its to send, and its own claims are recovered as a
 * peer would (`onLapse`) before it claims again.
 */
export interface NodeFence {
  readonly alive: boolean;
  readonly epoch: number;
}

export interface NodeLiveness extends NodeFence {
  /** Takes the lock if this node does not hold it (first call, or its connection died) and beats. */
  beat(): Promise<void>;
  /** Removes this node's row and releases the lock connection. */
  close(): Promise<void>;
}

/**
 * What a node does after a lapse, before it is alive again: the submit results it holds (the
 * carrier answered before the lapse, and the database was out of reach, say) are written first,
 * as those messages are sent and must not be queued again; then its own claims are recovered.
 * The wait is bounded: nothing new is submitted meanwhile, but a recorder that cannot write must
 * not keep the node from coming back (what it holds is then recovered and flagged).
 */
export async function recoverAfterLapse({
  writeHeldResults,
  recoverOwnClaims,
  waitMs,
}: {
  writeHeldResults: () => Promise<unknown>;
  recoverOwnClaims: () => Promise<number>;
  waitMs: number;
}): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    writeHeldResults(),
    new Promise((resolve) => {
      timer = setTimeout(resolve, waitMs);
    }),
  ]);
  clearTimeout(timer);
  return recoverOwnClaims();
}

/** The share of `deadAfterMs` a node keeps in hand: alive until 3/4 of it after its last beat. */
export const FENCE_MARGIN = 0.25;

/**
 * Keeps one pool connection checked out for this node's lock and heartbeat. A heartbeat that
 * fails on it (the connection was killed) drops it; the next one connects and locks again.
 */
export function createNodeLiveness({
  pool,
  node,
  logger,
  deadAfterMs,
  onLapse = async () => {},
  monotonicMs = () => performance.now(),
}: {
  pool: pg.Pool;
  node: { nodeId: string; roles: string[]; hostname: string; pid: number };
  logger: Logger;
  /** When peers take this node for dead (config nodeDeadAfterMs). */
  deadAfterMs: number;
  /** After a lapse, before the node is alive again: recover its own claims. */
  onLapse?: () => Promise<void>;
  monotonicMs?: () => number;
}): NodeLiveness {
  let client: pg.PoolClient | null = null;
  let locked = false;
  // Alive until this monotonic time; -Infinity before the first beat.
  let aliveUntil = -Infinity;
  // The last beat's aliveUntil, kept when a lost lock ends it early (for the lapse's log).
  let lastAliveUntil = -Infinity;
  let everAlive = false;
  // The lock was lost since the last beat: peers saw this node dead at once.
  let lockLost = false;
  let epoch = 0;

  const drop = (c: pg.PoolClient, error?: Error) => {
    if (client !== c) return;
    client = null;
    if (locked) lockLost = true;
    locked = false;
    aliveUntil = -Infinity;
    c.release(error ?? true);
  };

  async function beat(): Promise<void> {
    // Peers see this beat's heartbeat written no earlier than now.
    const began = monotonicMs();
    let c = client;
    if (!c) {
      const fresh = await pool.connect();
      // An idle connection that dies emits 'error'; without a listener it would crash the process.
      fresh.on('error', (error) => {
        logger.warn({ err: error }, 'node liveness connection lost; reconnecting at the next heartbeat');
        drop(fresh, error);
      });
      client = c = fresh;
    }
    try {
      const lockKey = await upsertNode(c, node);
      if (!locked) {
        const r = await c.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [
          NODE_LOCK_CLASS,
          lockKey,
        ]);
        locked = r.rows[0]!.ok;
        if (!locked) logger.warn({ lockKey }, 'node liveness lock is held by another session; retrying');
      }
    } catch (error) {
      drop(c, error as Error);
      throw error;
    }
    if (!locked) return;
    if (everAlive && (began >= aliveUntil || lockLost)) {
      // Peers may have taken this node for dead meanwhile: what it held is theirs to recover.
      epoch++;
      logger.warn(
        // 0 when the lock was lost before the fence lapsed: alive until then.
        { epoch, lockLost, sinceAliveMs: Math.max(0, Math.round(began - lastAliveUntil)) },
        'this node may have been taken for dead; its claims are recovered before it claims again',
      );
      await onLapse();
    }
    lockLost = false;
    everAlive = true;
    aliveUntil = began + deadAfterMs * (1 - FENCE_MARGIN);
    lastAliveUntil = aliveUntil;
  }

  return {
    get alive() {
      return locked && monotonicMs() < aliveUntil;
    },
    get epoch() {
      return epoch;
    },
    beat,
    async close() {
      await pool.query('delete from nodes where id = $1', [node.nodeId]).catch(() => {});
      const c = client;
      if (c) {
        client = null;
        // Releasing destroys the connection, and with it the session lock.
        c.release(true);
      }
    },
  };
}
