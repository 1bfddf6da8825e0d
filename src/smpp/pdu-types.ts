// Typed SMPP 3.4 PDUs: a discriminated union on `command`. Field names are the spec's in camelCase.
// C-Octet strings are latin1 strings; short_message stays bytes (its encoding is data_coding's
// business, handled by the text encoders outside this codec).

/** A TLV the codec has no typed field for; kept so that it survives decode → encode. */
export interface RawTlv {
  tag: number;
  value: Buffer;
}

export interface NetworkErrorCode {
  /** 1 ANSI-136, 2 IS-95, 3 GSM, 4 reserved (section 5.3.2.31). */
  type: number;
  code: number;
}

/** Optional parameters (section 5.3.2), decoded into typed fields by tag. */
export interface Tlvs {
  destAddrSubunit?: number;
  destNetworkType?: number;
  destBearerType?: number;
  destTelematicsId?: number;
  sourceAddrSubunit?: number;
  sourceNetworkType?: number;
  sourceBearerType?: number;
  sourceTelematicsId?: number;
  qosTimeToLive?: number;
  payloadType?: number;
  additionalStatusInfoText?: string;
  receiptedMessageId?: string;
  msMsgWaitFacilities?: number;
  privacyIndicator?: number;
  sourceSubaddress?: Buffer;
  destSubaddress?: Buffer;
  userMessageReference?: number;
  userResponseCode?: number;
  sourcePort?: number;
  destinationPort?: number;
  sarMsgRefNum?: number;
  languageIndicator?: number;
  sarTotalSegments?: number;
  sarSegmentSeqnum?: number;
  scInterfaceVersion?: number;
  callbackNumPresInd?: number;
  callbackNumAtag?: Buffer;
  numberOfMessages?: number;
  callbackNum?: Buffer;
  dpfResult?: number;
  setDpf?: number;
  msAvailabilityStatus?: number;
  networkErrorCode?: NetworkErrorCode;
  messagePayload?: Buffer;
  deliveryFailureReason?: number;
  moreMessagesToSend?: number;
  messageState?: number;
  ussdServiceOp?: number;
  displayTime?: number;
  smsSignal?: number;
  msValidity?: number;
  alertOnMessageDelivery?: true;
  itsReplyType?: number;
  itsSessionInfo?: Buffer;
  /** Tags the codec does not know, in the order received; re-encoded as they are. */
  unknown?: RawTlv[];
}

interface Base {
  sequenceNumber: number;
  commandStatus: number;
  tlvs: Tlvs;
}

export interface BindBody {
  systemId: string;
  password: string;
  systemType: string;
  interfaceVersion: number;
  addrTon: number;
  addrNpi: number;
  addressRange: string;
}

export interface BindTransmitter extends Base, BindBody {
  command: 'bind_transmitter';
}
export interface BindReceiver extends Base, BindBody {
  command: 'bind_receiver';
}
export interface BindTransceiver extends Base, BindBody {
  command: 'bind_transceiver';
}
export interface BindTransmitterResp extends Base {
  command: 'bind_transmitter_resp';
  systemId: string;
}
export interface BindReceiverResp extends Base {
  command: 'bind_receiver_resp';
  systemId: string;
}
export interface BindTransceiverResp extends Base {
  command: 'bind_transceiver_resp';
  systemId: string;
}
export interface Outbind extends Base {
  command: 'outbind';
  systemId: string;
  password: string;
}
export interface Unbind extends Base {
  command: 'unbind';
}
export interface UnbindResp extends Base {
  command: 'unbind_resp';
}
export interface GenericNack extends Base {
  command: 'generic_nack';
}
export interface EnquireLink extends Base {
  command: 'enquire_link';
}
export interface EnquireLinkResp extends Base {
  command: 'enquire_link_resp';
}

/** The body that submit_sm and deliver_sm share (sections 4.4.1 and 4.6.1). */
export interface ShortMessageBody {
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
  esmClass: number;
  protocolId: number;
  priorityFlag: number;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  replaceIfPresentFlag: number;
  dataCoding: number;
  smDefaultMsgId: number;
  shortMessage: Buffer;
}

export interface SubmitSm extends Base, ShortMessageBody {
  command: 'submit_sm';
}
export interface DeliverSm extends Base, ShortMessageBody {
  command: 'deliver_sm';
}
export interface SubmitSmResp extends Base {
  command: 'submit_sm_resp';
  /** May be '' when a carrier sent an error status with no body. */
  messageId: string;
}
export interface DeliverSmResp extends Base {
  command: 'deliver_sm_resp';
  messageId: string;
}

export type MultiDestination =
  | { kind: 'sme'; destAddrTon: number; destAddrNpi: number; destinationAddr: string }
  | { kind: 'dl'; dlName: string };

