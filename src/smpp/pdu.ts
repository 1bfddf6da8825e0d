// The PDU codec's public face: types, encodePdu, decodePdu, and buildPdu for PDUs with defaults.

import { SMPP_VERSION_34 } from './constants.ts';
import { schemas } from './pdu-schema.ts';
import type { PduCommand, PduOf } from './pdu-types.ts';

export type { DecodeError, DecodeResult } from './pdu-decode.ts';
export { decodePdu } from './pdu-decode.ts';
export { encodePdu } from './pdu-encode.ts';
export type * from './pdu-types.ts';
export { responseCommandOf } from './pdu-types.ts';

/**
 * A PDU of the given command with every field the caller leaves out at its spec default: 0 for
 * integers, '' for strings, empty short_message and lists, interface_version 0x34 in binds.
 */
export function buildPdu<C extends PduCommand>(
  command: C,
  fields: Partial<Omit<PduOf<C>, 'command'>> = {},
): PduOf<C> {
  const pdu: Record<string, unknown> = { command, sequenceNumber: 0, commandStatus: 0 };
  for (const field of schemas[command]) {
    switch (field.kind) {
      case 'u8':
        pdu[field.key] = field.key === 'interfaceVersion' ? SMPP_VERSION_34 : 0;
        break;
      case 'cstr':
      case 'time':
        pdu[field.key] = '';
        break;
      case 'sm':
        pdu[field.key] = Buffer.alloc(0);
        break;
      case 'dests':
      case 'unsuccess':
        pdu[field.key] = [];
        break;
    }
  }
  pdu.tlvs = {};
  return Object.assign(pdu, fields) as unknown as PduOf<C>;
}
