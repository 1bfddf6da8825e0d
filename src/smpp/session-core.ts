// SmppSession: one SMPP connection, either side. The bind state machine (section 2.3), bind and
// unbind for the ESME side, bind decisions for the SMSC side, and dispatch of incoming requests to
// (possibly async) handlers. The connection plumbing it stands on is SessionBase.

import { CommandStatus, SMPP_VERSION_34, statusName } from './constants.ts';
import { BindError, GenericNackError, InvalidStateError, SessionClosedError } from './errors.ts';
import { responseFor, settle } from './handler-result.ts';
import { buildPdu } from './pdu.ts';
import type { BindRequestPdu, BindResponsePdu, GenericNack, Pdu, ResponsePdu } from './pdu-types.ts';
import { responseCommandOf } from './pdu-types.ts';
import { SessionBase } from './session-base.ts';
import {
  type BindMode,
  bindCommandOf,
  bindModeOf,
  isBound,
  mayReceive,
  type SessionState,
} from './session-rules.ts';
import type { BindParams, IncomingRequest } from './session-types.ts';

export type { WindowedCommand } from './session-base.ts';

export class SmppSession extends SessionBase {
  private bindInProgress = false;
  private pendingBind: BindMode | null = null;
  /** The bound state our own unbind() left, while it goes out (see onIncomingRequest). */
  private unbindingFrom: SessionState | null = null;

  /** ESME side: binds; resolves with the bind_resp, rejects with BindError when refused. */
  async bind(params: BindParams): Promise<BindResponsePdu> {
    const command = bindCommandOf[params.mode];
    if (this.role !== 'esme' || this.currentState !== 'OPEN' || this.bindInProgress) {
      throw new InvalidStateError(command, this.bindInProgress ? 'OPEN (binding)' : this.currentState);
    }
    const init = buildPdu(command, {
      systemId: params.systemId,
      password: params.password,
      systemType: params.systemType ?? '',
      interfaceVersion: params.interfaceVersion ?? SMPP_VERSION_34,
      addrTon: params.addrTon ?? 0,
      addrNpi: params.addrNpi ?? 0,
      addressRange: params.addressRange ?? '',
    });
    this.bindInProgress = true;
    this.pendingBind = params.mode;
    let resp: BindResponsePdu;
    try {
      resp = (await this.window.sendNow(init, this.settings.requestTimeoutMs)) as BindResponsePdu;
    } catch (error) {
      if (error instanceof GenericNackError) throw new BindError(error.status, undefined, { cause: error });
      throw error;
    } finally {
      this.bindInProgress = false;
      this.pendingBind = null;
    }
    if (resp.commandStatus !== CommandStatus.ESME_ROK) throw new BindError(resp.commandStatus);
    // beforeResponseSettles bound the session as the response arrived; a close since then wins.
    if (!isBound(this.currentState)) throw new SessionClosedError(this.closeReason || this.currentState);
    return resp;
  }

  /**
   * Binds the moment a successful bind_resp is read, not after bind()'s await resumes: carriers
   * send stored receipts right behind the bind_resp, often in the same TCP read, and a deliver_sm
   * handled before the state changed would be refused with ESME_RINVBNDSTS.
   */
  protected override beforeResponseSettles(pdu: ResponsePdu | GenericNack): void {
    const mode = this.pendingBind;
    if (mode === null || this.currentState !== 'OPEN') return;
    if (pdu.command !== `${bindCommandOf[mode]}_resp` || pdu.commandStatus !== CommandStatus.ESME_ROK) return;
    this.pendingBind = null;
    this.becomeBound(mode, (pdu as BindResponsePdu).systemId);
  }

  /**
   * Unbinds politely: takes no new requests (queued ones fail with SessionClosedError), waits for
   * outstanding responses, sends unbind, waits for unbind_resp (each wait at most
   * unbindTimeoutMs), then ends the connection. Resolves once closed.
   */
  async unbind(): Promise<void> {
    if (this.currentState === 'CLOSED') return;
    if (this.currentState === 'UNBOUND') {
      await this.closed;
      return;
    }
    if (!isBound(this.currentState)) {
      this.close('unbind before bind');
      return;
    }
    this.unbindingFrom = this.currentState;
    this.currentState = 'UNBOUND';
    this.window.failWaiting(new SessionClosedError('unbinding'));
    const timeoutMs = this.settings.unbindTimeoutMs;
    await this.window.whenIdle(timeoutMs);
    if (this.currentState !== 'UNBOUND') return;
    try {
      await this.window.sendNow(buildPdu('unbind'), timeoutMs);
    } catch (error) {
      this.log.debug({ err: error }, 'no unbind_resp; closing anyway');
    }
    if (this.currentState !== 'UNBOUND') return;
    // Requests taken while unbinding (receipts, see onIncomingRequest) are answered before the
    // connection ends: an unanswered one the carrier sends again, and it is stored twice.
    await this.inbound.whenIdle(timeoutMs);
    this.end('unbound');
  }

