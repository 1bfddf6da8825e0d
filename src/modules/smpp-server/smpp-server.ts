// The SMPP server customers bind to as an ESME (issue 11): binds checked against the tenant's SMPP
// accounts, submit_sm / submit_multi / data_sm through the same intake as POST /v1/messages,
// query_sm and cancel_sm on the tenant's messages (message-queries.ts),
// concatenated parts reassembled, window and TPS per account, and the outbox of receipts and
// replies delivered on receiver binds. Built on src/smpp (createSmppServer); the session answers
// bad PDUs itself (generic_nack or the request's response with the error) and one session's
// trouble never reaches another.
import { verify as argon2Verify, hash as argon2Hash } from '@node-rs/argon2';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import type tls from 'node:tls';
import { CommandStatus } from '../../smpp/constants.ts';
import type { BindRequestPdu, DataSm, SubmitMulti, SubmitSm, UnsuccessSme } from '../../smpp/pdu-types.ts';
import { createSmppServer, type SmppServer } from '../../smpp/server.ts';
import type { SmppSession } from '../../smpp/session.ts';
import type { BindDecision, HandlerResult, IncomingRequest, SmppLogger } from '../../smpp/session-types.ts';
import { createAllowlist, createTokenBucket } from '../credentials/credentials.models.ts';
import { smppServerRefusals } from '../metrics/metrics.registry.ts';
import { createReassembler, type PartOutcome, type Reassembler } from './concat.ts';
import { answerCancelSm, answerQuerySm } from './message-queries.ts';
import type { SmppOrigin, SubmitToHongyan } from './smpp-intake.ts';
import type { BindableAccount, SmppAccountsRepository } from './smpp-accounts.repository.ts';
import { type OutboxSettings, startOutboxDeliverer } from './smpp-outbox.ts';
import { partOf, recipientOf, type SubmittedPart, textOfParts } from './submit.models.ts';

/** Our system_id in bind_resp. */
export const SERVER_SYSTEM_ID = 'HONGYAN';
const BINARY_DATA_CODINGS = new Set([0x02, 0x04]);

type OriginPart = SubmittedPart & { concat: NonNullable<SubmittedPart['concat']>; origin: SmppOrigin };

interface AccountRuntime {
  account: BindableAccount;
  sessions: Set<SmppSession>;
  bucket: ReturnType<typeof createTokenBucket>;
  inFlight: number;
  reassembler: Reassembler<OriginPart>;
}

export interface CustomerSmppServerOptions {
  accounts: SmppAccountsRepository;
  submit: SubmitToHongyan;
  pool: pg.Pool;
  nodeId: string;
  logger: SmppLogger;
  concatTimeoutMs: number;
  outbox: OutboxSettings;
  /** How often bound accounts are checked for being disabled (or their tenant suspended). */
  accountCheckMs?: number;
  now?: () => number;
  tls?: tls.TlsOptions;
  sessionOptions?: { enquireLinkIntervalMs?: number; requestTimeoutMs?: number; bindTimeoutMs?: number };
}

export interface CustomerSmppServer {
  /** Plain TCP on `port`; TLS on `tlsPort` too when the server was made with TLS options. */
  listen(address: { host: string; port: number; tlsPort?: number }): Promise<{
    port: number;
    tlsPort: number | null;
  }>;
  /** Bound sessions of an account on this node. */
  sessionsOf(accountId: number): SmppSession[];
  close(): Promise<void>;
}

// Unknown system_ids still pay for one argon2 verification, so timing does not tell which exist.
let dummyHash: Promise<string> | null = null;
const dummy = () => (dummyHash ??= argon2Hash('not a password of anyone'));

