// The carrier simulator: a real SMPP 3.4 server (src/smpp) that plays a carrier per profile
// (carrier.ts), started alone by `hongyan simulator` or inside `hongyan start`.

import type { Logger } from 'pino';
import type { DataSm, SubmitSm } from '../../smpp/pdu-types.ts';
import { createSmppServer } from '../../smpp/session.ts';
import { type CarrierCounts, createCarrier } from './carrier.ts';
import { FileJournal } from './journal.ts';
import type { SimulatorProfile } from './simulator.models.ts';
import { profileMap } from './simulator.models.ts';

export interface SimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  logger: Logger;
  /** Extra profiles (e.g. from a JSON file); one named like a built-in replaces it. */
  profiles?: readonly SimulatorProfile[];
  /** A profile name used for every bind, whatever its system_id and system_type. */
  forceProfile?: string;
  random?: () => number;
  now?: () => number;
  /**
   * deliver_sm in flight per session. Default 64, our SMPP stack's default maxConcurrentHandlers:
   * a client that acknowledges receipts only after committing them holds one handler per receipt,
   * and past its cap it stops reading, so the submit_sm_resp queued behind our extra deliver_sm
   * would wait too. More than the client's cap buys no receipt throughput.
   */
  windowSize?: number;
  /** How long a deliver_sm waits for its response before it is retried. Default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Receipts and replies kept per system_id while none of its sessions can take them. */
  maxStoredPerSystem?: number;
  /** Wait before resending a failed deliver_sm, by attempt; default 1 s doubling to 1 min. */
  retryDelayMs?: (attempts: number) => number;
  /** Observes every accepted submit_sm/data_sm (for tests: what reached the carrier). */
  onAccepted?: (submit: SubmitSm | DataSm, systemId: string) => void;
  /**
   * A folder that keeps the receipts and replies owed to clients (and how far sequential ids went)
   * across restarts, even after kill -9 (journal.ts). Unset: they live in memory only.
   */
  stateDir?: string | undefined;
  /** How often the state file's buffered acknowledgements are written and synced. Default 200 ms. */
  stateFlushIntervalMs?: number;
}

/** The carrier's counts (binds accepted since start, submits and their outcomes) and deliveries. */
export interface SimulatorStats extends CarrierCounts {
  /** Sessions bound now. */
  sessions: number;
  receiptsSent: number;
  repliesSent: number;
  /** Receipts and replies not yet acknowledged by a client: scheduled, stored or in flight. */
  pendingReceipts: number;
  deliverRetries: number;
  /** Receipts and replies dropped because a system_id's store was full. */
  droppedReceipts: number;
  /** Receipts and replies read from the state folder at start, owed by the previous run. */
  restoredReceipts: number;
}

export interface RunningSimulator {
  host: string;
  port: number;
  /** Names of the profiles a bind can choose. */
  profiles: string[];
  stats(): SimulatorStats;
  /** Unbinds every session, stops listening; pending receipts are lost unless kept in stateDir. */
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const { host = '127.0.0.1', port = 2775, logger, random = Math.random, now = Date.now } = options;
  const log = logger.child({ component: 'simulator' });
  const profiles = profileMap(options.profiles);
  if (options.forceProfile !== undefined && !profiles.has(options.forceProfile)) {
    throw new Error(
      `unknown simulator profile "${options.forceProfile}" (profiles: ${[...profiles.keys()].join(', ')})`,
    );
  }
  const journal =
    options.stateDir === undefined
      ? undefined
      : new FileJournal({
          dir: options.stateDir,
          log,
          ...(options.stateFlushIntervalMs === undefined
            ? {}
            : { flushIntervalMs: options.stateFlushIntervalMs }),
        });
  const restored = journal?.takeRestored() ?? [];
  const restoredReceipts = restored.length;
  if (journal !== undefined) {
    log.info({ stateDir: options.stateDir, restoredReceipts }, 'simulator state loaded');
  }
  const carrier = createCarrier({
    profiles,
    forceProfile: options.forceProfile,
    random,
    now,
    log,
    maxStoredPerSystem: options.maxStoredPerSystem ?? 1_000_000,
    retryDelayMs: options.retryDelayMs,
    onAccepted: options.onAccepted,
    journal,
    restored,
  });

  const server = createSmppServer({
    onBind: carrier.onBind,
    onRequest: carrier.onRequest,
    onSession: carrier.onSession,
    logger: log,
    sessionOptions: {
      windowSize: options.windowSize ?? 64,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      // Unanswered submits (noResponseRate) hold a handler until the session closes; the real
      // limit on a client is its own window, so this cap must not be what stops reading.
      maxConcurrentHandlers: 100_000,
    },
  });
  let address: { port: number };
  try {
    address = await server.listen(port, host);
  } catch (error) {
    carrier.close();
    journal?.close();
    throw error;
  }
  log.debug({ host, port: address.port }, 'simulator listening');

  return {
    host,
    port: address.port,
    profiles: [...profiles.keys()],
    stats() {
      const d = carrier.deliveries();
      return {
        ...carrier.counts(),
        receiptsSent: d.receiptsSent,
        repliesSent: d.repliesSent,
        pendingReceipts: d.pending,
        deliverRetries: d.retries,
        droppedReceipts: d.dropped,
        restoredReceipts,
      };
    },
    async close() {
      carrier.close();
      await server.close();
      // After the sessions: an acknowledgement that arrived while they closed is still written.
      journal?.close();
    },
  };
}
