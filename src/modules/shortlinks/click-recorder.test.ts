import { describe, expect, it } from 'vitest';
import { createClickRecorder } from './click-recorder.ts';
import type { Click } from './shortlinks.sql.ts';

const click = (linkId: number): Click => ({
  linkId,
  tenantId: 1,
  at: new Date(0),
  userAgent: null,
  device: 'mobile',
});

/** A pool whose insert fails while `down` is true, and keeps the link ids of what it stored. */
function fakePool() {
  const stored: number[] = [];
  const state = { down: false, statements: 0 };
  const pool = {
    query: async (_text: string, values: unknown[]) => {
      state.statements++;
      if (state.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      stored.push(...(values[0] as number[]));
      return { rows: [] };
    },
  };
  return { pool: pool as never, stored, state };
}

describe('click recorder', () => {
  it('writes a burst in a few multi-row statements, every click once and in order', async () => {
    const { pool, stored, state } = fakePool();
    const recorder = createClickRecorder({ pool, batchSize: 500, onError: () => {} });
    for (let i = 1; i <= 2000; i++) recorder.record(click(i));
    await recorder.flush();
    expect(stored).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(state.statements).toBe(4);
    expect(recorder.pending).toBe(0);
  });

  it('keeps the clicks while PostgreSQL is down and writes them all once it is back', async () => {
    const { pool, stored, state } = fakePool();
    const errors: { pending: number }[] = [];
    const recorder = createClickRecorder({
      pool,
      intervalMs: 5,
      maxRetryMs: 20,
      onError: (_err, detail) => errors.push(detail),
    });
    state.down = true;
    for (let i = 1; i <= 300; i++) recorder.record(click(i));
    await recorder.flush();
    expect(errors.length).toBeGreaterThan(0);
    expect(recorder.pending).toBe(300);
    for (let i = 301; i <= 400; i++) recorder.record(click(i));
    state.down = false;
    // The retry timer writes them; poll, never sleep-and-hope.
    for (let waited = 0; recorder.pending > 0 && waited < 10_000; waited += 10)
      await new Promise((r) => setTimeout(r, 10));
    expect(stored).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(recorder.dropped).toBe(0);
    await recorder.close();
  });

  it('holds at most maxBuffered clicks and counts the ones it had to drop', async () => {
    const { pool, stored, state } = fakePool();
    const recorder = createClickRecorder({ pool, maxBuffered: 100, onError: () => {} });
    state.down = true;
    for (let i = 1; i <= 150; i++) recorder.record(click(i));
    expect([recorder.pending, recorder.dropped]).toEqual([100, 50]);
    state.down = false;
    await recorder.close();
    expect(stored).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('reports the clicks a stop could not write as dropped', async () => {
    const { pool, state } = fakePool();
    const lost: number[] = [];
    const recorder = createClickRecorder({ pool, onError: (_e, d) => lost.push(d.dropped) });
    state.down = true;
    for (let i = 1; i <= 10; i++) recorder.record(click(i));
    await recorder.close();
    expect(recorder.dropped).toBe(10);
    expect(lost.at(-1)).toBe(10);
  });
});
