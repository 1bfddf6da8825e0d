// Delivers the outbox (receipts and replies owed to each account) on this node's receiver and
// transceiver binds. A node works only the accounts bound to it: woken by NOTIFY when a row is
// written (on any node), and by a poll as a fallback (a lost notification, a row whose backoff
// ended). Rows are leased before sending; each deliver_sm answered ESME_ROK is marked delivered,
// anything else (an error status, no answer, the bind lost) puts the row back with a backoff.
import type pg from 'pg';
import { CommandStatus, statusName } from '../../smpp/constants.ts';
import type { SmppSession } from '../../smpp/session.ts';
import { deliverSmOf } from './deliver-pdus.ts';
import {
  claimOutboxRows,
  deleteDeliveredOutboxRows,
  markOutboxDelivered,
  type OutboxRow,
  releaseOutboxRows,
} from './smpp-outbox.sql.ts';

interface Logger {
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface OutboxSettings {
  pollMs: number;
  leaseMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Rows leased at once per account; the session's window limits how many are outstanding. */
  claimMax: number;
}

export interface OutboxDeliverer {
  /** Work the account's rows now (a bind, a notification). */
  wake(accountId: number): void;
  stop(): Promise<void>;
}

const KEEP_DELIVERED_MS = 24 * 3_600_000;

export function startOutboxDeliverer({
  pool,
  nodeId,
  receiversOf,
  boundAccounts,
  settings,
  logger,
}: {
  pool: pg.Pool;
  nodeId: string;
  /** This node's bound receiver/transceiver sessions of the account. */
  receiversOf: (accountId: number) => SmppSession[];
  boundAccounts: () => number[];
  settings: OutboxSettings;
  logger: Logger;
}): OutboxDeliverer {
  const running = new Map<number, Promise<void>>();
  const again = new Set<number>();
  let stopped = false;
  let listener: pg.PoolClient | null = null;
  let turn = 0;

  async function deliverRow(session: SmppSession, row: OutboxRow): Promise<string | null> {
    try {
      const resp = await session.request(deliverSmOf(row));
      return resp.commandStatus === CommandStatus.ESME_ROK ? null : statusName(resp.commandStatus);
    } catch (error) {
      return (error as Error).message;
    }
  }

  async function workAccount(accountId: number): Promise<void> {
    while (!stopped) {
      const sessions = receiversOf(accountId);
      if (sessions.length === 0) return;
      const rows = await claimOutboxRows(pool, {
        accountId,
        nodeId,
        leaseMs: settings.leaseMs,
        limit: settings.claimMax,
      });
      if (rows.length === 0) return;
      const outcomes = await Promise.all(
        rows.map((row) => deliverRow(sessions[turn++ % sessions.length]!, row)),
      );
      const delivered = rows.filter((_, i) => outcomes[i] === null).map((r) => r.id);
      const failed = rows.filter((_, i) => outcomes[i] !== null).map((r) => r.id);
      await markOutboxDelivered(pool, delivered);
      if (failed.length > 0) {
        const error = outcomes.find((o) => o !== null) ?? 'failed';
        logger.debug(
          { accountId, failed: failed.length, error },
          'SMPP deliver_sm not acknowledged; retrying later',
        );
        await releaseOutboxRows(pool, {
          ids: failed,
          error,
          baseMs: settings.retryBaseMs,
          maxMs: settings.retryMaxMs,
        });
        return; // the failed rows wait for their backoff; the poll comes back for them
      }
    }
  }

  function wake(accountId: number): void {
    if (stopped) return;
    if (running.has(accountId)) {
      again.add(accountId);
      return;
    }
    const run = workAccount(accountId)
      .catch((error: unknown) => logger.warn({ err: error, accountId }, 'SMPP outbox: delivering failed'))
      .finally(() => {
        running.delete(accountId);
        if (again.delete(accountId)) wake(accountId);
      });
    running.set(accountId, run);
  }

  let releaseListener: (error?: Error | boolean) => void = () => {};

  /** The connect-and-listen in progress, which stop() waits for: a connection it hands over after
   * stop() began would otherwise stay checked out, and the pool's end would wait for it forever. */
  let listening: Promise<void> | null = null;

  function listen(): Promise<void> {
    if (listener !== null || stopped || listening !== null) return listening ?? Promise.resolve();
    listening = connectAndListen().finally(() => {
      listening = null;
    });
    return listening;
  }

  async function connectAndListen(): Promise<void> {
    try {
      const client = await pool.connect();
      if (stopped) {
        client.release();
        return;
      }
      listener = client;
      // Released once: the connection's 'error' may come after stop() gave it back (the server
      // ends its connections when it shuts down), and a second release throws.
      let released = false;
      releaseListener = (error?: Error | boolean) => {
        if (released) return;
        released = true;
        if (listener === client) listener = null;
        client.release(error);
      };
      client.on('notification', (msg) => {
        for (const id of (msg.payload ?? '').split(',')) {
          const accountId = Number(id);
          if (Number.isInteger(accountId) && receiversOf(accountId).length > 0) wake(accountId);
        }
      });
      const releaseThis = releaseListener;
      client.on('error', (error) => {
        if (stopped) return releaseThis(error);
        logger.warn({ err: error }, 'SMPP outbox: LISTEN connection lost; polling until it is back');
        releaseThis(error);
      });
      await client.query('listen smpp_server_outbox');
    } catch (error) {
      logger.warn({ err: error }, 'SMPP outbox: LISTEN failed; polling');
      releaseListener(true);
    }
  }

  let lastCleanup = Date.now();
  const poll = setInterval(() => {
    void listen();
    for (const accountId of boundAccounts()) wake(accountId);
    if (Date.now() - lastCleanup > 3_600_000) {
      lastCleanup = Date.now();
      deleteDeliveredOutboxRows(pool, KEEP_DELIVERED_MS).catch((error: unknown) =>
        logger.warn({ err: error }, 'SMPP outbox: deleting delivered rows failed'),
      );
    }
  }, settings.pollMs);
  poll.unref();
  void listen();

  return {
    wake,
    async stop() {
      stopped = true;
      clearInterval(poll);
      await Promise.allSettled([...running.values()]);
      await listening;
      if (listener) {
        await listener.query('unlisten smpp_server_outbox').catch(() => {});
        releaseListener();
      }
    },
  };
}
