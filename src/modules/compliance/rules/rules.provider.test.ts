// The provider on a real PostgreSQL: compiled once and served without a query while fresh, at
// once after invalidate(), within the check interval after a change made by another node, and
// still serving what it has when the database is unreachable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import type { Queryable } from '../../accounts/audit.ts';
import { evaluateContent } from './rules.models.ts';
import { createRulesProvider } from './rules.provider.ts';
import { addWords } from './rules.usecases.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

/** Counts the statements the provider sends, and can make them fail. */
function countingDb() {
  const counter = { queries: 0, failing: false };
  const db: Queryable = {
    query: ((...args: Parameters<Queryable['query']>) => {
      counter.queries++;
      if (counter.failing) return Promise.reject(new Error('connection refused'));
      return (t.db.pool.query as (...a: unknown[]) => unknown)(...args);
    }) as Queryable['query'],
  };
  return { db, counter };
}

const blocks = (
  rules: Awaited<ReturnType<ReturnType<typeof createRulesProvider>['current']>>,
  text: string,
) => evaluateContent({ content: text, type: 'notification', subject: 'message' }, rules).blocked;

const by = { actor: 'staff:1', ip: null };

describe('rules provider', () => {
  it('compiles once and answers from memory until the check interval passes', async () => {
    let now = 0;
    const { db, counter } = countingDb();
    const provider = createRulesProvider(db, { checkIntervalMs: 3000, now: () => now });
    const first = await provider.current();
    const afterLoad = counter.queries;
    expect(afterLoad).toBe(2); // the revision, then the sets
    now = 2999;
    expect(await provider.current()).toBe(first);
    expect(counter.queries).toBe(afterLoad);
    now = 3000;
    expect(await provider.current()).toBe(first); // nothing changed: the revision alone was read
    expect(counter.queries).toBe(afterLoad + 1);
  });

  it('concurrent callers share one load', async () => {
    const { db, counter } = countingDb();
    const provider = createRulesProvider(db);
    const all = await Promise.all(Array.from({ length: 20 }, () => provider.current()));
    expect(new Set(all).size).toBe(1);
    expect(counter.queries).toBe(2);
  });

  it('a change on this node counts at once after invalidate()', async () => {
    const provider = createRulesProvider(t.db.pool, { now: () => 0 });
    expect(blocks(await provider.current(), '今日甲乙特价')).toBe(false);
    await addWords({ pool: t.db.pool, id: 'banned_words', words: ['甲乙'], by, now: new Date() });
    provider.invalidate();
    expect(blocks(await provider.current(), '今日甲乙特价')).toBe(true);
  });

  it("another node's change is seen within the check interval, through the revision row", async () => {
    let now = 0;
    const mine = createRulesProvider(t.db.pool, { checkIntervalMs: 3000, now: () => now });
    expect(blocks(await mine.current(), '丙丁到货')).toBe(false);
    // Another process: its own provider and its own edit; this one is never told.
    const other = createRulesProvider(t.db.pool);
    await addWords({ pool: t.db.pool, id: 'banned_words', words: ['丙丁'], by, now: new Date() });
    other.invalidate();
    expect(blocks(await mine.current(), '丙丁到货')).toBe(false); // still within the interval
    now = 3000;
    expect(blocks(await mine.current(), '丙丁到货')).toBe(true);
  });

  it('keeps serving the compiled sets when the database cannot be reached, and reports it', async () => {
    let now = 0;
    const errors: unknown[] = [];
    const { db, counter } = countingDb();
    const provider = createRulesProvider(db, { now: () => now, onError: (e) => errors.push(e) });
    const compiled = await provider.current();
    counter.failing = true;
    now = 10_000;
    expect(await provider.current()).toBe(compiled);
    expect(errors).toHaveLength(1);
  });

  it('with nothing compiled yet, a failing database is an error', async () => {
    const { db, counter } = countingDb();
    counter.failing = true;
    await expect(createRulesProvider(db).current()).rejects.toThrow('connection refused');
  });
});
