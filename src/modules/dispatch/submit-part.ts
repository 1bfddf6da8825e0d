// One submit_sm of one part, and what its answer (or its lack of one) means. No state: the
// connector decides what to do next (resubmit when throttled, report to the recorder otherwise).
import { CommandStatus, statusName } from '../../smpp/constants.ts';
import { RequestTimeoutError, SessionClosedError } from '../../smpp/errors.ts';
import type { encodeMessage } from '../../smpp/segments.ts';
import type { SmppSession } from '../../smpp/session.ts';
import { classifyStatus } from './dispatch.models.ts';
import type { ClaimedMessage } from './dispatch.sql.ts';

export type PartOutcome =
  | { kind: 'ok'; messageId: string }
  | { kind: 'throttled' }
  | { kind: 'unanswered'; detail: string }
  | { kind: 'error'; status: number; detail: string };

export interface PartToSubmit {
  sourceAddr: string;
  message: ClaimedMessage;
  encoded: ReturnType<typeof encodeMessage>;
  index: number;
}

/** Submits one part; `onAnswer` hears of every response the carrier gave (throttled or not). */
export async function submitPart(
  tx: SmppSession,
  { sourceAddr, message, encoded, index }: PartToSubmit,
  onAnswer: (throttled: boolean) => void,
): Promise<PartOutcome> {
  try {
    const resp = await tx.request({
      command: 'submit_sm',
      serviceType: '',
      sourceAddrTon: 0,
      sourceAddrNpi: 0,
      sourceAddr,
      destAddrTon: 1,
      destAddrNpi: 1,
      destinationAddr: message.recipient.replace(/^\+/, ''),
      esmClass: encoded.esmClass,
      protocolId: 0,
      priorityFlag: message.priority === 0 ? 1 : 0,
      scheduleDeliveryTime: '',
      validityPeriod: '',
      registeredDelivery: 1,
      replaceIfPresentFlag: 0,
      dataCoding: encoded.dataCoding,
      smDefaultMsgId: 0,
      shortMessage: encoded.parts[index]!,
    });
    const throttled = classifyStatus(resp.commandStatus) === 'throttle';
    onAnswer(throttled);
    if (resp.commandStatus === CommandStatus.ESME_ROK) {
      const messageId = 'messageId' in resp ? resp.messageId : '';
      if (messageId === '')
        return {
          kind: 'error',
          status: CommandStatus.ESME_RSYSERR,
          detail: 'submit_sm_resp without message_id',
        };
      return { kind: 'ok', messageId };
    }
    if (throttled) return { kind: 'throttled' };
    return { kind: 'error', status: resp.commandStatus, detail: statusName(resp.commandStatus) };
  } catch (error) {
    if (error instanceof RequestTimeoutError) return { kind: 'unanswered', detail: error.message };
    if (error instanceof SessionClosedError) return { kind: 'unanswered', detail: error.message };
    return {
      kind: 'error',
      status: (error as { status?: number }).status ?? CommandStatus.ESME_RSYSERR,
      detail: String(error),
    };
  }
}