export function createCustomerSmppServer(options: CustomerSmppServerOptions): CustomerSmppServer {
  const log = options.logger;
  const now = options.now ?? (() => Date.now());
  const runtimes = new Map<number, AccountRuntime>();
  const runtimeOfSession = new WeakMap<SmppSession, AccountRuntime>();

  const outbox = startOutboxDeliverer({
    pool: options.pool,
    nodeId: options.nodeId,
    receiversOf: (accountId) =>
      [...(runtimes.get(accountId)?.sessions ?? [])].filter(
        (s) => s.state === 'BOUND_RX' || s.state === 'BOUND_TRX',
      ),
    boundAccounts: () => [...runtimes.keys()],
    settings: options.outbox,
    logger: log,
  });

  function runtimeFor(account: BindableAccount): AccountRuntime {
    const id = Number(account.id);
    const existing = runtimes.get(id);
    if (existing) {
      existing.account = account; // settings changed since: the latest bind's read wins
      return existing;
    }
    const runtime: AccountRuntime = {
      account,
      sessions: new Set(),
      bucket: createTokenBucket(account.max_tps, now()),
      inFlight: 0,
      reassembler: createReassembler<OriginPart>({
        timeoutMs: options.concatTimeoutMs,
        timeoutStatus: CommandStatus.ESME_RSUBMITFAIL,
        submitWhole: (parts) => submitText(runtime, parts[parts.length - 1]!.origin, textOfParts(parts)),
      }),
    };
    runtimes.set(id, runtime);
    return runtime;
  }

  async function decideBind(session: SmppSession, pdu: BindRequestPdu): Promise<BindDecision> {
    const account = await options.accounts.findBySystemId(pdu.systemId);
    const passwordOk = account
      ? await argon2Verify(account.password_hash, pdu.password).catch(() => false)
      : (await argon2Verify(await dummy(), pdu.password).catch(() => false), false);
    const address = session.socket.remoteAddress ?? '';
    if (account === null) return refuse(CommandStatus.ESME_RINVSYSID, pdu, address, 'unknown system_id');
    if (!passwordOk) return refuse(CommandStatus.ESME_RINVPASWD, pdu, address, 'wrong password');
    if (account.disabled_at !== null || account.tenant_status !== 'active')
      return refuse(CommandStatus.ESME_RBINDFAIL, pdu, address, 'account disabled or tenant not active');
    if (!createAllowlist(account.allow_cidrs)(address))
      return refuse(CommandStatus.ESME_RBINDFAIL, pdu, address, 'address not in the allowlist');
    const runtime = runtimeFor(account);
    runtime.sessions.add(session);
    runtimeOfSession.set(session, runtime);
    session.once('close', () => runtime.sessions.delete(session));
    session.once('bound', () => outbox.wake(Number(account.id)));
    options.accounts
      .recordBind(Number(account.id), address, new Date(now()))
      .catch((err: unknown) => log.warn({ err }, 'SMPP bind: recording the last bind failed'));
    log.info({ systemId: pdu.systemId, mode: pdu.command, address }, 'SMPP customer bound');
    return { status: CommandStatus.ESME_ROK, systemId: SERVER_SYSTEM_ID };
  }

  function refuse(status: number, pdu: BindRequestPdu, address: string, why: string): BindDecision {
    log.warn({ systemId: pdu.systemId, address, why }, 'SMPP bind refused');
    countRefusal(pdu.command, status);
    return { status };
  }

  /** The TPS and window admission of one submit (ESME_RTHROTTLED above either), else null. */
  function throttled(runtime: AccountRuntime, submits = 1): number | null {
    if (runtime.inFlight + submits > runtime.account.window_size) return CommandStatus.ESME_RTHROTTLED;
    for (let i = 0; i < submits; i++) {
      if (runtime.bucket.take(now()) > 0) return CommandStatus.ESME_RTHROTTLED;
    }
    return null;
  }

  async function submitText(
    runtime: AccountRuntime,
    origin: SmppOrigin,
    content: string,
  ): Promise<PartOutcome> {
    runtime.inFlight++;
    try {
      return await options.submit({
        tenantId: Number(runtime.account.tenant_id),
        to: recipientOf(origin.destAddr, origin.destTon),
        content,
        origin,
      });
    } finally {
      runtime.inFlight--;
    }
  }

  async function onSubmit(runtime: AccountRuntime, pdu: SubmitSm | DataSm): Promise<HandlerResult> {
    const respCommand = pdu.command === 'submit_sm' ? 'submit_sm_resp' : 'data_sm_resp';
    if (BINARY_DATA_CODINGS.has(pdu.dataCoding)) return CommandStatus.ESME_RINVDCS;
    const limited = throttled(runtime);
    if (limited !== null) return limited;
    const origin = originOf(runtime, pdu, pdu);
    const part = partOf(pdu);
    const outcome = part.concat
      ? await runtime.reassembler.add(`${pdu.sourceAddr}|${pdu.destinationAddr}`, {
          ...part,
          concat: part.concat,
          origin,
        })
      : await submitText(runtime, origin, textOfParts([part]));
    return outcome.ok ? { command: respCommand, messageId: outcome.messageId } : outcome.status;
  }

  async function onSubmitMulti(runtime: AccountRuntime, pdu: SubmitMulti): Promise<HandlerResult> {
    if (BINARY_DATA_CODINGS.has(pdu.dataCoding)) return CommandStatus.ESME_RINVDCS;
    const part = partOf(pdu);
    // Concatenation across submit_multi PDUs is not reassembled: send each part with submit_sm.
    if (part.concat) return CommandStatus.ESME_RINVESMCLASS;
    const limited = throttled(runtime, pdu.destAddresses.length);
    if (limited !== null) return limited;
    const content = textOfParts([part]);
    const unsuccessSmes: UnsuccessSme[] = [];
    const ids: string[] = [];
    let firstError: number = CommandStatus.ESME_RSUBMITFAIL;
    const outcomes = await Promise.all(
      pdu.destAddresses.map(async (dest) => {
        if (dest.kind === 'dl')
          return { dest, outcome: { ok: false, status: CommandStatus.ESME_RINVDLNAME } as const };
        const origin = originOf(runtime, pdu, dest);
        return { dest, outcome: await submitText(runtime, origin, content) };
      }),
    );
    for (const { dest, outcome } of outcomes) {
      if (outcome.ok) ids.push(outcome.messageId);
      else {
        if (ids.length === 0 && unsuccessSmes.length === 0) firstError = outcome.status;
        unsuccessSmes.push({
          destAddrTon: dest.kind === 'sme' ? dest.destAddrTon : 0,
          destAddrNpi: dest.kind === 'sme' ? dest.destAddrNpi : 0,
          destinationAddr: dest.kind === 'sme' ? dest.destinationAddr : dest.dlName,
          errorStatusCode: outcome.status,
        });
      }
    }
    if (ids.length === 0) return firstError;
    // One message per destination; the response names the first, each receipt its own.
    return { command: 'submit_multi_resp', messageId: ids[0]!, unsuccessSmes };
  }

  function originOf(
    runtime: AccountRuntime,
    pdu: SubmitSm | DataSm | SubmitMulti,
    dest: { destAddrTon: number; destAddrNpi: number; destinationAddr: string },
  ): SmppOrigin {
    return {
      accountId: Number(runtime.account.id),
      registeredDelivery: pdu.registeredDelivery,
      sourceAddr: pdu.sourceAddr,
      sourceTon: pdu.sourceAddrTon,
      sourceNpi: pdu.sourceAddrNpi,
      destAddr: dest.destinationAddr,
      destTon: dest.destAddrTon,
      destNpi: dest.destAddrNpi,
    };
  }

  /** Counted for /metrics: every refusal of a bind or a request answered here. */
  function countRefusal(command: string, status: number): void {
    smppServerRefusals.inc({ command, status: `0x${status.toString(16).padStart(8, '0')}` });
  }

  async function onRequest(session: SmppSession, pdu: IncomingRequest): Promise<HandlerResult> {
    const result = await answerRequest(session, pdu);
    const status =
      typeof result === 'number'
        ? result
        : result !== undefined && 'commandStatus' in result
          ? Number(result.commandStatus)
          : CommandStatus.ESME_ROK;
    if (status !== CommandStatus.ESME_ROK) countRefusal(pdu.command, status);
    return result;
  }

  async function answerRequest(session: SmppSession, pdu: IncomingRequest): Promise<HandlerResult> {
    const runtime = runtimeOfSession.get(session);
    if (runtime === undefined) return CommandStatus.ESME_RINVBNDSTS;
    switch (pdu.command) {
      case 'submit_sm':
      case 'data_sm':
        return onSubmit(runtime, pdu);
      case 'submit_multi':
        return onSubmitMulti(runtime, pdu);
      case 'query_sm':
        return answerQuerySm(options.pool, { tenantId: Number(runtime.account.tenant_id), pdu });
      case 'cancel_sm':
        return answerCancelSm(options.pool, {
          tenantId: Number(runtime.account.tenant_id),
          pdu,
          now: new Date(now()),
        });
      default:
        // replace_sm: not offered (a message is canceled and submitted again).
        return CommandStatus.ESME_RINVCMDID;
    }
  }

  const serverOf = (tlsOptions?: tls.TlsOptions): SmppServer =>
    createSmppServer({
      onBind: decideBind,
      onRequest,
      logger: log,
      ...(tlsOptions ? { tls: tlsOptions } : {}),
      sessionOptions: {
        // Outstanding deliver_sm per session (our requests); submits are limited per account.
        windowSize: 10,
        maxConcurrentHandlers: 256,
        ...options.sessionOptions,
      },
    });
  const plain = serverOf();
  const secure = options.tls ? serverOf(options.tls) : null;

  // A disabled account (or a suspended tenant) loses its binds within accountCheckMs.
  const accountCheck = setInterval(() => {
    const ids = [...runtimes.keys()];
    if (ids.length === 0) return;
    options.accounts
      .activeAccountIds(ids)
      .then((active) => {
        for (const id of ids) {
          const runtime = runtimes.get(id);
          if (runtime === undefined) continue;
          if (!active.has(id)) {
            for (const session of runtime.sessions) void session.unbind().catch(() => {});
            runtime.reassembler.clear(CommandStatus.ESME_RBINDFAIL);
            runtimes.delete(id);
          } else if (
            runtime.sessions.size === 0 &&
            runtime.reassembler.waiting === 0 &&
            runtime.inFlight === 0
          ) {
            runtimes.delete(id);
          }
        }
      })
      .catch((err: unknown) => log.warn({ err }, 'SMPP server: checking bound accounts failed'));
  }, options.accountCheckMs ?? 5_000);
  accountCheck.unref();

  return {
    async listen({ host, port, tlsPort }) {
      const address: AddressInfo = await plain.listen(port, host);
      const tlsAddress = secure && tlsPort !== undefined ? await secure.listen(tlsPort, host) : null;
      return { port: address.port, tlsPort: tlsAddress?.port ?? null };
    },
    sessionsOf: (accountId) => [...(runtimes.get(accountId)?.sessions ?? [])],
    async close() {
      clearInterval(accountCheck);
      await outbox.stop();
      for (const runtime of runtimes.values()) runtime.reassembler.clear(CommandStatus.ESME_RSYSERR);
      await Promise.all([plain.close(), secure?.close()]);
    },
  };
}
