// Options, handler and event types of SmppSession, kept apart so that the session file holds logic.

import type {
  AlertNotification,
  BindRequestPdu,
  CancelSm,
  DataSm,
  DeliverSm,
  Outbind,
  Pdu,
  PduInit,
  QuerySm,
  ReplaceSm,
  ResponsePdu,
  SubmitMulti,
  SubmitSm,
} from './pdu-types.ts';
import type { SmppSession } from './session-core.ts';
import type { BindMode, SessionRole } from './session-rules.ts';

/** The subset of pino's API the stack logs through; pino loggers fit as they are. */
export interface SmppLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const noopLogger: SmppLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Requests other than bind, unbind and enquire_link, which the session answers itself. */
export type IncomingRequest =
  SubmitSm | SubmitMulti | DeliverSm | DataSm | QuerySm | CancelSm | ReplaceSm | AlertNotification;

/**
 * What a request handler answers: a command_status (the response gets default fields), or the
 * response itself without its sequence number (e.g. `{ command: 'submit_sm_resp', messageId }`).
 * `undefined` means ESME_ROK. The result for alert_notification, which has no response, is ignored.
 */
export type HandlerResult = number | PduInit<ResponsePdu> | undefined;

export type RequestHandler = (
  session: SmppSession,
  pdu: IncomingRequest,
) => HandlerResult | Promise<HandlerResult>;

/** An SMSC's answer to a bind: status 0 accepts; systemId is ours, sent in the bind_resp. */
export interface BindDecision {
  status: number;
  systemId?: string;
}

export type BindHandler = (session: SmppSession, pdu: BindRequestPdu) => BindDecision | Promise<BindDecision>;

export interface SessionHandlers {
  /** SMSC side: decides on each bind request. Without it, every bind is refused (ESME_RBINDFAIL). */
  onBind?: BindHandler;
  /** Incoming submit_sm/deliver_sm/data_sm/query_sm/... allowed in the current state. */
  onRequest?: RequestHandler;
  /** ESME side: the SMSC asks us to bind (section 2.2.1); usually answered with bind_receiver. */
  onOutbind?: (session: SmppSession, pdu: Outbind) => void;
}

export interface SessionOptions {
  role: SessionRole;
  /** Outstanding requests at most; further requests wait in FIFO order. Default 10. */
  windowSize?: number;
  /** Per-request response timeout; it may fire up to 100 ms late. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Send enquire_link after this long with nothing received; 0 disables. Default 30 000 ms. */
  enquireLinkIntervalMs?: number;
  /** Close the session when nothing at all arrives for this long; 0 disables. Default 3 × interval. */
  livenessTimeoutMs?: number;
  /** How long unbind() waits for outstanding responses, then for unbind_resp. Default 5 000 ms. */
  unbindTimeoutMs?: number;
  /** SMSC side: close a connection that has not bound after this long; 0 disables. Default 30 000 ms. */
  bindTimeoutMs?: number;
  /** PDUs longer than this cannot be framed and close the session. Default 65 536. */
  maxPduLength?: number;
  /** Incoming requests handled at once; past it the socket stops reading. Default 64. */
  maxConcurrentHandlers?: number;
  /** Stop reading while more than this many octets wait to be written. Default 1 MiB. */
  maxWriteBufferBytes?: number;
  logger?: SmppLogger;
  handlers?: SessionHandlers;
}

export interface CloseInfo {
  reason: string;
  error?: Error;
}

export interface BoundInfo {
  mode: BindMode;
  /** The peer's system_id: the ESME's on the SMSC side, the SMSC's (from bind_resp) on the ESME side. */
  systemId: string;
}

export interface SessionEvents {
  bound: [info: BoundInfo];
  close: [info: CloseInfo];
  /** Reported problems (also logged); the session carries on or closes on its own. */
  error: [error: Error];
  /** Every PDU decoded from or written to the socket, for logging hooks. */
  pdu: [pdu: Pdu, direction: 'in' | 'out'];
  /** A window slot became free. */
  slot: [];
  outbind: [pdu: Outbind];
}

export interface RequestOptions {
  /** Overrides the session's requestTimeoutMs for this request. */
  timeoutMs?: number;
}

export interface BindParams {
  mode: BindMode;
  systemId: string;
  password: string;
  systemType?: string;
  interfaceVersion?: number;
  addrTon?: number;
  addrNpi?: number;
  addressRange?: string;
}

export type SessionSettings = Required<Omit<SessionOptions, 'role' | 'logger' | 'handlers'>>;

/** The options with their defaults filled in. */
export function sessionSettings(options: SessionOptions): SessionSettings {
  const enquireLinkIntervalMs = options.enquireLinkIntervalMs ?? 30_000;
  return {
    windowSize: options.windowSize ?? 10,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    enquireLinkIntervalMs,
    livenessTimeoutMs: options.livenessTimeoutMs ?? enquireLinkIntervalMs * 3,
    unbindTimeoutMs: options.unbindTimeoutMs ?? 5_000,
    bindTimeoutMs: options.bindTimeoutMs ?? 30_000,
    maxPduLength: options.maxPduLength ?? 65_536,
    maxConcurrentHandlers: options.maxConcurrentHandlers ?? 64,
    maxWriteBufferBytes: options.maxWriteBufferBytes ?? 1024 * 1024,
  };
}
