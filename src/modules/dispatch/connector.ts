// A carrier channel: client binds (one transceiver, or a transmitter plus a receiver) kept up with
// reconnect and backoff, a send rate that adapts to the carrier's throttling, and a window of
// outstanding submit_sm per bind. It takes messages claimed by the dispatcher, submits every part,
// and reports one outcome per message to the recorder. It never awaits the database while
// holding a window slot, and never holds a transaction across network I/O.
import type { Logger } from 'pino';
import { backoffDelay } from '../../smpp/backoff.ts';
import { CommandStatus } from '../../smpp/constants.ts';
import { encodeMessage } from '../../smpp/segments.ts';
import { connectAndBind, type SmppSession } from '../../smpp/session.ts';
import type { IncomingRequest } from '../../smpp/session-types.ts';
import type { Channel } from '../channels/channels.repository.ts';
import { resultOfFailedSubmit, SendRate, throttleResubmitDelayMs } from './dispatch.models.ts';
import type { ClaimedMessage } from './dispatch.sql.ts';
import type { NodeFence } from './nodes.ts';
import type { Recorder } from './recorder.ts';
import { type PartOutcome, type PartToSubmit, submitPart } from './submit-part.ts';
import { composeSourceAddress } from '../compliance/signatures/signatures.models.ts';
import { metricsSubmitTimer } from '../metrics/metrics.registry.ts';

export interface ConnectorDeps {
  channel: Channel;
  recorder: Recorder;
  logger: Logger;
  /** Called for every deliver_sm; the promise settles once it is stored (then we acknowledge). */
  onDeliver: (channelId: number, pdu: IncomingRequest) => Promise<void>;
  /** Called when the connector wants more work: it just bound (and, without onRoom, a slot freed). */
  onReady: () => void;
  /** Called when a window slot freed and it has room for more than a window. */
  onRoom?: () => void;
  requestTimeoutMs?: number;
  now?: () => number;
  /** How often throttling is summarised in the log, at most. */
  throttleLogIntervalMs?: number;
  /**
   * A refusal with a code the operator marked channel-specific: true when the message should be
   * tried once on another channel instead of ending rejected (routing/health/reroutes.models.ts).
   */
  reroute?: (messageId: number, channelId: number, errorCode: string) => boolean;
  /**
   * This node's liveness (nodes.ts): nothing is submitted while it is not alive, and a message
   * claimed in an earlier epoch is dropped unsent (its claim was recovered).
   */
  fence?: NodeFence;
}

/** How often a connector held by its node's fence looks again. */
const FENCE_RECHECK_MS = 100;

/** What a channel has seen of its carrier's throttling, for the operator and the logs. */
export interface ThrottleStats {
  /** ESME_RTHROTTLED / ESME_RMSGQFUL answers since the channel started. */
  throttled: number;
  /** Times the send rate was lowered. */
  cuts: number;
  /** The send rate now, submits per second. */
  rateTps: number;
  /** Share of submits the carrier is taken to refuse at random, whatever our rate. */
  backgroundShare: number;
}

interface InFlight {
  message: ClaimedMessage;
  carrierIds: (string | undefined)[];
  duplicateRisk: boolean;
}

const PRIORITIES = 3;

export class ChannelConnector {
  readonly channelId: number;
  private tx: SmppSession | null = null;
  private rx: SmppSession | null = null;
  private readonly queues: ClaimedMessage[][] = Array.from({ length: PRIORITIES }, () => []);
  private queued = 0;
  private submitting = 0;
  private stopped = false;
  private attempt = 0;
  private pumpTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly rate: SendRate;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly windowSize: number;
  private throttleLoggedAt = 0;
  private throttleLogged = 0;
  /** The fence epoch whose messages the queues hold (dropEarlierEpochs). */
  private epochSeen = 0;

  constructor(private readonly deps: ConnectorDeps) {
    this.channelId = deps.channel.id;
    this.now = deps.now ?? Date.now;
    this.rate = new SendRate(deps.channel.max_tps, this.now());
    this.log = deps.logger.child({ channel: deps.channel.name });
    this.windowSize = deps.channel.window_size;
  }

  get name(): string {
    return this.deps.channel.name;
  }

  get isReady(): boolean {
    return !this.stopped && this.tx !== null;
  }

