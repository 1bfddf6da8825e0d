// SMPP 3.4 numbers (spec v3.4, issue 1.2, sections 5.1-5.3). Plain `as const` objects so that they
// can be used both as values and as literal types; reverse maps give names for logs.

export const CommandId = {
  generic_nack: 0x80000000,
  bind_receiver: 0x00000001,
  bind_receiver_resp: 0x80000001,
  bind_transmitter: 0x00000002,
  bind_transmitter_resp: 0x80000002,
  query_sm: 0x00000003,
  query_sm_resp: 0x80000003,
  submit_sm: 0x00000004,
  submit_sm_resp: 0x80000004,
  deliver_sm: 0x00000005,
  deliver_sm_resp: 0x80000005,
  unbind: 0x00000006,
  unbind_resp: 0x80000006,
  replace_sm: 0x00000007,
  replace_sm_resp: 0x80000007,
  cancel_sm: 0x00000008,
  cancel_sm_resp: 0x80000008,
  bind_transceiver: 0x00000009,
  bind_transceiver_resp: 0x80000009,
  outbind: 0x0000000b,
  enquire_link: 0x00000015,
  enquire_link_resp: 0x80000015,
  submit_multi: 0x00000021,
  submit_multi_resp: 0x80000021,
  alert_notification: 0x00000102,
  data_sm: 0x00000103,
  data_sm_resp: 0x80000103,
} as const;

export type CommandName = keyof typeof CommandId;

const commandNames = new Map<number, CommandName>(
  (Object.entries(CommandId) as [CommandName, number][]).map(([name, id]) => [id, name]),
);

/** The command's name for a command_id, or undefined when SMPP 3.4 has no such command. */
export function commandNameOf(commandId: number): CommandName | undefined {
  return commandNames.get(commandId);
}

/** Bit 31 of command_id marks a response. */
export const RESPONSE_BIT = 0x80000000;

export function isResponseId(commandId: number): boolean {
  return (commandId & RESPONSE_BIT) !== 0;
}

// Table 5-2. The 3.4 names come first so that statusName() prefers them; the SMPP 5.0 codes after
// them are ones that carriers send to 3.4 binds anyway (ESME_RINVDCS is common for bad encodings).
export const CommandStatus = {
  ESME_ROK: 0x00,
  ESME_RINVMSGLEN: 0x01,
  ESME_RINVCMDLEN: 0x02,
  ESME_RINVCMDID: 0x03,
  ESME_RINVBNDSTS: 0x04,
  ESME_RALYBND: 0x05,
  ESME_RINVPRTFLG: 0x06,
  ESME_RINVREGDLVFLG: 0x07,
  ESME_RSYSERR: 0x08,
  ESME_RINVSRCADR: 0x0a,
  ESME_RINVDSTADR: 0x0b,
  ESME_RINVMSGID: 0x0c,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RCANCELFAIL: 0x11,
  ESME_RREPLACEFAIL: 0x13,
  ESME_RMSGQFUL: 0x14,
  ESME_RINVSERTYP: 0x15,
  ESME_RINVNUMDESTS: 0x33,
  ESME_RINVDLNAME: 0x34,
  ESME_RINVDESTFLAG: 0x40,
  ESME_RINVSUBREP: 0x42,
  ESME_RINVESMCLASS: 0x43,
  ESME_RCNTSUBDL: 0x44,
  ESME_RSUBMITFAIL: 0x45,
  ESME_RINVSRCTON: 0x48,
  ESME_RINVSRCNPI: 0x49,
  ESME_RINVDSTTON: 0x50,
  ESME_RINVDSTNPI: 0x51,
  ESME_RINVSYSTYP: 0x53,
  ESME_RINVREPFLAG: 0x54,
  ESME_RINVNUMMSGS: 0x55,
  ESME_RTHROTTLED: 0x58,
  ESME_RINVSCHED: 0x61,
  ESME_RINVEXPIRY: 0x62,
  ESME_RINVDFTMSGID: 0x63,
  ESME_RX_T_APPN: 0x64,
  ESME_RX_P_APPN: 0x65,
  ESME_RX_R_APPN: 0x66,
  ESME_RQUERYFAIL: 0x67,
  ESME_RINVOPTPARSTREAM: 0xc0,
  ESME_ROPTPARNOTALLWD: 0xc1,
  ESME_RINVPARLEN: 0xc2,
  ESME_RMISSINGOPTPARAM: 0xc3,
  ESME_RINVOPTPARAMVAL: 0xc4,
  ESME_RDELIVERYFAILURE: 0xfe,
  ESME_RUNKNOWNERR: 0xff,
  // SMPP 5.0 names for the 0xC0-0xC4 codes above.
  ESME_RINVTLVSTREAM: 0xc0,
  ESME_RTLVNOTALLWD: 0xc1,
  ESME_RINVTLVLEN: 0xc2,
  ESME_RMISSINGTLV: 0xc3,
  ESME_RINVTLVVAL: 0xc4,
  // SMPP 5.0 additions seen from 3.4 carriers.
  ESME_RSERTYPUNAUTH: 0x100,
  ESME_RPROHIBITED: 0x101,
  ESME_RSERTYPUNAVAIL: 0x102,
  ESME_RSERTYPDENIED: 0x103,
  ESME_RINVDCS: 0x104,
  ESME_RINVSRCADDRSUBUNIT: 0x105,
  ESME_RINVDSTADDRSUBUNIT: 0x106,
} as const;

