// Typed errors of the SMPP stack. Each has a stable dotted `code` for logs and metrics, and the
// SMPP command_status where one is involved, so that callers branch on fields, not on messages.

import { statusName } from './constants.ts';

export class SmppError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Our own code built an invalid PDU (a field out of range, a string too long). */
export class PduEncodeError extends SmppError {
  constructor(message: string) {
    super('smpp.encode', message);
  }
}

/** The session closed (or was never open) before the request got its response. */
export class SessionClosedError extends SmppError {
  readonly reason: string;
  constructor(reason: string) {
    super('smpp.session_closed', `SMPP session closed: ${reason}`);
    this.reason = reason;
  }
}

/** No response arrived within the request timeout; the request's window slot is free again. */
export class RequestTimeoutError extends SmppError {
  readonly command: string;
  readonly sequenceNumber: number;
  readonly timeoutMs: number;
  constructor(command: string, sequenceNumber: number, timeoutMs: number) {
    super('smpp.request_timeout', `${command} seq ${sequenceNumber}: no response within ${timeoutMs} ms`);
    this.command = command;
    this.sequenceNumber = sequenceNumber;
    this.timeoutMs = timeoutMs;
  }
}

/** The peer answered the request with generic_nack. */
export class GenericNackError extends SmppError {
  readonly status: number;
  readonly sequenceNumber: number;
  constructor(command: string, sequenceNumber: number, status: number) {
    super('smpp.generic_nack', `${command} seq ${sequenceNumber}: generic_nack ${statusName(status)}`);
    this.status = status;
    this.sequenceNumber = sequenceNumber;
  }
}

/** The peer rejected our bind (status != 0), or the bind could not be sent. */
export class BindError extends SmppError {
  readonly status: number;
  constructor(status: number, message?: string, options?: { cause?: unknown }) {
    super('smpp.bind_failed', message ?? `bind rejected: ${statusName(status)}`, options);
    this.status = status;
  }
}

/** The request is not allowed in the session's current bind state. */
export class InvalidStateError extends SmppError {
  readonly state: string;
  readonly command: string;
  constructor(command: string, state: string) {
    super('smpp.invalid_state', `${command} is not allowed in state ${state}`);
    this.state = state;
    this.command = command;
  }
}

/** A response arrived for our sequence number but with another command than expected. */
export class UnexpectedResponseError extends SmppError {
  readonly command: string;
  constructor(expected: string, got: string) {
    super('smpp.unexpected_response', `expected ${expected}, got ${got}`);
    this.command = got;
  }
}

/** TCP connect failed or timed out. */
export class ConnectError extends SmppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('smpp.connect_failed', message, options);
  }
}