  protected override onRequest(pdu: Exclude<Pdu, ResponsePdu | GenericNack>): void {
    const seq = pdu.sequenceNumber;
    switch (pdu.command) {
      case 'enquire_link':
        this.respondStatus('enquire_link_resp', seq, CommandStatus.ESME_ROK);
        return;
      case 'unbind':
        // UNBOUND too: both sides may unbind at the same moment.
        if (!isBound(this.currentState) && this.currentState !== 'UNBOUND') {
          this.respondStatus('unbind_resp', seq, CommandStatus.ESME_RINVBNDSTS);
          return;
        }
        this.respondStatus('unbind_resp', seq, CommandStatus.ESME_ROK);
        this.currentState = 'UNBOUND';
        this.end('unbound by peer');
        return;
      case 'bind_transmitter':
      case 'bind_receiver':
      case 'bind_transceiver':
        this.onBindRequest(pdu);
        return;
      case 'outbind':
        if (this.role === 'esme' && this.currentState === 'OPEN') {
          this.emit('outbind', pdu);
          this.handlers.onOutbind?.(this, pdu);
        } else {
          this.log.warn({ state: this.currentState }, 'unexpected outbind ignored');
        }
        return;
      default:
        this.onIncomingRequest(pdu);
    }
  }

  private onBindRequest(pdu: BindRequestPdu): void {
    const respCommand = responseCommandOf[pdu.command];
    const seq = pdu.sequenceNumber;
    if (this.role !== 'smsc' || (this.currentState !== 'OPEN' && !isBound(this.currentState))) {
      this.respondStatus(respCommand, seq, CommandStatus.ESME_RINVBNDSTS);
      return;
    }
    if (this.currentState !== 'OPEN' || this.bindInProgress) {
      this.respondStatus(respCommand, seq, CommandStatus.ESME_RALYBND);
      return;
    }
    const onBind = this.handlers.onBind;
    if (onBind === undefined) {
      this.respondStatus(respCommand, seq, CommandStatus.ESME_RBINDFAIL);
      this.end('bind refused: no bind handler');
      return;
    }
    this.bindInProgress = true;
    this.inbound.handlerStarted();
    settle(
      () => onBind(this, pdu),
      (decision, error) => {
        this.bindInProgress = false;
        if (this.currentState === 'OPEN') {
          if (error !== undefined || decision === undefined) {
            this.reportError(error, 'bind handler failed');
            decision = { status: CommandStatus.ESME_RSYSERR };
          }
          const ok = decision.status === CommandStatus.ESME_ROK;
          const tlvs =
            ok && pdu.interfaceVersion >= SMPP_VERSION_34 ? { scInterfaceVersion: SMPP_VERSION_34 } : {};
          const systemId = decision.systemId ?? '';
          this.respond(
            buildPdu(respCommand, { sequenceNumber: seq, commandStatus: decision.status, systemId, tlvs }),
          );
          // A refused bind closes the connection: guessing passwords on one socket is no use case.
          if (ok) this.becomeBound(bindModeOf(pdu.command), pdu.systemId);
          else this.end(`bind refused: ${statusName(decision.status)}`);
        }
        this.inbound.handlerFinished();
      },
    );
  }

  private onIncomingRequest(pdu: IncomingRequest): void {
    const seq = pdu.sequenceNumber;
    const respCommand = pdu.command === 'alert_notification' ? undefined : responseCommandOf[pdu.command];
    // Until the carrier reads our unbind it sees a bound session, and sends what that allows: a
    // receipt refused here (ESME_RINVBNDSTS) is lost with a carrier that takes any answer as
    // delivery (found with the npm `smpp` SMSC when a node handed a bind over). So while its own
    // unbind goes out, an ESME takes requests as its bind did. An SMSC still refuses a customer's
    // submit then: the customer is told, nothing is lost.
    const state =
      this.currentState === 'UNBOUND' && this.role === 'esme' && this.unbindingFrom !== null
        ? this.unbindingFrom
        : this.currentState;
    if (!mayReceive(this.role, state, pdu.command)) {
      if (respCommand === undefined)
        this.log.warn({ state: this.currentState }, `${pdu.command} not allowed; ignored`);
      else this.respondStatus(respCommand, seq, CommandStatus.ESME_RINVBNDSTS);
      return;
    }
    const handler = this.handlers.onRequest;
    if (handler === undefined) {
      // RSYSERR rather than RINVCMDID: carriers retry it, so nothing is lost once a handler exists.
      this.log.warn({ command: pdu.command }, 'no request handler; answering ESME_RSYSERR');
      if (respCommand !== undefined) this.respondStatus(respCommand, seq, CommandStatus.ESME_RSYSERR);
      return;
    }
    this.inbound.handlerStarted();
    settle(
      () => handler(this, pdu),
      (result, error) => {
        const resp =
          error === undefined && respCommand !== undefined
            ? responseFor(respCommand, seq, result)
            : undefined;
        if (error !== undefined || resp instanceof Error) {
          this.reportError(error ?? resp, `${pdu.command} handler failed; answering ESME_RSYSERR`);
        }
        if (respCommand !== undefined && this.currentState !== 'CLOSED') {
          if (resp === undefined || resp instanceof Error)
            this.respondStatus(respCommand, seq, CommandStatus.ESME_RSYSERR);
          else this.respond(resp);
        }
        this.inbound.handlerFinished();
      },
    );
  }
}
