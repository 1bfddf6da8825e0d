// Delivery receipts carried by deliver_sm / data_sm: detection, extraction (TLVs preferred, the
// Appendix B text as fallback), and building them (for the simulator). Which message a receipt's
// id names depends on the channel's id convention: src/modules/receipts/receipts.models.ts reads it
// one way only (reading every id in both bases found other messages' ids: 4162 in hex is 1042).

import { DataCoding, EsmClass, MessageState } from './constants.ts';
import { buildPdu } from './pdu.ts';
import type { DataSm, DeliverSm, NetworkErrorCode } from './pdu-types.ts';
import type { FormatReceiptOptions, ReceiptState } from './receipt-text.ts';
import {
  formatReceiptText,
  looksLikeReceiptText,
  parseReceiptDate,
  parseReceiptText,
  receiptStateOfStat,
  statOf,
} from './receipt-text.ts';

export type { FormatReceiptOptions, ReceiptState, ReceiptTextFields } from './receipt-text.ts';
export {
  formatReceiptDate,
  formatReceiptText,
  looksLikeReceiptText,
  parseReceiptDate,
  parseReceiptText,
  receiptStateOfStat,
  statOf,
} from './receipt-text.ts';

export interface DeliveryReceipt {
  /** The carrier's id of the submitted message: receipted_message_id, else the text's id. */
  messageId: string;
  state: ReceiptState;
  /** False only for 'enroute' (intermediate notifications); every other state is final. */
  final: boolean;
  /** The message_state TLV, when present. */
  messageState?: number;
  /** The stat as the text gives it (e.g. `DELIVRD`, `MK:0005`), else the stat of `state`. */
  stat: string;
  /** The raw err text, when present. */
  err?: string;
  networkErrorCode?: NetworkErrorCode;
  submitted?: number;
  delivered?: number;
  /** The text's dates read in the carrier's UTC offset (ReceiptOptions); absent when unreadable. */
  submitDate?: Date;
  doneDate?: Date;
  /** The dates as the text gives them, YYMMDDhhmm[ss]. */
  submitDateText?: string;
  doneDateText?: string;
  text?: string;
}

export interface ReceiptOptions {
  /** The carrier's offset from UTC in minutes, for the text's dates (480 for China). Default 0. */
  utcOffsetMinutes?: number;
}

const MESSAGE_STATES: Record<number, ReceiptState> = {
  [MessageState.SCHEDULED]: 'enroute',
  [MessageState.ENROUTE]: 'enroute',
  [MessageState.DELIVERED]: 'delivered',
  [MessageState.EXPIRED]: 'expired',
  [MessageState.DELETED]: 'deleted',
  [MessageState.UNDELIVERABLE]: 'undeliverable',
  [MessageState.ACCEPTED]: 'accepted',
  [MessageState.UNKNOWN]: 'unknown',
  [MessageState.REJECTED]: 'rejected',
  [MessageState.SKIPPED]: 'undeliverable',
};

export function receiptStateOfMessageState(messageState: number): ReceiptState {
  return MESSAGE_STATES[messageState] ?? 'unknown';
}

const STATE_VALUES: Record<ReceiptState, number> = {
  enroute: MessageState.ENROUTE,
  delivered: MessageState.DELIVERED,
  expired: MessageState.EXPIRED,
  deleted: MessageState.DELETED,
  undeliverable: MessageState.UNDELIVERABLE,
  accepted: MessageState.ACCEPTED,
  unknown: MessageState.UNKNOWN,
  rejected: MessageState.REJECTED,
};

/** The message_state TLV value for a state. */
export function messageStateOf(state: ReceiptState): number {
  return STATE_VALUES[state];
}

/** The user data of a deliver_sm/data_sm as text: UCS-2 when data_coding says so, else latin1. */
function userText(pdu: DeliverSm | DataSm): string {
  let data =
    'shortMessage' in pdu && pdu.shortMessage.length > 0 ? pdu.shortMessage : pdu.tlvs.messagePayload;
  if (data === undefined || data.length === 0) return '';
  if ((pdu.esmClass & EsmClass.UDHI) !== 0) data = data.subarray(Math.min(data.length, data[0]! + 1));
  if (pdu.dataCoding === DataCoding.UCS2) {
    const le = Buffer.from(data.subarray(0, data.length & ~1));
    le.swap16();
    return le.toString('utf16le');
  }
  return data.toString('latin1');
}

