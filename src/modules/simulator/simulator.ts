// The carrier simulator: a real SMPP 3.4 server (src/smpp) that plays a carrier per profile. It
// answers submits (ids, rejections, throttling, silence, disconnects), and sends receipts and
// handset replies through the store-and-forward router (deliveries.ts).
//
// It runs inside `hongyan start` next to a dispatcher pushing 10 000+ submits/s on two cores, so
// the submit path is synchronous (no promise per submit), allocates little beyond the PDUs, logs
// nothing above debug, and uses no timer per message (receipts wait in time buckets).

import type { Logger } from 'pino';
import { CommandStatus, MessageState } from '../../smpp/constants.ts';
import type {
  BindRequestPdu,
  DataSm,
  PduInit,
  QuerySm,
  QuerySmResp,
  SubmitSm,
} from '../../smpp/pdu-types.ts';
import type { HandlerResult, IncomingRequest, SmppSession } from '../../smpp/session.ts';
import { createSmppServer } from '../../smpp/session.ts';
import { buildDeliverSm, receiptTextOf } from './deliver-pdu.ts';
import type { PendingDelivery } from './deliveries.ts';
import { DeliveryRouter } from './deliveries.ts';
import { RecentMessages } from './recent-messages.ts';
import type { SimulatorProfile, TokenBucket } from './simulator.models.ts';
import {
  chooseProfile,
  DELIVERED,
  decideFate,
  decideSubmit,
  firstMessageNumber,
  newTokenBucket,
  pickRejectStatus,
  profileMap,
  receiptIdOf,
  responseIdOf,
  sampleLatencyMs,
  smppAbsoluteTime,
  takeToken,
  wantsReceipt,
} from './simulator.models.ts';

export interface SimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  logger: Logger;
  /** Extra profiles (e.g. from a JSON file); one named like a built-in replaces it. */
  profiles?: readonly SimulatorProfile[];
  /** A profile name used for every bind, whatever its system_id and system_type. */
  forceProfile?: string;
  random?: () => number;
  now?: () => number;
  /** deliver_sm in flight per session. Default 512: clients acknowledge receipts after a commit. */
  windowSize?: number;
  /** How long a deliver_sm waits for its response before it is retried. Default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Receipts and replies kept per system_id while none of its sessions can take them. */
  maxStoredPerSystem?: number;
  /** Wait before resending a failed deliver_sm, by attempt; default 1 s doubling to 1 min. */
  retryDelayMs?: (attempts: number) => number;
}

export interface SimulatorStats {
  /** Binds accepted since start. */
  binds: number;
  /** Sessions bound now. */
  sessions: number;
  submits: number;
  accepted: number;
  rejected: number;
  throttled: number;
  queueFull: number;
  unanswered: number;
  disconnects: number;
  receiptsSent: number;
  repliesSent: number;
  /** Receipts and replies not yet acknowledged by a client: scheduled, stored or in flight. */
  pendingReceipts: number;
  deliverRetries: number;
  /** Receipts and replies dropped because a system_id's store was full. */
  droppedReceipts: number;
}

export interface RunningSimulator {
  host: string;
  port: number;
  /** Names of the profiles a bind can choose. */
  profiles: string[];
  stats(): SimulatorStats;
  /** Unbinds every session, stops listening; pending receipts are lost. */
  close(): Promise<void>;
}

interface BindState {
  profile: SimulatorProfile;
  bucket: TokenBucket | null;
  submits: number;
}

const SIMULATOR_SYSTEM_ID = 'HONGYANSIM';

const noAnswer = (): HandlerResult => undefined;

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const { host = '127.0.0.1', port = 2775, logger, random = Math.random, now = Date.now } = options;
  const log = logger.child({ component: 'simulator' });
  const profiles = profileMap(options.profiles);
  if (options.forceProfile !== undefined && !profiles.has(options.forceProfile)) {
    throw new Error(
      `unknown simulator profile "${options.forceProfile}" (profiles: ${[...profiles.keys()].join(', ')})`,
    );
  }
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

  const router = new DeliveryRouter({
    build: buildDeliverSm,
    now,
    logger: log,
    maxStoredPerSystem: options.maxStoredPerSystem ?? 1_000_000,
    ...(options.retryDelayMs ? { retryDelayMs: options.retryDelayMs } : {}),
  });

  function onBind(session: SmppSession, pdu: BindRequestPdu) {
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
    const n = nextNumber++;
    const respId = responseIdOf(n, profile.idFormat);
    const fate = decideFate(profile, random);
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
      router.scheduleAt(receipt, doneAt);
      return resp;
    }
    // The carrier quirk: the receipt reaches the client, and is answered, before the response.
    return router.deliverNow(receipt).then(() => resp);
  }

  function scheduleReply(
    systemId: string,
    pdu: SubmitSm | DataSm,
    at: number,
    dueAt: number,
    profile: SimulatorProfile,
  ) {
    const text = profile.replies[Math.floor(random() * profile.replies.length)] ?? profile.replies[0]!;
    router.scheduleAt(
      {
        kind: 'reply',
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

  const server = createSmppServer({
    onBind,
    onRequest,
    onSession,
    logger: log,
    sessionOptions: {
      windowSize: options.windowSize ?? 512,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      // Unanswered submits (noResponseRate) hold a handler until the session closes; the real
      // limit on a client is its own window, so this cap must not be what stops reading.
      maxConcurrentHandlers: 100_000,
    },
  });
  const address = await server.listen(port, host);
  log.debug({ host, port: address.port }, 'simulator listening');

  return {
    host,
    port: address.port,
    profiles: [...profiles.keys()],
    stats() {
      const d = router.stats();
      return {
        ...counts,
        sessions: binds.size,
        receiptsSent: d.receiptsSent,
        repliesSent: d.repliesSent,
        pendingReceipts: d.pending,
        deliverRetries: d.retries,
        droppedReceipts: d.dropped,
      };
    },
    async close() {
      router.close();
      await server.close();
    },
  };
}
