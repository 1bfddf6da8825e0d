// The store-and-forward router with fake receivers: window limits, bounded storage, retries.

import { afterEach, describe, expect, it } from 'vitest';
import { SessionClosedError } from '../../smpp/errors.ts';
import type { DeliverSm, DeliverSmResp, PduInit } from '../../smpp/pdu-types.ts';
import { DELIVERED } from './decisions.models.ts';
import type { DeliveryReceiver, PendingDelivery } from './deliveries.ts';
import { DeliveryRouter, retryDelayMs } from './deliveries.ts';
import { silentLogger, until } from './test-helpers.ts';

type Init = PduInit<DeliverSm> & { command: 'deliver_sm' };

/** A receiver whose responses the test gives by hand. */
class FakeReceiver implements DeliveryReceiver {
  readonly sent: { id: string; answer: (status: number) => void; fail: (e: Error) => void }[] = [];
  constructor(readonly window: number) {}
  get windowFree(): number {
    return this.window - this.sent.length;
  }
  request(init: Init): Promise<DeliverSmResp> {
    return new Promise((resolve, reject) => {
      const entry = {
        id: init.tlvs?.receiptedMessageId ?? '',
        answer: (status: number) => {
          this.sent.splice(this.sent.indexOf(entry), 1);
          resolve({
            command: 'deliver_sm_resp',
            messageId: '',
            sequenceNumber: 1,
            commandStatus: status,
            tlvs: {},
          });
        },
        fail: (error: Error) => {
          this.sent.splice(this.sent.indexOf(entry), 1);
          reject(error);
        },
      };
      this.sent.push(entry);
    });
  }
}

function item(id: string, systemId = 'sys'): PendingDelivery {
  return {
    kind: 'receipt',
    seq: 0,
    systemId,
    messageId: id,
    handset: '8613800138000',
    handsetTon: 1,
    handsetNpi: 1,
    sender: '10690001',
    senderTon: 0,
    senderNpi: 0,
    submittedAt: 0,
    doneAt: 0,
    fate: DELIVERED,
    text: '',
    attempts: 0,
  };
}

let router: DeliveryRouter | undefined;
afterEach(() => router?.close());

/** What the router told its journal, in order. */
function recordingJournal() {
  const events: string[] = [];
  return {
    events,
    added: (i: PendingDelivery) => events.push(`added ${i.messageId}`),
    done: (i: PendingDelivery) => events.push(`done ${i.messageId}`),
  };
}

function newRouter(maxStoredPerSystem = 100, journal?: ReturnType<typeof recordingJournal>) {
  router = new DeliveryRouter({
    journal,
    build: (i) => ({ command: 'deliver_sm', tlvs: { receiptedMessageId: i.messageId } }) as Init,
    now: Date.now,
    logger: silentLogger,
    maxStoredPerSystem,
    resolutionMs: 1,
    retryDelayMs: () => 1,
  });
  return router;
}

describe('DeliveryRouter', () => {
  it('keeps at most a window of deliver_sm in flight, and sends more as answers come', async () => {
    const r = newRouter();
    const receiver = new FakeReceiver(2);
    r.addReceiver('sys', receiver);
    for (const id of ['a', 'b', 'c', 'd', 'e']) r.add(item(id), 0);
    await until(() => receiver.sent.length === 2);
    expect(r.stats()).toMatchObject({ pending: 5, inFlight: 2 });
    receiver.sent[0]!.answer(0);
    await Promise.resolve();
    r.pump('sys'); // what the session's 'slot' event does
    expect(receiver.sent.map((s) => s.id)).toEqual(['b', 'c']);
    while (receiver.sent.length > 0) {
      receiver.sent[0]!.answer(0);
      await Promise.resolve();
      r.pump('sys');
    }
    expect(r.stats()).toMatchObject({ receiptsSent: 5, pending: 0, inFlight: 0 });
  });

  it('stores per system_id up to a bound, dropping and counting the oldest', async () => {
    const r = newRouter(3);
    for (const id of ['1', '2', '3', '4', '5']) r.add(item(id), 0);
    r.add(item('other', 'sys2'), 0);
    await until(() => r.stats().dropped === 2);
    const receiver = new FakeReceiver(10);
    r.addReceiver('sys', receiver);
    expect(receiver.sent.map((s) => s.id)).toEqual(['3', '4', '5']);
    expect(r.stats().pending).toBe(4);
  });

  it('queues again what a closed session failed, and retries later what was refused', async () => {
    const r = newRouter();
    const first = new FakeReceiver(10);
    r.addReceiver('sys', first);
    r.add(item('x'), 0);
    r.add(item('y'), 0);
    await until(() => first.sent.length === 2);
    r.removeReceiver('sys', first);
    first.sent[0]!.fail(new SessionClosedError('gone'));
    first.sent[0]!.answer(0x08);
    const second = new FakeReceiver(10);
    r.addReceiver('sys', second);
    await until(() => second.sent.length === 2);
    expect(second.sent.map((s) => s.id).sort()).toEqual(['x', 'y']);
    expect(r.stats().retries).toBe(1);
  });

  it('deliverNow stores the item when no receiver is bound', async () => {
    const r = newRouter();
    await r.deliverNow(item('z'));
    expect(r.stats().pending).toBe(1);
    const receiver = new FakeReceiver(1);
    r.addReceiver('sys', receiver);
    expect(receiver.sent.map((s) => s.id)).toEqual(['z']);
  });

  it('tells its journal of each item once when added, and once when acknowledged or dropped', async () => {
    const journal = recordingJournal();
    const r = newRouter(1, journal);
    r.add(item('refused'), 0);
    const receiver = new FakeReceiver(10);
    r.addReceiver('sys', receiver);
    await until(() => receiver.sent.length === 1);
    receiver.sent[0]!.answer(0x08); // refused: retried later, still owed
    await until(() => receiver.sent.length === 1);
    receiver.sent[0]!.answer(0);
    await Promise.resolve();
    r.removeReceiver('sys', receiver);
    r.add(item('dropped'), 0);
    r.add(item('kept'), 0); // the store holds one: the older is dropped
    await until(() => r.stats().dropped === 1);
    await r.deliverNow(item('early')); // stored as well, so 'kept' is dropped in turn
    expect(journal.events).toEqual([
      'added refused',
      'done refused',
      'added dropped',
      'added kept',
      'done dropped',
      'added early',
      'done kept',
    ]);
  });

  it('delivers restored items without adding them to the journal again', async () => {
    const journal = recordingJournal();
    const r = newRouter(100, journal);
    r.restore({ ...item('old'), seq: 7 });
    const receiver = new FakeReceiver(10);
    r.addReceiver('sys', receiver);
    await until(() => receiver.sent.length === 1);
    receiver.sent[0]!.answer(0);
    await until(() => journal.events.length === 1);
    expect(journal.events).toEqual(['done old']);
  });

  it('backs off 1 s, doubling, up to a minute', () => {
    expect([1, 2, 3, 7, 20].map(retryDelayMs)).toEqual([1000, 2000, 4000, 60_000, 60_000]);
  });
});