  /**
   * Messages this connector would take now: enough to keep its window full for a moment, and
   * none while the recorder is behind (results only in memory are lost in a crash and resent).
   */
  get demand(): number {
    if (!this.isReady || this.deps.recorder.backlogged || this.deps.fence?.alive === false) return 0;
    return Math.max(0, this.windowSize * 2 - this.queued - this.submitting);
  }

  get throttleStats(): ThrottleStats {
    return {
      throttled: this.rate.throttleEvents,
      cuts: this.rate.cuts,
      rateTps: Math.round(this.rate.currentTps),
      backgroundShare: Math.round(this.rate.backgroundShare * 1000) / 1000,
    };
  }

  get holding(): number {
    return this.queued + this.submitting;
  }

  /** Messages held past two windows (routing may give a channel more than its demand). */
  get overfill(): number {
    return Math.max(0, this.queued + this.submitting - this.windowSize * 2);
  }

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const c = this.deps.channel;
    const common = {
      host: c.host,
      port: c.port,
      systemId: c.system_id,
      password: c.password,
      systemType: c.system_type || undefined,
      windowSize: c.window_size,
      requestTimeoutMs: this.deps.requestTimeoutMs ?? 30_000,
      enquireLinkIntervalMs: 30_000,
      connectTimeoutMs: 10_000,
      // Receipts are acknowledged after their batch commits, so many are pending at once; a low
      // limit would stop the socket (and with it submit_sm_resp on a transceiver) while they wait.
      maxConcurrentHandlers: 5000,
      logger: this.log,
      handlers: { onRequest: (_s: SmppSession, pdu: IncomingRequest) => this.onIncoming(pdu) },
    };
    try {
      if (c.bind_mode === 'transmitter_receiver') {
        const [tx, rx] = await Promise.all([
          connectAndBind({ ...common, mode: 'transmitter' }),
          connectAndBind({ ...common, mode: 'receiver' }),
        ]);
        this.adopt(tx, rx);
      } else {
        const trx = await connectAndBind({ ...common, mode: 'transceiver' });
        this.adopt(trx, trx);
      }
    } catch (error) {
      this.scheduleReconnect(error);
    }
  }

  private adopt(tx: SmppSession, rx: SmppSession): void {
    if (this.stopped) {
      void tx.unbind().catch(() => {});
      if (rx !== tx) void rx.unbind().catch(() => {});
      return;
    }
    this.attempt = 0;
    this.tx = tx;
    this.rx = rx;
    this.log.info({ mode: this.deps.channel.bind_mode }, 'channel bound');
    const onClose = (info: { reason: string }) => {
      if (this.tx === null && this.rx === null) return;
      this.log.warn({ reason: info.reason }, 'channel connection lost');
      const other = this.tx === tx ? rx : tx;
      this.tx = null;
      this.rx = null;
      if (other !== tx) void other.unbind().catch(() => {});
      this.returnQueued('channel connection lost');
      this.scheduleReconnect(null);
    };
    tx.once('close', onClose);
    if (rx !== tx) rx.once('close', onClose);
    tx.on('slot', () => this.pump());
    this.deps.onReady();
    this.pump();
  }

  private scheduleReconnect(error: unknown): void {
    if (this.stopped) return;
    this.attempt++;
    const delay = backoffDelay(this.attempt, { baseMs: 500, maxMs: 30_000, jitter: 0.2 });
    this.log.warn(
      { err: error ?? undefined, attempt: this.attempt, delay },
      'channel not bound; reconnecting',
    );
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
  }

  private onIncoming(pdu: IncomingRequest) {
    if (pdu.command !== 'deliver_sm' && pdu.command !== 'data_sm') return CommandStatus.ESME_RINVCMDID;
    // Acknowledge only once stored: a receipt we acknowledged and then lost would leave its
    // message without a final state.
    return this.deps.onDeliver(this.channelId, pdu).then(
      () => undefined,
      (error: unknown) => {
        this.log.error({ err: error }, 'could not store a deliver_sm; asking the carrier to resend');
        return CommandStatus.ESME_RSYSERR;
      },
    );
  }

  /**
   * Takes claimed messages; lower priority values go out first. A connector that stopped (or
   * lost its bind) since the dispatcher chose it hands them straight back to the queue: kept, they
   * would sit in `sending` until a restart.
   */
  enqueue(messages: ClaimedMessage[]): void {
    if (!this.isReady) {
      for (const m of messages) this.handBack(m, this.stopped ? 'channel stopped' : 'channel not bound');
      return;
    }
    for (const m of messages) {
      this.queues[Math.min(PRIORITIES - 1, Math.max(0, m.priority))]!.push(m);
      this.queued++;
    }
    this.pump();
  }

  private next(): ClaimedMessage | undefined {
    for (const q of this.queues) {
      if (q.length > 0) {
        this.queued--;
        return q.shift();
      }
    }
    return undefined;
  }

  /** A message this node may no longer send: claimed before a lapse, or the node is not alive. */
  private fenced(message: ClaimedMessage): boolean {
    const fence = this.deps.fence;
    return fence !== undefined && (!fence.alive || message.epoch !== fence.epoch);
  }

  /** Forgets the queued messages of an earlier epoch: their claims were recovered (nodes.ts). */
  private dropEarlierEpochs(epoch: number): void {
    if (epoch === this.epochSeen) return;
    this.epochSeen = epoch;
    let dropped = 0;
    for (let p = 0; p < this.queues.length; p++) {
      const keep = this.queues[p]!.filter((m) => m.epoch === epoch);
      dropped += this.queues[p]!.length - keep.length;
      this.queues[p] = keep;
    }
    this.queued -= dropped;
    if (dropped > 0) this.log.warn({ messages: dropped }, 'claims of an earlier epoch dropped unsent');
  }

  private pumpLater(ms: number): void {
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = null;
      this.pump();
    }, ms);
  }

  private pump(): void {
    if (this.pumpTimer) return;
    const tx = this.tx;
    if (!tx || this.stopped) return;
    const fence = this.deps.fence;
    if (fence !== undefined) {
      this.dropEarlierEpochs(fence.epoch);
      if (!fence.alive) {
        if (this.queued > 0) this.pumpLater(FENCE_RECHECK_MS);
        return;
      }
    }
    while (this.queued > 0 && tx.windowFree > 0) {
      const now = this.now();
      if (!this.rate.tryTake(now)) {
        this.pumpLater(Math.max(1, this.rate.waitMs(now)));
        return;
      }
      const message = this.next()!;
      this.submitting++;
      void this.submit(tx, message).finally(() => {
        this.submitting--;
        if (this.demand > this.windowSize) (this.deps.onRoom ?? this.deps.onReady)();
        this.pump();
      });
    }
  }

  private async submit(tx: SmppSession, message: ClaimedMessage): Promise<void> {
    const c = this.deps.channel;
    const encoded = encodeMessage(message.content, message.id & 0xff);
    const flight: InFlight = { message, carrierIds: [], duplicateRisk: false };
    // A channel whose carrier refuses longer sender numbers gets no tenant extension.
    // Channel number + tenant code + signature code (compliance/signatures), so that a reply names
    // the tenant and the signature; the signature code is left out when the three exceed 20 digits.
    const sourceAddr =
      c.accepts_extension === false
        ? c.source_addr.slice(0, 20)
        : composeSourceAddress(c.source_addr, message.senderCode, message.signatureExtension ?? null);
    for (let i = 0; i < encoded.parts.length; i++) {
      // Parts after the first each take a token too; the first took its token in pump().
      if (i > 0) await this.waitForToken();
      // Nothing more of a message whose claim this node may have lost, and nothing written for
      // it: its node recovers it (nodes.ts), marked duplicate_risk if a part went out.
      if (this.fenced(message)) return;
      let outcome = await this.submitPart(tx, { sourceAddr, message, encoded, index: i });
      // Throttling is retried here, on this bind, at the rate the carrier allows: the message is
      // never failed for it, only expired if its deadline passes meanwhile.
      for (let tries = 0; outcome.kind === 'throttled'; tries++) {
        if (this.stopped || this.tx !== tx || this.now() >= message.deadlineAt) break;
        await sleep(throttleResubmitDelayMs(tries));
        await this.waitForToken();
        if (this.fenced(message)) return;
        outcome = await this.submitPart(tx, { sourceAddr, message, encoded, index: i });
      }
      if (outcome.kind === 'ok') {
        flight.carrierIds[i] = outcome.messageId;
        continue;
      }
      this.finishWithError(flight, outcome);
      return;
    }
    this.deps.recorder.sent({
      id: message.id,
      channelId: this.channelId,
      sourceAddr,
      carrierIds: flight.carrierIds as string[],
      duplicateRisk: flight.duplicateRisk,
    });
  }

  private async waitForToken(): Promise<void> {
    for (;;) {
      const now = this.now();
      if (this.rate.tryTake(now)) return;
      await sleep(Math.max(1, this.rate.waitMs(now)));
    }
  }

  private submitPart(tx: SmppSession, part: PartToSubmit): Promise<PartOutcome> {
    const sentAt = this.now();
    const metricsTimer = metricsSubmitTimer(this.channelId, this.deps.channel.name);
    return submitPart(tx, part, (throttled) => this.answered(sentAt, throttled)).then(metricsTimer);
  }

  /** Feeds the send rate, and summarises throttling in the log every few seconds while it lasts. */
  private answered(sentAt: number, throttled: boolean): void {
    const now = this.now();
    this.rate.answered(now, throttled, sentAt);
    if (!throttled) return;
    const interval = this.deps.throttleLogIntervalMs ?? 5000;
    if (now - this.throttleLoggedAt < interval) return;
    const stats = this.throttleStats;
    this.log.warn(
      { ...stats, throttledSinceLast: stats.throttled - this.throttleLogged },
      'carrier is throttling this channel',
    );
    this.throttleLoggedAt = now;
    this.throttleLogged = stats.throttled;
  }

  private finishWithError(flight: InFlight, outcome: Exclude<PartOutcome, { kind: 'ok' }>): void {
    const next = resultOfFailedSubmit({
      message: flight.message,
      partsTaken: flight.carrierIds.length,
      outcome,
      nowMs: this.now(),
    });
    if (
      (next.kind === 'retry' || next.result.status === 'rejected') &&
      flight.carrierIds.length === 0 &&
      this.deps.reroute?.(flight.message.id, this.channelId, next.result.errorCode) === true
    ) {
      // Not this channel's to carry: back to the queue now, and routing avoids this channel.
      this.deps.recorder.retry({
        id: flight.message.id,
        delayMs: 0,
        errorCode: next.result.errorCode,
        errorDetail: `${next.result.errorDetail} (channel-specific: tried once on another channel)`,
        duplicateRisk: false,
        notAttempted: false,
      });
      return;
    }
    if (next.kind === 'fail') this.deps.recorder.fail(next.result);
    else this.deps.recorder.retry(next.result);
  }

  /** A claimed message this connector will not submit goes back to the queue, due now. */
  private handBack(m: ClaimedMessage, reason: string): void {
    this.deps.recorder.retry({
      id: m.id,
      delayMs: 0,
      errorCode: 'channel.unavailable',
      errorDetail: reason,
      duplicateRisk: false,
      notAttempted: true,
    });
  }

  /** Messages claimed but not yet submitted go back to the queue, due now, with no duplicate risk. */
  private returnQueued(reason: string): number {
    // Not those of an earlier epoch: their node recovered them, and a hand-back could land on a
    // new claim of the same message.
    if (this.deps.fence !== undefined) this.dropEarlierEpochs(this.deps.fence.epoch);
    let n = 0;
    for (;;) {
      const m = this.next();
      if (!m) break;
      this.handBack(m, reason);
      n++;
    }
    return n;
  }

  /**
   * Hands back the messages routed here and not yet submitted (the channel was degraded: routing
   * should choose again for them); those being submitted finish here. Returns how many.
   */
  returnUnsubmitted(reason: string): number {
    return this.returnQueued(reason);
  }

  /** Stops taking work, lets submissions in flight finish (up to `graceMs`), then unbinds. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.returnQueued('shutting down');
    const deadline = this.now() + graceMs;
    while (this.submitting > 0 && this.now() < deadline) await sleep(20);
    const tx = this.tx;
    const rx = this.rx;
    this.tx = null;
    this.rx = null;
    await Promise.all([
      tx?.unbind().catch(() => {}),
      rx && rx !== tx ? rx.unbind().catch(() => {}) : undefined,
    ]);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
