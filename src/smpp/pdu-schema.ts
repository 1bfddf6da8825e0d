// The mandatory body of every PDU as a list of fields, read by both the encoder and the decoder so
// that the two cannot drift apart. `max` is the spec's maximum size of a C-Octet string including
// its NUL (section 4); the decoder accepts longer strings, the encoder refuses them.

import type { PduCommand } from './pdu-types.ts';

export type Field =
  | { kind: 'u8'; key: string }
  | { kind: 'cstr'; key: string; max: number }
  /** A C-Octet string that is either empty or exactly 16 characters (section 7.1). */
  | { kind: 'time'; key: string }
  /** sm_length followed by short_message. */
  | { kind: 'sm'; key: string }
  /** number_of_dests followed by dest_address entries (submit_multi). */
  | { kind: 'dests'; key: string }
  /** no_unsuccess followed by unsuccess_sme entries (submit_multi_resp). */
  | { kind: 'unsuccess'; key: string };

const u8 = (key: string): Field => ({ kind: 'u8', key });
const cstr = (key: string, max: number): Field => ({ kind: 'cstr', key, max });
const time = (key: string): Field => ({ kind: 'time', key });

const bind: readonly Field[] = [
  cstr('systemId', 16),
  cstr('password', 9),
  cstr('systemType', 13),
  u8('interfaceVersion'),
  u8('addrTon'),
  u8('addrNpi'),
  cstr('addressRange', 41),
];

const bindResp: readonly Field[] = [cstr('systemId', 16)];

const shortMessage: readonly Field[] = [
  cstr('serviceType', 6),
  u8('sourceAddrTon'),
  u8('sourceAddrNpi'),
  cstr('sourceAddr', 21),
  u8('destAddrTon'),
  u8('destAddrNpi'),
  cstr('destinationAddr', 21),
  u8('esmClass'),
  u8('protocolId'),
  u8('priorityFlag'),
  time('scheduleDeliveryTime'),
  time('validityPeriod'),
  u8('registeredDelivery'),
  u8('replaceIfPresentFlag'),
  u8('dataCoding'),
  u8('smDefaultMsgId'),
  { kind: 'sm', key: 'shortMessage' },
];

const messageIdOnly: readonly Field[] = [cstr('messageId', 65)];

export const schemas: { readonly [C in PduCommand]: readonly Field[] } = {
  bind_transmitter: bind,
  bind_receiver: bind,
  bind_transceiver: bind,
  bind_transmitter_resp: bindResp,
  bind_receiver_resp: bindResp,
  bind_transceiver_resp: bindResp,
  outbind: [cstr('systemId', 16), cstr('password', 9)],
  unbind: [],
  unbind_resp: [],
  generic_nack: [],
  enquire_link: [],
  enquire_link_resp: [],
  submit_sm: shortMessage,
  deliver_sm: shortMessage,
  submit_sm_resp: messageIdOnly,
  // The spec says deliver_sm_resp's message_id is unused and NULL; it is kept in case a peer fills it.
  deliver_sm_resp: messageIdOnly,
  submit_multi: [
    cstr('serviceType', 6),
    u8('sourceAddrTon'),
    u8('sourceAddrNpi'),
    cstr('sourceAddr', 21),
    { kind: 'dests', key: 'destAddresses' },
    u8('esmClass'),
    u8('protocolId'),
    u8('priorityFlag'),
    time('scheduleDeliveryTime'),
    time('validityPeriod'),
    u8('registeredDelivery'),
    u8('replaceIfPresentFlag'),
    u8('dataCoding'),
    u8('smDefaultMsgId'),
    { kind: 'sm', key: 'shortMessage' },
  ],
  submit_multi_resp: [cstr('messageId', 65), { kind: 'unsuccess', key: 'unsuccessSmes' }],
  data_sm: [
    cstr('serviceType', 6),
    u8('sourceAddrTon'),
    u8('sourceAddrNpi'),
    cstr('sourceAddr', 65),
    u8('destAddrTon'),
    u8('destAddrNpi'),
    cstr('destinationAddr', 65),
    u8('esmClass'),
    u8('registeredDelivery'),
    u8('dataCoding'),
  ],
  data_sm_resp: messageIdOnly,
  query_sm: [cstr('messageId', 65), u8('sourceAddrTon'), u8('sourceAddrNpi'), cstr('sourceAddr', 21)],
  query_sm_resp: [cstr('messageId', 65), time('finalDate'), u8('messageState'), u8('errorCode')],
  cancel_sm: [
    cstr('serviceType', 6),
    cstr('messageId', 65),
    u8('sourceAddrTon'),
    u8('sourceAddrNpi'),
    cstr('sourceAddr', 21),
    u8('destAddrTon'),
    u8('destAddrNpi'),
    cstr('destinationAddr', 21),
  ],
  cancel_sm_resp: [],
  replace_sm: [
    cstr('messageId', 65),
    u8('sourceAddrTon'),
    u8('sourceAddrNpi'),
    cstr('sourceAddr', 21),
    time('scheduleDeliveryTime'),
    time('validityPeriod'),
    u8('registeredDelivery'),
    u8('smDefaultMsgId'),
    { kind: 'sm', key: 'shortMessage' },
  ],
  replace_sm_resp: [],
  alert_notification: [
    u8('sourceAddrTon'),
    u8('sourceAddrNpi'),
    cstr('sourceAddr', 65),
    u8('esmeAddrTon'),
    u8('esmeAddrNpi'),
    cstr('esmeAddr', 65),
  ],
};
