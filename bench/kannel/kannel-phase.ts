// The Kannel side of the side-by-side benchmark: GET /cgi-bin/sendsms → smsbox → bearerbox → SMPP
// → the SMSC's receipt → bearerbox → smsbox → dlr-url, which a counter in this process serves.
// End to end is N messages over the time from the first request to the N-th final report.
import type http from 'node:http';
import { phone } from '../e2e.ts';
import type { Cleanup } from './cleanup.ts';
import { type CpuPerMessage, cpuPerMessage, readCpu } from './cpu.ts';
import { type KannelBinaries, type KannelGateway, startKannel } from './gateway.ts';
import {
  content,
  percentile,
  perSecond,
  type ReceiptCounter,
  request,
  runClients,
  startReceiptCounter,
} from './http-load.ts';
import { type Smsc, SMSC_PASSWORD, SMSC_SYSTEM_ID, WINDOW } from './smsc.ts';

export interface KannelFigures {
  version: string;
  store: boolean;
  accepted: number;
  p50: number;
  p99: number;
  e2e: number;
  submits: number;
  cpu: CpuPerMessage;
}

// %d is the report's type, %F the SMSC's message id that Kannel matched the report by.
export function sendsmsUrl(sendsms: string, dlrUrl: string, i: number): URL {
  const url = new URL(sendsms);
  url.search = new URLSearchParams({
    username: 'bench',
    password: 'bench',
    from: '10690000',
    to: phone(i),
    text: content(i),
    charset: 'UTF-8',
    coding: '2', // UCS-2, as Hongyan sends Chinese
    'dlr-mask': '19', // final reports only: delivered 1 + undelivered 2 + rejected by the SMSC 16
    'dlr-url': `${dlrUrl}?i=${i}&t=%d&f=%F`,
  }).toString();
  return url;
}

export async function measureKannel({
  binaries,
  dir,
  smsc,
  messages,
  agent,
  cleanup,
  store,
}: {
  binaries: KannelBinaries;
  dir: string;
  smsc: Smsc;
  messages: number;
  agent: http.Agent;
  /** Kannel's spool store (a file per message in <dir>/spool) */
  store: boolean;
  cleanup: Cleanup;
}): Promise<KannelFigures> {
  const counter = await startReceiptCounter();
  cleanup.add(() => counter.close());
  const gateway = await startKannel({
    binaries,
    dir,
    smscPort: smsc.port,
    systemId: SMSC_SYSTEM_ID.kannel,
    password: SMSC_PASSWORD,
    window: WINDOW,
    store,
  });
  cleanup.add(() => gateway.stop());
  try {
    const figures = await sendThroughKannel({ gateway, counter, smsc, messages, agent });
    return { version: gateway.version, store, ...figures };
  } finally {
    // Stopped before Hongyan starts, so that the two never share the CPU.
    await gateway.stop();
    await counter.close();
  }
}

async function sendThroughKannel({
  gateway,
  counter,
  smsc,
  messages,
  agent,
}: {
  gateway: KannelGateway;
  counter: ReceiptCounter;
  smsc: Smsc;
  messages: number;
  agent: http.Agent;
}) {
  const send = async (i: number) => {
    const res = await request(agent, sendsmsUrl(gateway.sendsmsUrl, counter.url, i));
    if (res.status !== 202) throw new Error(`Kannel sendsms answered ${res.status}: ${res.text}`);
  };
  await send(messages); // warm-up, on a recipient outside the measured range
  await counter.allFinal(1);
  const before = await smsc.stats();
  const cpu0 = readCpu(gateway.pids, smsc.pid);
  const t0 = Date.now();
  const latencies = await runClients({ total: messages, send });
  const tAccepted = Date.now();
  const tFinal = await counter.allFinal(messages + 1);
  const cpu1 = readCpu(gateway.pids, smsc.pid);
  const after = await smsc.stats();
  return {
    accepted: perSecond(messages, tAccepted - t0),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    e2e: perSecond(messages, tFinal - t0),
    submits: after.submits - before.submits,
    cpu: cpuPerMessage(cpu0, cpu1, messages),
  };
}
