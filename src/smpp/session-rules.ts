// Which PDUs each side may send in each bind state (SMPP 3.4 section 2.3 and table 2-1), as pure
// functions so that the session and its tests share one table.

import type { PduCommand } from './pdu-types.ts';

/** ESME: the side that binds (our carrier client). SMSC: the side that accepts binds. */
export type SessionRole = 'esme' | 'smsc';
export type SessionState = 'OPEN' | 'BOUND_TX' | 'BOUND_RX' | 'BOUND_TRX' | 'UNBOUND' | 'CLOSED';
export type BindMode = 'transmitter' | 'receiver' | 'transceiver';

type Need = 'open' | 'transmit' | 'receive' | 'bound' | 'live';

const esmeSends: Partial<Record<PduCommand, Need>> = {
  bind_transmitter: 'open',
  bind_receiver: 'open',
  bind_transceiver: 'open',
  submit_sm: 'transmit',
  submit_multi: 'transmit',
  data_sm: 'transmit',
  query_sm: 'transmit',
  cancel_sm: 'transmit',
  replace_sm: 'transmit',
  enquire_link: 'live',
  unbind: 'bound',
};

const smscSends: Partial<Record<PduCommand, Need>> = {
  outbind: 'open',
  deliver_sm: 'receive',
  data_sm: 'receive',
  alert_notification: 'receive',
  enquire_link: 'live',
  unbind: 'bound',
};

function satisfies(need: Need, state: SessionState): boolean {
  switch (need) {
    case 'open':
      return state === 'OPEN';
    case 'transmit':
      return state === 'BOUND_TX' || state === 'BOUND_TRX';
    case 'receive':
      return state === 'BOUND_RX' || state === 'BOUND_TRX';
    case 'bound':
      return state === 'BOUND_TX' || state === 'BOUND_RX' || state === 'BOUND_TRX';
    case 'live':
      return state !== 'CLOSED';
  }
}

/** May this side originate the request `command` in `state`? */
export function maySend(role: SessionRole, state: SessionState, command: PduCommand): boolean {
  const need = (role === 'esme' ? esmeSends : smscSends)[command];
  return need !== undefined && satisfies(need, state);
}

/** May the peer of this side send us the request `command` in `state`? */
export function mayReceive(role: SessionRole, state: SessionState, command: PduCommand): boolean {
  return maySend(role === 'esme' ? 'smsc' : 'esme', state, command);
}

export const bindCommandOf = {
  transmitter: 'bind_transmitter',
  receiver: 'bind_receiver',
  transceiver: 'bind_transceiver',
} as const satisfies Record<BindMode, PduCommand>;

export function bindModeOf(command: 'bind_transmitter' | 'bind_receiver' | 'bind_transceiver'): BindMode {
  return command === 'bind_transmitter'
    ? 'transmitter'
    : command === 'bind_receiver'
      ? 'receiver'
      : 'transceiver';
}

export const boundStateOf = {
  transmitter: 'BOUND_TX',
  receiver: 'BOUND_RX',
  transceiver: 'BOUND_TRX',
} as const satisfies Record<BindMode, SessionState>;

export function isBound(state: SessionState): boolean {
  return state === 'BOUND_TX' || state === 'BOUND_RX' || state === 'BOUND_TRX';
}
