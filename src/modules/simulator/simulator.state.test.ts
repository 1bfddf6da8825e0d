// A simulator with a state folder, through real SMPP sessions: what one run owed is delivered by the
// next run on the same folder (a crash is played by starting the second without stopping the
// first), each receipt under the id its response gave and with its own outcome; sequential ids
// never repeat across runs.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bindClient,
  cleanups,
  fastProfile,
  receiptFields,
  runCleanups,
  startTestSimulator,
  submitInit,
  until,
} from './test-helpers.ts';

afterEach(runCleanups);

function stateDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hy-sim-run-'));
  cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Recipients ending in 8 or 9 are undeliverable: each receipt's outcome is known in advance.
const profiles = [fastProfile('seq', { idFormat: 'sequential', undeliveredSuffixes: ['8', '9'] })];
const recipient = (i: number) => `86138000${String(i).padStart(5, '0')}`;

describe('simulator state folder', () => {
  it('delivers after a crash what the crashed run owed, each under its id with its own outcome', async () => {
    const dir = stateDir();
    const first = await startTestSimulator({ profiles, stateDir: dir });
    // A transmitter: receipts have no session to go to, so the first run still owes them all.
    const sender = await bindClient(first.port, 'seq', { mode: 'transmitter' });
    const expected = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const resp = await sender.session.request(submitInit({ destinationAddr: recipient(i) }));
      expected.set(resp.messageId, i % 10 >= 8 ? 'UNDELIV' : 'DELIVRD');
    }
    expect([...expected.keys()]).toEqual(Array.from({ length: 20 }, (_, i) => String(1001 + i)));
    await until(() => first.stats().pendingReceipts === 20);

    const second = await startTestSimulator({ profiles, stateDir: dir });
    expect(second.stats().restoredReceipts).toBe(20);
    const receiver = await bindClient(second.port, 'seq');
    await until(() => receiver.delivered.length === 20);
    const got = new Map(
      receiver.delivered.map((pdu) => [pdu.tlvs.receiptedMessageId!, receiptFields(pdu).stat!]),
    );
    expect(got).toEqual(expected);
    for (const pdu of receiver.delivered) {
      expect(pdu.destinationAddr).toBe('10690001');
      expect(receiptFields(pdu).id).toBe(pdu.tlvs.receiptedMessageId);
    }

    // Ids go on past every id the first run may have given.
    const next = await receiver.session.request(submitInit());
    expect(Number(next.messageId)).toBeGreaterThan(1020);
  });

  it('does not send again what a client acknowledged before a clean stop', async () => {
    const dir = stateDir();
    const first = await startTestSimulator({ profiles, stateDir: dir });
    const client = await bindClient(first.port, 'seq');
    for (let i = 0; i < 10; i++) await client.session.request(submitInit({ destinationAddr: recipient(i) }));
    await until(() => client.delivered.length === 10 && first.stats().pendingReceipts === 0);
    await first.close();

    const second = await startTestSimulator({ profiles, stateDir: dir });
    expect(second.stats()).toMatchObject({ restoredReceipts: 0, pendingReceipts: 0 });
  });
});
