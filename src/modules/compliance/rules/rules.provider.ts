// The compiled rule sets of this process. Compiling 20,000 words takes tens of milliseconds, so it
// happens once and again only when a set changed: at once after a change made through this node
// (invalidate), and within `checkIntervalMs` after one made on another node, seen by reading the
// one revision row (a primary-key read) at most that often. Sends in between use the compiled
// sets without touching the database.
import type { Queryable } from '../../accounts/audit.ts';
import { compileRules, type CompiledRules } from './rules.models.ts';
import { loadRuleSets, readRevision } from './rules.repository.ts';

export interface RulesProvider {
  current(): Promise<CompiledRules>;
  /** Forget the compiled sets: the next current() reloads them (after a change on this node). */
  invalidate(): void;
}

export function createRulesProvider(
  db: Queryable,
  {
    checkIntervalMs = 3_000,
    now = () => Date.now(),
    onError = () => {},
  }: {
    checkIntervalMs?: number;
    now?: () => number;
    /** A failed revision check while compiled sets exist: they keep serving; reported here. */
    onError?: (error: unknown) => void;
  } = {},
): RulesProvider {
  let compiled: CompiledRules | null = null;
  let revision = -1;
  let checkedAt = -Infinity;
  let refreshing: Promise<CompiledRules> | null = null;
  // Bumped by invalidate(): a refresh that began before a change may have read the old sets, so
  // its result must not count as checked.
  let generation = 0;

  const refresh = async (): Promise<CompiledRules> => {
    const latest = await readRevision(db);
    if (compiled && latest === revision) return compiled;
    const loaded = await loadRuleSets(db);
    compiled = compileRules(loaded.sets);
    revision = loaded.revision;
    return compiled;
  };

  let refreshingGeneration = -1;

  const run = async (started: number): Promise<CompiledRules> => {
    try {
      const result = await refresh();
      if (started === generation) checkedAt = now();
      else revision = -1;
      return result;
    } catch (error) {
      if (!compiled) throw error;
      onError(error);
      if (started === generation) checkedAt = now(); // retry after another interval, serving what we have
      return compiled;
    }
  };

  return {
    current() {
      if (compiled && now() - checkedAt < checkIntervalMs) return Promise.resolve(compiled);
      // One check at a time, shared by concurrent sends; one that began before an invalidate()
      // is followed by a fresh one rather than reused.
      if (refreshing && refreshingGeneration === generation) return refreshing;
      const started = generation;
      const previous = refreshing ?? Promise.resolve(null);
      const next = previous
        .catch(() => null)
        .then(() => run(started))
        .finally(() => {
          if (refreshing === next) refreshing = null;
        });
      refreshing = next;
      refreshingGeneration = started;
      return next;
    },
    invalidate() {
      generation++;
      checkedAt = -Infinity;
      revision = -1;
    },
  };
}
