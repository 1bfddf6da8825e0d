// The dispatcher against a fake pool: a channel that stops while a claim is in flight gets none
// of the claimed messages when another channel is still bound.
import type pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ChannelConnector } from './connector.ts';
import type { ClaimedMessage } from './dispatch.sql.ts';
import { startDispatcher } from './dispatcher.ts';

const deadlines = { verificationSeconds: 600, notificationSeconds: 86_400, marketingSeconds: 86_400 };

function fakeConnector(name: string) {
  const got: ClaimedMessage[] = [];
  const c = {
    name,
    isReady: true,
    get demand() {
      return c.isReady ? 5 : 0;
    },
    enqueue: (ms: ClaimedMessage[]) => got.push(...ms),
  };
  return { connector: c as unknown as ChannelConnector & { isReady: boolean }, got };
}

const claimedRow = (id: number) => ({
  id,
  tenant_id: 1,
  priority: 1,
  recipient: `+8613800000${id}`,
  content: 'x',
  parts: 1,
  attempts: 1,
  duplicate_risk: false,
  sender_code: null,
  status: 'sending',
  deadline_ms: Date.now() + 60_000,
});

describe('the dispatcher', () => {
  it('routes a claim only to channels still bound when it returns', async () => {
    const a = fakeConnector('a');
    const b = fakeConnector('b');
    let claims = 0;
    const pool = {
      query: async () => {
        claims++;
        if (claims > 1) return { rows: [] };
        // syncChannels stops channel a while the claim is in flight.
        a.connector.isReady = false;
        return { rows: [1, 2, 3, 4, 5, 6, 7, 8].map(claimedRow) };
      },
    } as unknown as pg.Pool;
    const dispatcher = startDispatcher({
      pool,
      nodeId: 'n',
      logger: pino({ level: 'silent' }),
      connectors: () => [a.connector, b.connector],
      deadlines,
      idlePollMs: 5,
    });
    for (let i = 0; i < 200 && b.got.length < 8; i++) await new Promise((r) => setTimeout(r, 5));
    await dispatcher.stop();
    expect(a.got).toEqual([]);
    // More than b asked for: the rest would have gone to the first channel, the stopped one.
    expect(b.got.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
