// Helpers shared by the simulator's tests: a seeded random(), a simulator on a free port with
// fast test profiles, and SMPP clients (our own connectAndBind) that record what they receive.

import pino from 'pino';
import type { DeliverSm, PduInit, SubmitSm } from '../../smpp/pdu-types.ts';
import type { ConnectAndBindOptions, HandlerResult, SmppSession } from '../../smpp/session.ts';
import { connectAndBind } from '../../smpp/session.ts';
import type { SimulatorProfile } from './simulator.models.ts';
import { BUILT_IN_PROFILES } from './simulator.models.ts';
import type { RunningSimulator, SimulatorOptions } from './simulator.ts';
import { startSimulator } from './simulator.ts';

/** A small seeded generator (mulberry32), so that the statistical checks are reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A profile like `default` but with receipts after 1-5 ms, changed by `fields`. */
export function fastProfile(name: string, fields: Partial<SimulatorProfile> = {}): SimulatorProfile {
  return {
    ...BUILT_IN_PROFILES[0]!,
    receiptLatencyMs: { min: 1, median: 2, max: 5 },
    replyLatencyMs: { min: 1, median: 2, max: 5 },
    ...fields,
    name,
  };
}

export const silentLogger = pino({ level: 'silent' });

/** Runs registered cleanups, newest first; call from afterEach. */
export const cleanups: (() => unknown)[] = [];
export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export async function startTestSimulator(options: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  const simulator = await startSimulator({
    port: 0,
    logger: silentLogger,
    random: seeded(42),
    retryDelayMs: () => 5,
    ...options,
  });
  cleanups.push(() => simulator.close());
  return simulator;
}

export interface TestClient {
  session: SmppSession;
  /** Every deliver_sm received, in order. */
  delivered: DeliverSm[];
  /** Commands of every PDU received, in order. */
  arrivals: string[];
}

/**
 * Binds our SMPP client to the simulator. `answer` decides each deliver_sm's response status
 * (default ESME_ROK).
 */
export async function bindClient(
  port: number,
  systemId: string,
  options: Partial<ConnectAndBindOptions> & {
    answer?: (pdu: DeliverSm) => HandlerResult | Promise<HandlerResult>;
  } = {},
): Promise<TestClient> {
  const delivered: DeliverSm[] = [];
  const arrivals: string[] = [];
  const { answer, ...bindOptions } = options;
  const session = await connectAndBind({
    host: '127.0.0.1',
    port,
    mode: 'transceiver',
    systemId,
    password: 'pw',
    windowSize: 100,
    requestTimeoutMs: 2000,
    enquireLinkIntervalMs: 0,
    connectTimeoutMs: 1000,
    handlers: {
      onRequest: (_s, pdu): HandlerResult | Promise<HandlerResult> => {
        if (pdu.command !== 'deliver_sm') return 0;
        delivered.push(pdu);
        return answer ? answer(pdu) : 0;
      },
    },
    ...bindOptions,
  });
  session.on('pdu', (pdu, direction) => {
    if (direction === 'in') arrivals.push(pdu.command);
  });
  cleanups.push(() => session.close());
  return { session, delivered, arrivals };
}

export function submitInit(
  fields: Partial<PduInit<SubmitSm>> = {},
): PduInit<SubmitSm> & { command: 'submit_sm' } {
  return {
    command: 'submit_sm',
    serviceType: '',
    sourceAddrTon: 0,
    sourceAddrNpi: 0,
    sourceAddr: '10690001',
    destAddrTon: 1,
    destAddrNpi: 1,
    destinationAddr: '8613800138000',
    esmClass: 0,
    protocolId: 0,
    priorityFlag: 0,
    scheduleDeliveryTime: '',
    validityPeriod: '',
    registeredDelivery: 1,
    replaceIfPresentFlag: 0,
    dataCoding: 0,
    smDefaultMsgId: 0,
    shortMessage: Buffer.from('hello world'),
    ...fields,
  };
}

/** Resolves once check() is true, checking every few ms; fails after timeoutMs. */
export async function until(check: () => boolean, timeoutMs = 900): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Fields of a receipt text, `id:… sub:… stat:…`. */
export function receiptFields(pdu: DeliverSm): Record<string, string> {
  const text = pdu.shortMessage.toString('latin1');
  const fields: Record<string, string> = {};
  const re = /(id|sub|dlvrd|submit date|done date|stat|err|text):(\S*)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) fields[m[1]!] = m[2]!;
  return fields;
}
