// The plumbing of an SMPP connection: socket, framer and codec, the request window
// (request-window.ts), batched writes (outbox.ts), incoming frames with a concurrency cap
// (inbound.ts), liveness (liveness.ts) and closing. The protocol on top - binds, unbind, and
// dispatch of incoming requests - is SmppSession in session-core.ts.
// Never stops reading because of a bad PDU: only an unframeable command_length closes the session.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { CommandStatus, commandNameOf, statusName } from './constants.ts';
import { InvalidStateError, RequestTimeoutError, SessionClosedError, SmppError } from './errors.ts';
import type { FramingError } from './framer.ts';
import { PduFramer } from './framer.ts';
import { InboundQueue } from './inbound.ts';
import { LivenessMonitor } from './liveness.ts';
import { Outbox } from './outbox.ts';
import type { DecodeResult } from './pdu.ts';
import { buildPdu, decodePdu, encodePdu } from './pdu.ts';
import { encodeWithSequence } from './pdu-encode.ts';
import type {
  BindRequestPdu,
  GenericNack,
  Pdu,
  PduInit,
  PduOf,
  RequestCommand,
  RequestPdu,
  ResponseCommand,
  ResponseMap,
  ResponsePdu,
} from './pdu-types.ts';
import { responseCommandOf } from './pdu-types.ts';
import { RequestWindow } from './request-window.ts';
import type { BindMode, SessionRole, SessionState } from './session-rules.ts';
import { boundStateOf, isBound, maySend } from './session-rules.ts';
import type {
  CloseInfo,
  RequestOptions,
  SessionEvents,
  SessionHandlers,
  SessionOptions,
  SessionSettings,
  SmppLogger,
} from './session-types.ts';
import { noopLogger, sessionSettings } from './session-types.ts';

/** Requests that go through `request()`; binds and unbind have their own methods. */
export type WindowedCommand = Exclude<RequestCommand, BindRequestPdu['command'] | 'unbind'>;

export abstract class SessionBase extends EventEmitter<SessionEvents> {
  readonly role: SessionRole;
  readonly socket: Socket;
  /** Resolves (never rejects) once the session has closed, with the reason. */
  readonly closed: Promise<CloseInfo>;
  protected readonly settings: SessionSettings;
  protected readonly log: SmppLogger;
  protected readonly handlers: SessionHandlers;
  private readonly framer: PduFramer;
  private readonly outbox: Outbox;
  protected readonly window: RequestWindow;
  protected readonly inbound: InboundQueue;
  private readonly liveness: LivenessMonitor;
  protected currentState: SessionState = 'OPEN';
  protected closeReason = '';
  protected peerSystemId = '';
  protected boundMode: BindMode | undefined;
  private bindTimer: NodeJS.Timeout | undefined;
  private unbindAcknowledged = false;
  private resolveClosed: (info: CloseInfo) => void = () => {};