export type CommandStatusName = keyof typeof CommandStatus;

const statusNames = new Map<number, string>();
for (const [name, code] of Object.entries(CommandStatus)) {
  if (!statusNames.has(code)) statusNames.set(code, name);
}

/** A status code's name for logs: `ESME_RTHROTTLED`, or `0x00000400` for vendor-specific codes. */
export function statusName(status: number): string {
  return statusNames.get(status) ?? `0x${(status >>> 0).toString(16).padStart(8, '0')}`;
}

// Section 5.3.2. Tags of every 3.4 TLV; the codec decodes each of them into a typed field.
export const TlvTag = {
  dest_addr_subunit: 0x0005,
  dest_network_type: 0x0006,
  dest_bearer_type: 0x0007,
  dest_telematics_id: 0x0008,
  source_addr_subunit: 0x000d,
  source_network_type: 0x000e,
  source_bearer_type: 0x000f,
  source_telematics_id: 0x0010,
  qos_time_to_live: 0x0017,
  payload_type: 0x0019,
  additional_status_info_text: 0x001d,
  receipted_message_id: 0x001e,
  ms_msg_wait_facilities: 0x0030,
  privacy_indicator: 0x0201,
  source_subaddress: 0x0202,
  dest_subaddress: 0x0203,
  user_message_reference: 0x0204,
  user_response_code: 0x0205,
  source_port: 0x020a,
  destination_port: 0x020b,
  sar_msg_ref_num: 0x020c,
  language_indicator: 0x020d,
  sar_total_segments: 0x020e,
  sar_segment_seqnum: 0x020f,
  sc_interface_version: 0x0210,
  callback_num_pres_ind: 0x0302,
  callback_num_atag: 0x0303,
  number_of_messages: 0x0304,
  callback_num: 0x0381,
  dpf_result: 0x0420,
  set_dpf: 0x0421,
  ms_availability_status: 0x0422,
  network_error_code: 0x0423,
  message_payload: 0x0424,
  delivery_failure_reason: 0x0425,
  more_messages_to_send: 0x0426,
  message_state: 0x0427,
  ussd_service_op: 0x0501,
  display_time: 0x1201,
  sms_signal: 0x1203,
  ms_validity: 0x1204,
  alert_on_message_delivery: 0x130c,
  its_reply_type: 0x1380,
  its_session_info: 0x1383,
} as const;

// Section 5.2.28 (message_state TLV, query_sm_resp). 0 and 9 are SMPP 5.0 values.
export const MessageState = {
  SCHEDULED: 0,
  ENROUTE: 1,
  DELIVERED: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIVERABLE: 5,
  ACCEPTED: 6,
  UNKNOWN: 7,
  REJECTED: 8,
  SKIPPED: 9,
} as const;

// Section 5.2.12. Bits 1-0 messaging mode, bits 5-2 message type, bits 7-6 GSM features.
export const EsmClass = {
  MODE_MASK: 0x03,
  MODE_DEFAULT: 0x00,
  MODE_DATAGRAM: 0x01,
  MODE_FORWARD: 0x02,
  MODE_STORE_FORWARD: 0x03,
  TYPE_MASK: 0x3c,
  TYPE_DEFAULT: 0x00,
  TYPE_SMSC_DELIVERY_RECEIPT: 0x04,
  TYPE_SME_DELIVERY_ACK: 0x08,
  TYPE_SME_MANUAL_ACK: 0x10,
  TYPE_CONVERSATION_ABORT: 0x18,
  TYPE_INTERMEDIATE_NOTIFICATION: 0x20,
  UDHI: 0x40,
  REPLY_PATH: 0x80,
} as const;

// Section 5.2.17.
export const RegisteredDelivery = {
  NONE: 0x00,
  SMSC_RECEIPT_ALWAYS: 0x01,
  SMSC_RECEIPT_ON_FAILURE: 0x02,
  SME_ACK_DELIVERY: 0x04,
  SME_ACK_MANUAL: 0x08,
  INTERMEDIATE_NOTIFICATION: 0x10,
} as const;

// Section 5.2.19: the values Hongyan uses; the field itself is any octet.
export const DataCoding = {
  SMSC_DEFAULT: 0x00,
  IA5: 0x01,
  OCTET_UNSPECIFIED: 0x02,
  LATIN1: 0x03,
  OCTET_UNSPECIFIED_2: 0x04,
  UCS2: 0x08,
} as const;

export const Ton = {
  UNKNOWN: 0,
  INTERNATIONAL: 1,
  NATIONAL: 2,
  NETWORK_SPECIFIC: 3,
  SUBSCRIBER_NUMBER: 4,
  ALPHANUMERIC: 5,
  ABBREVIATED: 6,
} as const;

export const Npi = {
  UNKNOWN: 0,
  ISDN: 1,
  DATA: 3,
  TELEX: 4,
  LAND_MOBILE: 6,
  NATIONAL: 8,
  PRIVATE: 9,
  ERMES: 10,
  INTERNET: 14,
  WAP: 18,
} as const;

/** interface_version for SMPP 3.4 (section 5.2.4). */
export const SMPP_VERSION_34 = 0x34;

export const HEADER_LENGTH = 16;
export const MAX_SEQUENCE_NUMBER = 0x7fffffff;
/** sm_length is one octet and the spec caps short_message at 254 octets. */
export const MAX_SHORT_MESSAGE_LENGTH = 254;
