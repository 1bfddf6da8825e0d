import { describe, expect, it } from 'vitest';
import { loadSharedSendPolicy } from './send-content.ts';

/** A pool that counts queries and answers each when `release` is called. */
function countingDb() {
  const waiting: (() => void)[] = [];
  let queries = 0;
  const db = {
    query: () => {
      const freeText = ++queries > 3;
      return new Promise((resolve) => {
        waiting.push(() => resolve({ rows: [{ free_text: freeText, signatures: [], template: null }] }));
      });
    },
  };
  return {
    db: db as unknown as Parameters<typeof loadSharedSendPolicy>[0],
    queries: () => queries,
    release: () => waiting.splice(0).forEach((f) => f()),
  };
}

describe('shared send policy', () => {
  it('shares one query among concurrent requests of a tenant, and never keeps its answer after', async () => {
    const c = countingDb();
    const a = loadSharedSendPolicy(c.db, { tenantId: 1, templateId: null });
    const b = loadSharedSendPolicy(c.db, { tenantId: 1, templateId: null });
    const other = loadSharedSendPolicy(c.db, { tenantId: 2, templateId: null });
    const template = loadSharedSendPolicy(c.db, { tenantId: 1, templateId: 7 });
    expect(c.queries()).toBe(3);
    c.release();
    expect(await a).toBe(await b);
    await Promise.all([other, template]);
    // After it ended, the next request reads again: a change made since is seen at once.
    const later = loadSharedSendPolicy(c.db, { tenantId: 1, templateId: null });
    expect(c.queries()).toBe(4);
    c.release();
    expect((await later).freeText).toBe(true);
    expect((await a).freeText).toBe(false);
  });
});
