// One simulated carrier's behaviour behind the SMPP server: binds choose a profile, submits are
// answered per profile (ids, rejections, throttling, silence, disconnects), and receipts and
// handset replies go to the store-and-forward router (deliveries.ts).
//
// It runs inside `hongyan start` next to a dispatcher pushing 10 000+ submits/s on two cores, so
// the submit path is synchronous (no promise per submit), allocates little beyond the PDUs, logs
// nothing above debug, and uses no timer per message (receipts wait in time buckets).

import { CommandStatus, MessageState } from '../../smpp/constants.ts';
import type {
  BindRequestPdu,
  DataSm,
  PduInit,
  QuerySm,
  QuerySmResp,
  SubmitSm,
} from '../../smpp/pdu-types.ts';
import type {
  BindDecision,
  HandlerResult,
  IncomingRequest,
  SmppLogger,
  SmppSession,
} from '../../smpp/session.ts';
import type { TokenBucket } from './decisions.models.ts';
import {
  DELIVERED,
  decideSubmit,
  FIRST_SEQUENTIAL_NUMBER,
  fateFor,
  firstMessageNumber,
  isSequential,
  newTokenBucket,
  pickRejectStatus,
  receiptIdOf,
  responseIdOf,
  sampleLatencyMs,
  smppAbsoluteTime,
  takeToken,
  wantsReceipt,
} from './decisions.models.ts';
import { buildDeliverSm, receiptTextOf } from './deliver-pdu.ts';
import type { DeliveryStats, PendingDelivery } from './deliveries.ts';
import { DeliveryRouter } from './deliveries.ts';
import type { DeliveryJournal } from './journal.ts';
import { RecentMessages } from './recent-messages.ts';
import type { SimulatorProfile } from './simulator.models.ts';
import { chooseProfile } from './simulator.models.ts';

export interface CarrierOptions {
  profiles: ReadonlyMap<string, SimulatorProfile>;
  forceProfile?: string | undefined;
  random: () => number;
  now: () => number;
  log: SmppLogger;
  maxStoredPerSystem: number;
  retryDelayMs?: ((attempts: number) => number) | undefined;
  /** Observes every accepted submit (tests count what reached the "carrier", e.g. duplicates). */
  onAccepted?: ((submit: SubmitSm | DataSm, systemId: string) => void) | undefined;
  /** The state file: owed receipts and replies, and how far sequential ids went. */
  journal?: (DeliveryJournal & SequentialIds) | undefined;
  /** What a previous run owed (read from the journal), delivered again. */
  restored?: readonly PendingDelivery[] | undefined;
}

/** Where sequential ids are reserved before they are given out, so a restart never reuses one. */
export interface SequentialIds {
  readonly reservedUpTo: number;
  reserve(upTo: number): void;
}

/** Sequential ids reserved at a time: one state-file write per this many submits. */
const SEQUENTIAL_BLOCK = 10_000;

export interface CarrierCounts {
  binds: number;
  submits: number;
  accepted: number;
  rejected: number;
  throttled: number;
  queueFull: number;
  unanswered: number;
  disconnects: number;
}

export interface SimulatedCarrier {
  onBind(session: SmppSession, pdu: BindRequestPdu): BindDecision;
  onSession(session: SmppSession): void;
  onRequest(session: SmppSession, pdu: IncomingRequest): HandlerResult | Promise<HandlerResult>;
  counts(): CarrierCounts & { sessions: number };
  deliveries(): DeliveryStats;
  close(): void;
}

interface BindState {
  profile: SimulatorProfile;
  bucket: TokenBucket | null;
  submits: number;
}

const SIMULATOR_SYSTEM_ID = 'HONGYANSIM';

const noAnswer = (): HandlerResult => undefined;

