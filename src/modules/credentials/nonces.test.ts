import { describe, expect, it } from 'vitest';
import { createNonceRecorder } from './nonces.ts';

function fakeRepository() {
  const stored = new Set<string>();
  const statements: number[] = [];
  return {
    stored,
    statements,
    async rememberNonces(rows: { appKey: string; nonce: string }[]) {
      statements.push(rows.length);
      await new Promise((r) => setImmediate(r));
      return rows.map((r) => {
        const id = `${r.appKey}\n${r.nonce}`;
        if (stored.has(id)) return false;
        stored.add(id);
        return true;
      });
    },
  };
}

describe('nonce group commit', () => {
  it('nonces that arrive while a write is in flight go out together in the next statement', async () => {
    const repository = fakeRepository();
    const recorder = createNonceRecorder({ repository });
    const at = new Date(0);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => recorder.remember('k', `n${i}`, at)),
    );
    expect(answers).toEqual(Array(10).fill(true));
    expect(repository.statements).toEqual([1, 9]);
  });

  it('the same nonce twice in one group: the first is new, the second a replay', async () => {
    const repository = fakeRepository();
    const recorder = createNonceRecorder({ repository });
    const at = new Date(0);
    const [first, a, b, other] = await Promise.all([
      recorder.remember('k', 'first', at),
      recorder.remember('k', 'dup', at),
      recorder.remember('k', 'dup', at),
      recorder.remember('other-key', 'dup', at),
    ]);
    expect([first, a, b, other]).toEqual([true, true, false, true]);
  });

  it('a failed statement fails each request of its group, and the next group is written', async () => {
    let fail = true;
    const recorder = createNonceRecorder({
      repository: {
        async rememberNonces(rows) {
          await new Promise((r) => setImmediate(r));
          if (fail) throw new Error('database down');
          return rows.map(() => true);
        },
      },
    });
    const at = new Date(0);
    const failed = await Promise.allSettled([
      recorder.remember('k', 'a', at),
      recorder.remember('k', 'b', at),
    ]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await recorder.remember('k', 'c', at)).toBe(true);
  });
});
