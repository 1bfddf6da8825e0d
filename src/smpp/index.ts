// The SMPP 3.4 stack's public API: codec, framer, sessions (client, server), receipts, backoff.
// Text encoding (gsm7, ucs2, segments) lives beside it in its own modules.

export type { BackoffOptions } from './backoff.ts';
export { backoffDelay } from './backoff.ts';
export * from './constants.ts';
export * from './errors.ts';
export type { FramerOutput, FramingError } from './framer.ts';
export { DEFAULT_MAX_PDU_LENGTH, PduFramer } from './framer.ts';
export * from './pdu.ts';
export * from './receipt.ts';
export * from './session.ts';
export { mayReceive, maySend } from './session-rules.ts';
