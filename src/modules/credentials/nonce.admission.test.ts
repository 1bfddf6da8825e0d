import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import type { NewMessageRow } from '../messages/messages.repository.ts';
import { nonceAdmissionStep } from './nonce.admission.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

const row = (nonce?: string): NewMessageRow => ({
  tenantId: 1,
  batchId: null,
  type: 'notification',
  priority: 1,
  recipient: '+8613800000000',
  content: 'x',
  encoding: 'gsm7',
  parts: 1,
  clientRef: null,
  sendAt: null,
  ...(nonce === undefined ? {} : { nonce: { appKey: 'ak_test', nonce } }),
});

describe('nonce admission step', () => {
  it('admits each new nonce once, refuses a nonce seen before or twice in one group, and leaves unsigned rows alone', async () => {
    const step = nonceAdmissionStep();
    const client = await t.db.pool.connect();
    try {
      const context = { now: new Date(), allOrNothing: false };
      const first = await step.check(
        client,
        [row('nonce-aaaaaaaaaaaa'), row(), row('nonce-aaaaaaaaaaaa')],
        context,
      );
      expect(first.map((e) => e?.code ?? null)).toEqual([null, null, 'auth.nonce_replayed']);
      const second = await step.check(
        client,
        [row('nonce-bbbbbbbbbbbb'), row('nonce-aaaaaaaaaaaa')],
        context,
      );
      expect(second.map((e) => e?.code ?? null)).toEqual([null, 'auth.nonce_replayed']);
      const { rows } = await client.query('select nonce from api_nonces order by nonce');
      expect(rows.map((r) => r.nonce)).toEqual(['nonce-aaaaaaaaaaaa', 'nonce-bbbbbbbbbbbb']);
    } finally {
      client.release();
    }
  });
});