export interface SubmitMulti extends Base {
  command: 'submit_multi';
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddresses: MultiDestination[];
  esmClass: number;
  protocolId: number;
  priorityFlag: number;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  replaceIfPresentFlag: number;
  dataCoding: number;
  smDefaultMsgId: number;
  shortMessage: Buffer;
}

export interface UnsuccessSme {
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
  errorStatusCode: number;
}

export interface SubmitMultiResp extends Base {
  command: 'submit_multi_resp';
  messageId: string;
  unsuccessSmes: UnsuccessSme[];
}

export interface DataSm extends Base {
  command: 'data_sm';
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
  esmClass: number;
  registeredDelivery: number;
  dataCoding: number;
}
export interface DataSmResp extends Base {
  command: 'data_sm_resp';
  messageId: string;
}

export interface QuerySm extends Base {
  command: 'query_sm';
  messageId: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
}
export interface QuerySmResp extends Base {
  command: 'query_sm_resp';
  messageId: string;
  finalDate: string;
  messageState: number;
  errorCode: number;
}

export interface CancelSm extends Base {
  command: 'cancel_sm';
  serviceType: string;
  messageId: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
}
export interface CancelSmResp extends Base {
  command: 'cancel_sm_resp';
}

export interface ReplaceSm extends Base {
  command: 'replace_sm';
  messageId: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  smDefaultMsgId: number;
  shortMessage: Buffer;
}
export interface ReplaceSmResp extends Base {
  command: 'replace_sm_resp';
}

export interface AlertNotification extends Base {
  command: 'alert_notification';
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  esmeAddrTon: number;
  esmeAddrNpi: number;
  esmeAddr: string;
}

export type Pdu =
  | BindTransmitter
  | BindTransmitterResp
  | BindReceiver
  | BindReceiverResp
  | BindTransceiver
  | BindTransceiverResp
  | Outbind
  | Unbind
  | UnbindResp
  | GenericNack
  | SubmitSm
  | SubmitSmResp
  | SubmitMulti
  | SubmitMultiResp
  | DeliverSm
  | DeliverSmResp
  | DataSm
  | DataSmResp
  | QuerySm
  | QuerySmResp
  | CancelSm
  | CancelSmResp
  | ReplaceSm
  | ReplaceSmResp
  | EnquireLink
  | EnquireLinkResp
  | AlertNotification;

export type PduCommand = Pdu['command'];
export type PduOf<C extends PduCommand> = Extract<Pdu, { command: C }>;

/** Each request that has a response, and that response's type. */
export interface ResponseMap {
  bind_transmitter: BindTransmitterResp;
  bind_receiver: BindReceiverResp;
  bind_transceiver: BindTransceiverResp;
  unbind: UnbindResp;
  submit_sm: SubmitSmResp;
  submit_multi: SubmitMultiResp;
  deliver_sm: DeliverSmResp;
  data_sm: DataSmResp;
  query_sm: QuerySmResp;
  cancel_sm: CancelSmResp;
  replace_sm: ReplaceSmResp;
  enquire_link: EnquireLinkResp;
}

export type RequestCommand = keyof ResponseMap;
export type RequestPdu = PduOf<RequestCommand>;
export type ResponsePdu = ResponseMap[RequestCommand];
export type ResponseCommand = ResponsePdu['command'];
export type BindRequestPdu = BindTransmitter | BindReceiver | BindTransceiver;
export type BindResponsePdu = BindTransmitterResp | BindReceiverResp | BindTransceiverResp;

/** The name of the response to each request. */
export const responseCommandOf: { readonly [C in RequestCommand]: ResponseMap[C]['command'] } = {
  bind_transmitter: 'bind_transmitter_resp',
  bind_receiver: 'bind_receiver_resp',
  bind_transceiver: 'bind_transceiver_resp',
  unbind: 'unbind_resp',
  submit_sm: 'submit_sm_resp',
  submit_multi: 'submit_multi_resp',
  deliver_sm: 'deliver_sm_resp',
  data_sm: 'data_sm_resp',
  query_sm: 'query_sm_resp',
  cancel_sm: 'cancel_sm_resp',
  replace_sm: 'replace_sm_resp',
  enquire_link: 'enquire_link_resp',
};

type Distribute<P> = P extends unknown
  ? Omit<P, 'sequenceNumber' | 'commandStatus' | 'tlvs'> & { commandStatus?: number; tlvs?: Tlvs }
  : never;

/** A PDU as callers build it: the session assigns sequenceNumber; status and TLVs may be left out. */
export type PduInit<P extends Pdu = Pdu> = Distribute<P>;