/**
 * Is this deliver_sm/data_sm a delivery receipt? The esm_class message type says so (SMSC delivery
 * receipt or intermediate notification); for carriers that leave it 0, a receipted_message_id TLV
 * or receipt-shaped text says so too. SME acknowledgements (types 0x08, 0x10) are not receipts.
 */
export function isReceipt(pdu: DeliverSm | DataSm): boolean {
  const type = pdu.esmClass & EsmClass.TYPE_MASK;
  if (type === EsmClass.TYPE_SMSC_DELIVERY_RECEIPT || type === EsmClass.TYPE_INTERMEDIATE_NOTIFICATION)
    return true;
  if (type !== EsmClass.TYPE_DEFAULT) return false;
  return pdu.tlvs.receiptedMessageId !== undefined || looksLikeReceiptText(userText(pdu));
}

/**
 * The receipt in a deliver_sm/data_sm, TLVs first (receipted_message_id, message_state,
 * network_error_code), the text for what they lack. Null when no message id can be found.
 * Does not check isReceipt(): call that first.
 */
export function receiptFromDeliverSm(
  pdu: DeliverSm | DataSm,
  options: ReceiptOptions = {},
): DeliveryReceipt | null {
  const text = parseReceiptText(userText(pdu)) ?? {};
  const messageId = pdu.tlvs.receiptedMessageId?.trim() || text.id;
  if (messageId === undefined || messageId === '') return null;
  const { messageState, networkErrorCode } = pdu.tlvs;
  const state =
    messageState !== undefined
      ? receiptStateOfMessageState(messageState)
      : text.stat !== undefined
        ? receiptStateOfStat(text.stat)
        : 'unknown';
  const receipt: DeliveryReceipt = {
    messageId,
    state,
    final: state !== 'enroute',
    stat: text.stat ?? statOf(state),
  };
  if (messageState !== undefined) receipt.messageState = messageState;
  if (text.err !== undefined) receipt.err = text.err;
  if (networkErrorCode !== undefined) receipt.networkErrorCode = networkErrorCode;
  const submitted = Number.parseInt(text.sub ?? '', 10);
  const delivered = Number.parseInt(text.dlvrd ?? '', 10);
  if (Number.isFinite(submitted)) receipt.submitted = submitted;
  if (Number.isFinite(delivered)) receipt.delivered = delivered;
  const offset = options.utcOffsetMinutes ?? 0;
  if (text.submitDate !== undefined) {
    receipt.submitDateText = text.submitDate;
    const date = parseReceiptDate(text.submitDate, offset);
    if (date !== undefined) receipt.submitDate = date;
  }
  if (text.doneDate !== undefined) {
    receipt.doneDateText = text.doneDate;
    const date = parseReceiptDate(text.doneDate, offset);
    if (date !== undefined) receipt.doneDate = date;
  }
  if (text.text !== undefined) receipt.text = text.text;
  return receipt;
}

export interface ReceiptPduOptions extends FormatReceiptOptions {
  /** The handset: the original message's destination. */
  sourceAddr: string;
  /** The original message's source. */
  destinationAddr: string;
  sourceAddrTon?: number;
  sourceAddrNpi?: number;
  destAddrTon?: number;
  destAddrNpi?: number;
  networkErrorCode?: NetworkErrorCode;
}

/** A deliver_sm carrying a receipt both ways, as real SMSCs send it: TLVs and Appendix B text. */
export function buildReceiptDeliverSm(options: ReceiptPduOptions): DeliverSm {
  const text = formatReceiptText({ ...options, text: (options.text ?? '').replace(/[^\x20-\x7e]/g, '?') });
  return buildPdu('deliver_sm', {
    sourceAddrTon: options.sourceAddrTon ?? 1,
    sourceAddrNpi: options.sourceAddrNpi ?? 1,
    sourceAddr: options.sourceAddr,
    destAddrTon: options.destAddrTon ?? 0,
    destAddrNpi: options.destAddrNpi ?? 0,
    destinationAddr: options.destinationAddr,
    esmClass: EsmClass.TYPE_SMSC_DELIVERY_RECEIPT,
    shortMessage: Buffer.from(text.slice(0, 254), 'latin1'),
    tlvs: {
      receiptedMessageId: options.id,
      messageState: messageStateOf(options.state),
      ...(options.networkErrorCode ? { networkErrorCode: options.networkErrorCode } : {}),
    },
  });
}