  constructor(socket: Socket, options: SessionOptions) {
    super();
    this.role = options.role;
    this.socket = socket;
    const settings = sessionSettings(options);
    this.settings = settings;
    this.log = options.logger ?? noopLogger;
    this.handlers = options.handlers ?? {};
    this.framer = new PduFramer({ maxPduLength: settings.maxPduLength });
    this.outbox = new Outbox(socket);
    this.window = new RequestWindow(settings.windowSize, {
      check: (command) =>
        maySend(this.role, this.currentState, command)
          ? undefined
          : new InvalidStateError(command, this.currentState),
      write: (init, sequenceNumber) => this.writeNumbered(init, sequenceNumber),
      writable: () => this.outbox.writable,
      onSlotFree: () => this.notifySlots(),
    });
    this.inbound = new InboundQueue(socket, {
      maxConcurrentHandlers: settings.maxConcurrentHandlers,
      process: (frame) => this.onFrame(frame),
      writeBacklogged: () => this.outbox.pendingBytes > settings.maxWriteBufferBytes,
      onError: (error) => this.reportError(error, 'failed to process an incoming PDU'),
    });
    this.liveness = new LivenessMonitor({
      enquireLinkIntervalMs: settings.enquireLinkIntervalMs,
      livenessTimeoutMs: settings.livenessTimeoutMs,
      // Any answer, even generic_nack, proves the peer alive; only silence is death.
      probe: () =>
        this.window.sendNow(buildPdu('enquire_link'), settings.requestTimeoutMs).catch((error: unknown) => {
          if (error instanceof RequestTimeoutError) throw error;
        }),
      onDead: (reason) => this.close(reason),
    });
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    // Writes are batched per event-loop turn (outbox.ts), so Nagle would only add latency.
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.outbox.drained();
      this.window.pump();
      this.notifySlots();
      this.inbound.updateReading();
    });
    // After our unbind, the peer hanging up right behind its unbind_resp may be seen before that
    // resp's promise continues; the session then ended as intended.
    const endReason = (fallback: string) => (this.unbindAcknowledged ? 'unbound' : fallback);
    socket.on('end', () => this.shutdown(endReason('connection closed by peer')));
    socket.on('close', () => this.shutdown(endReason('connection closed')));
    socket.on('error', (error) => {
      this.reportError(error, 'socket error');
      this.shutdown(`socket error: ${error.message}`, error);
    });
    if (this.role === 'smsc' && settings.bindTimeoutMs > 0) {
      this.bindTimer = setTimeout(() => {
        if (this.currentState === 'OPEN') this.end(`no bind within ${settings.bindTimeoutMs} ms`);
      }, settings.bindTimeoutMs);
      this.bindTimer.unref();
    }
  }

  get state(): SessionState {
    return this.currentState;
  }
  /** The peer's system_id once bound. */
  get systemId(): string {
    return this.peerSystemId;
  }
  get mode(): BindMode | undefined {
    return this.boundMode;
  }
  get windowSize(): number {
    return this.settings.windowSize;
  }
  /** Requests sent and awaiting their response (enquire_link probes, bind and unbind not counted). */
  get inFlight(): number {
    return this.window.inFlight;
  }
  /** Requests waiting for a window slot or for the socket to drain. */
  get queued(): number {
    return this.window.queued;
  }
  /** How many requests can be sent right now without queueing. */
  get windowFree(): number {
    return isBound(this.currentState) ? this.window.free : 0;
  }

  /** Resolves when windowFree > 0, for dispatchers that fill the window without awaiting responses. */
  waitForSlot(): Promise<void> {
    if (this.currentState === 'CLOSED') return Promise.reject(new SessionClosedError(this.closeReason));
    if (this.windowFree > 0) return Promise.resolve();
    return this.window.waitForSlot();
  }

  /**
   * Sends a request and resolves with its response, whatever its command_status. Rejects on
   * timeout (RequestTimeoutError), generic_nack (GenericNackError), close (SessionClosedError),
   * a state that does not allow the request (InvalidStateError) or an invalid PDU (PduEncodeError).
   */
  request<C extends WindowedCommand>(
    init: PduInit<PduOf<C>> & { command: C },
    options: RequestOptions = {},
  ): Promise<ResponseMap[C]> {
    const command: RequestCommand = init.command;
    if (this.currentState === 'CLOSED') return Promise.reject(new SessionClosedError(this.closeReason));
    // Typed out already; this guards plain-JS callers, as binds and unbind change the state.
    const name: string = command;
    if (name.startsWith('bind_') || name === 'unbind') {
      return Promise.reject(new SmppError('smpp.invalid_request', `use bind()/unbind() to send ${name}`));
    }
    if (!maySend(this.role, this.currentState, command)) {
      return Promise.reject(new InvalidStateError(command, this.currentState));
    }
    const timeoutMs = options.timeoutMs ?? this.settings.requestTimeoutMs;
    return this.window.enqueue(init as PduInit<RequestPdu>, timeoutMs) as Promise<ResponseMap[C]>;
  }

  /** SMSC side: sends a PDU that has no response, outbind or alert_notification. */
  send(init: PduInit<PduOf<'outbind' | 'alert_notification'>>): void {
    if (!maySend(this.role, this.currentState, init.command)) {
      throw new InvalidStateError(init.command, this.currentState);
    }
    this.writeNumbered({ ...init, commandStatus: 0 }, this.window.sequence());
  }

  /** Closes at once: pending requests fail with SessionClosedError. */
  close(reason = 'closed'): void {
    this.outbox.flush();
    this.socket.destroy();
    this.shutdown(reason);
  }

  // ---- writing ------------------------------------------------------------------------------

  private notifySlots(): void {
    const free = this.window.wakeSlotWaiters(this.windowFree);
    if (free > 0 && this.listenerCount('slot') > 0) this.emit('slot');
  }

  private write(buf: Buffer, pdu: Pdu): void {
    if (this.listenerCount('pdu') > 0) this.emit('pdu', pdu, 'out');
    this.outbox.write(buf);
  }

  /** Writes a PDU of ours under a new sequence number, encoding it as it is rather than a copy. */
  private writeNumbered(init: PduInit, sequenceNumber: number): void {
    const buf = encodeWithSequence(init, sequenceNumber);
    if (this.listenerCount('pdu') > 0) {
      // Only 'pdu' listeners pay for a copy that carries the header's numbers.
      const commandStatus = init.commandStatus ?? 0;
      const pdu = { ...init, sequenceNumber, commandStatus, tlvs: init.tlvs ?? {} } as Pdu;
      this.emit('pdu', pdu, 'out');
    }
    // Our own requests leave before any other callback runs (outbox.ts, writeSoon).
    this.outbox.writeSoon(buf);
  }

  /** Sends a response; one our own handler got wrong goes out as ESME_RSYSERR instead. */
  protected respond(pdu: Pdu): void {
    let buf: Buffer;
    try {
      buf = encodePdu(pdu);
    } catch (error) {
      this.reportError(error, `invalid ${pdu.command} from handler; answering ESME_RSYSERR`);
      pdu = buildPdu(pdu.command, {
        sequenceNumber: pdu.sequenceNumber,
        commandStatus: CommandStatus.ESME_RSYSERR,
      });
      buf = encodePdu(pdu);
    }
    this.write(buf, pdu);
  }

  protected respondStatus(
    command: ResponseCommand | 'generic_nack',
    sequenceNumber: number,
    status: number,
  ): void {
    this.respond(buildPdu(command, { sequenceNumber, commandStatus: status }));
  }

  // ---- reading ------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    this.liveness.touch();
    const { frames, error } = this.framer.push(chunk);
    if (frames.length > 0) this.inbound.push(frames);
    if (error !== null) this.onFramingError(error);
  }

  private onFramingError(error: FramingError): void {
    this.log.warn({ commandLength: error.commandLength, commandId: error.commandId }, error.message);
    this.respondStatus('generic_nack', error.sequenceNumber ?? 0, CommandStatus.ESME_RINVCMDLEN);
    this.end(`framing error: ${error.message}`);
  }

  private onFrame(frame: Buffer): void {
    if (this.currentState === 'CLOSED') return;
    const result = decodePdu(frame);
    if (!result.ok) {
      this.onUndecodable(result);
      return;
    }
    const pdu = result.pdu;
    if (this.listenerCount('pdu') > 0) this.emit('pdu', pdu, 'in');
    if (pdu.command === 'generic_nack' || pdu.command.endsWith('_resp')) {
      if (pdu.command === 'unbind_resp' && this.currentState === 'UNBOUND') this.unbindAcknowledged = true;
      this.beforeResponseSettles(pdu as ResponsePdu | GenericNack);
      if (!this.window.settle(pdu as ResponsePdu | GenericNack)) {
        const status = statusName(pdu.commandStatus);
        const seq = pdu.sequenceNumber;
        this.log.warn(
          { command: pdu.command, sequenceNumber: seq, status },
          'response to no pending request; dropped',
        );
      }
    } else {
      this.onRequest(pdu as Exclude<Pdu, ResponsePdu | GenericNack>);
    }
  }

  /** A framed PDU we cannot read: nack it (or answer the request with the error) and read on. */
  private onUndecodable(result: Extract<DecodeResult, { ok: false }>): void {
    const { error, commandId, sequenceNumber = 0 } = result;
    const name = commandId === undefined ? undefined : commandNameOf(commandId);
    const status = statusName(error.code);
    this.log.warn(
      { status, command: name ?? commandId, sequenceNumber },
      `undecodable PDU: ${error.message}`,
    );
    if (name !== undefined && Object.hasOwn(responseCommandOf, name)) {
      this.respondStatus(responseCommandOf[name as RequestCommand], sequenceNumber, error.code);
    } else {
      this.respondStatus('generic_nack', sequenceNumber, error.code);
    }
  }

  /**
   * Runs synchronously as a response arrives, before its request's promise settles: state that
   * the very next PDU in the same read depends on (a bind) must change here, not after an await.
   */
  protected beforeResponseSettles(_pdu: ResponsePdu | GenericNack): void {}

  /** A request PDU arrived (decoded; responses are matched by the window). */
  protected abstract onRequest(pdu: Exclude<Pdu, ResponsePdu | GenericNack>): void;

  // ---- state and closing --------------------------------------------------------------------

  protected becomeBound(mode: BindMode, systemId: string): void {
    this.currentState = boundStateOf[mode];
    this.boundMode = mode;
    this.peerSystemId = systemId;
    clearTimeout(this.bindTimer);
    this.liveness.start();
    this.log.info({ mode, systemId, role: this.role }, 'SMPP session bound');
    this.emit('bound', { mode, systemId });
    this.notifySlots();
  }

  /** Flushes what is written, ends the connection, and fails whatever is pending. */
  protected end(reason: string): void {
    this.outbox.flush();
    this.socket.end();
    // A peer that never closes its side must not keep the socket open for ever.
    setTimeout(() => this.socket.destroy(), 2_000).unref();
    this.shutdown(reason);
  }

  private shutdown(reason: string, error?: Error): void {
    if (this.currentState === 'CLOSED') return;
    this.currentState = 'CLOSED';
    this.closeReason = reason;
    this.liveness.stop();
    clearTimeout(this.bindTimer);
    this.inbound.stop();
    this.window.failAll(new SessionClosedError(reason));
    const info: CloseInfo = error === undefined ? { reason } : { reason, error };
    this.log.info({ reason, systemId: this.peerSystemId, role: this.role }, 'SMPP session closed');
    this.resolveClosed(info);
    this.emit('close', info);
  }

  protected reportError(error: unknown, message: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.log.error({ err }, message);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
