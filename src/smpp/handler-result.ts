// Turning what a handler returned (sync or async, value or failure) into a response PDU.

import { CommandStatus } from './constants.ts';
import { UnexpectedResponseError } from './errors.ts';
import { buildPdu } from './pdu.ts';
import type { Pdu, ResponseCommand } from './pdu-types.ts';
import type { HandlerResult } from './session-types.ts';

/**
 * Runs fn and hands its result or failure to done: synchronously when fn returns a plain value, so
 * that a synchronous handler (the simulator's) costs no promise per PDU.
 */
export function settle<T>(
  fn: () => T | Promise<T>,
  done: (value: T | undefined, error?: unknown) => void,
): void {
  let value: T | Promise<T>;
  try {
    value = fn();
  } catch (error) {
    done(undefined, error ?? new Error('handler threw'));
    return;
  }
  if (value instanceof Promise) {
    value.then(
      (v) => done(v),
      (error: unknown) => done(undefined, error ?? new Error('handler rejected')),
    );
  } else {
    done(value);
  }
}

/** The response for a handler's result, or an error when the handler answered the wrong command. */
export function responseFor(
  respCommand: ResponseCommand,
  sequenceNumber: number,
  result: HandlerResult,
): Pdu | UnexpectedResponseError {
  if (result === undefined || typeof result === 'number') {
    return buildPdu(respCommand, { sequenceNumber, commandStatus: result ?? CommandStatus.ESME_ROK });
  }
  if (result.command !== respCommand) return new UnexpectedResponseError(respCommand, result.command);
  return buildPdu(respCommand, { ...(result as object), sequenceNumber });
}