export function createCarrier(options: CarrierOptions): SimulatedCarrier {
  const { profiles, random, now, log } = options;
  const binds = new Map<SmppSession, BindState>();
  const recent = new RecentMessages();
  const counts = {
    binds: 0,
    submits: 0,
    accepted: 0,
    rejected: 0,
    throttled: 0,
    queueFull: 0,
    unanswered: 0,
    disconnects: 0,
  };
  let nextNumber = firstMessageNumber(now());
  const journal = options.journal;
  let nextSequential = Math.max(FIRST_SEQUENTIAL_NUMBER, (journal?.reservedUpTo ?? 0) + 1);

  const router = new DeliveryRouter({
    build: buildDeliverSm,
    now,
    logger: log,
    maxStoredPerSystem: options.maxStoredPerSystem,
    ...(options.retryDelayMs ? { retryDelayMs: options.retryDelayMs } : {}),
    journal,
  });
  for (const item of options.restored ?? []) router.restore(item);

  function onBind(session: SmppSession, pdu: BindRequestPdu): BindDecision {
    const profile = chooseProfile({
      systemId: pdu.systemId,
      systemType: pdu.systemType,
      profiles,
      forced: options.forceProfile,
    });
    if (profile.bindFail) return { status: CommandStatus.ESME_RBINDFAIL };
    const tps = profile.throttleAboveTps;
    binds.set(session, { profile, bucket: tps === null ? null : newTokenBucket(tps, now()), submits: 0 });
    log.debug({ systemId: pdu.systemId, profile: profile.name, command: pdu.command }, 'simulator bind');
    return { status: CommandStatus.ESME_ROK, systemId: SIMULATOR_SYSTEM_ID };
  }

  function onSession(session: SmppSession): void {
    session.once('bound', ({ mode, systemId }) => {
      counts.binds++;
      if (mode === 'transmitter') return;
      router.addReceiver(systemId, session);
      session.on('slot', () => router.pump(systemId));
    });
    session.once('close', () => {
      binds.delete(session);
      router.removeReceiver(session.systemId, session);
    });
  }

  function onRequest(session: SmppSession, pdu: IncomingRequest): HandlerResult | Promise<HandlerResult> {
    switch (pdu.command) {
      case 'submit_sm':
      case 'data_sm':
        return onSubmit(session, pdu);
      case 'query_sm':
        return onQuery(session, pdu);
      case 'cancel_sm':
        return CommandStatus.ESME_RCANCELFAIL;
      case 'replace_sm':
        return CommandStatus.ESME_RREPLACEFAIL;
      default:
        // submit_multi: 106 platforms send one submit_sm per recipient; carriers often refuse it.
        return CommandStatus.ESME_RINVCMDID;
    }
  }

  function onSubmit(session: SmppSession, pdu: SubmitSm | DataSm): HandlerResult | Promise<HandlerResult> {
    const state = binds.get(session);
    if (state === undefined) return CommandStatus.ESME_RINVBNDSTS;
    const { profile } = state;
    const at = now();
    counts.submits++;
    state.submits++;
    if (profile.disconnectAfterSubmits !== null && state.submits === profile.disconnectAfterSubmits) {
      // After this submit is answered: close() flushes the response written just before.
      counts.disconnects++;
      setImmediate(() => session.close('simulated carrier disconnect'));
    }
    if (state.bucket !== null && !takeToken(state.bucket, profile.throttleAboveTps!, at)) {
      counts.throttled++;
      return CommandStatus.ESME_RTHROTTLED;
    }
    switch (decideSubmit(profile, random)) {
      case 'no_response':
        counts.unanswered++;
        // The session skips the response of a handler that settles after the session closed.
        return session.closed.then(noAnswer);
      case 'queue_full':
        counts.queueFull++;
        return CommandStatus.ESME_RMSGQFUL;
      case 'reject':
        counts.rejected++;
        return pickRejectStatus(profile, random);
      case 'accept':
        break;
    }
    counts.accepted++;
    options.onAccepted?.(pdu, session.systemId);
    const n = isSequential(profile.idFormat) ? takeSequential() : nextNumber++;
    const respId = responseIdOf(n, profile.idFormat);
    const fate = fateFor(profile, pdu.destinationAddr, random, counts.accepted - 1);
    const early = profile.receiptBeforeResponseRate > 0 && random() < profile.receiptBeforeResponseRate;
    const doneAt = early ? at : at + sampleLatencyMs(profile.receiptLatencyMs, random);
    recent.remember(n, doneAt, fate);
    const resp: HandlerResult =
      pdu.command === 'submit_sm'
        ? { command: 'submit_sm_resp', messageId: respId }
        : { command: 'data_sm_resp', messageId: respId };
    let receipt: PendingDelivery | undefined;
    if (wantsReceipt(pdu.registeredDelivery, fate)) {
      const payload =
        pdu.command === 'submit_sm' && pdu.shortMessage.length > 0
          ? pdu.shortMessage
          : pdu.tlvs.messagePayload;
      receipt = {
        kind: 'receipt',
        seq: 0,
        systemId: session.systemId,
        messageId: receiptIdOf(n, profile.idFormat),
        handset: pdu.destinationAddr,
        handsetTon: pdu.destAddrTon,
        handsetNpi: pdu.destAddrNpi,
        sender: pdu.sourceAddr,
        senderTon: pdu.sourceAddrTon,
        senderNpi: pdu.sourceAddrNpi,
        submittedAt: at,
        doneAt,
        fate,
        text: payload === undefined ? '' : receiptTextOf(payload, pdu.dataCoding, pdu.esmClass),
        attempts: 0,
      };
    }
    if (
      fate === DELIVERED &&
      profile.replyRate > 0 &&
      profile.replies.length > 0 &&
      random() < profile.replyRate
    ) {
      scheduleReply(
        session.systemId,
        pdu,
        at,
        doneAt + sampleLatencyMs(profile.replyLatencyMs, random),
        profile,
      );
    }
    if (receipt === undefined) return resp;
    if (!early) {
      router.add(receipt, doneAt);
      return resp;
    }
    // The carrier quirk: the receipt reaches the client, and is answered, before the response.
    return router.deliverNow(receipt).then(() => resp);
  }

  function takeSequential(): number {
    const n = nextSequential++;
    if (journal !== undefined && n > journal.reservedUpTo) journal.reserve(n + SEQUENTIAL_BLOCK - 1);
    return n;
  }

  function scheduleReply(
    systemId: string,
    pdu: SubmitSm | DataSm,
    at: number,
    dueAt: number,
    profile: SimulatorProfile,
  ) {
    const text = profile.replies[Math.floor(random() * profile.replies.length)] ?? profile.replies[0]!;
    router.add(
      {
        kind: 'reply',
        seq: 0,
        systemId,
        messageId: '',
        handset: pdu.destinationAddr,
        handsetTon: pdu.destAddrTon,
        handsetNpi: pdu.destAddrNpi,
        sender: pdu.sourceAddr,
        senderTon: pdu.sourceAddrTon,
        senderNpi: pdu.sourceAddrNpi,
        submittedAt: at,
        doneAt: dueAt,
        fate: DELIVERED,
        text,
        attempts: 0,
      },
      dueAt,
    );
  }

  function onQuery(session: SmppSession, pdu: QuerySm): HandlerResult {
    const entry = recent.find(pdu.messageId, binds.get(session)?.profile.idFormat ?? 'decimal');
    if (entry === undefined) return CommandStatus.ESME_RINVMSGID;
    const done = entry.doneAt <= now();
    const resp: PduInit<QuerySmResp> = {
      command: 'query_sm_resp',
      messageId: pdu.messageId,
      finalDate: done ? smppAbsoluteTime(entry.doneAt) : '',
      messageState: done ? entry.fate.messageState : MessageState.ENROUTE,
      errorCode: done ? entry.fate.err & 0xff : 0,
    };
    return resp;
  }

  return {
    onBind,
    onSession,
    onRequest,
    counts: () => ({ ...counts, sessions: binds.size }),
    deliveries: () => router.stats(),
    close: () => router.close(),
  };
}
