// The operator's edits of the content rule sets: each in one transaction that locks the set,
// changes it, bumps its version and the revision other nodes watch, and writes the audit row.
// Word lists are checked whole before anything is written: a bad line changes nothing.
import type pg from 'pg';
import { withTransaction } from '../../../db/pool.ts';
import { audit } from '../../accounts/audit.ts';
import { invalidRuleWords, ruleSetNotFound } from './rules.errors.ts';
import type { Severity } from './rules.models.ts';
import {
  bumpVersion,
  deleteWords,
  deleteWordsExcept,
  findRuleSet,
  insertWords,
  updateRuleSet,
  type RuleSetRow,
} from './rules.repository.ts';
import { type BadLine, MAX_WORDS_PER_IMPORT, parseWordList, wordProblem } from './words.models.ts';

export interface By {
  actor: string;
  ip: string | null;
}

type Pool = Pick<pg.Pool, 'connect'>;

async function inLockedSet<T>(
  pool: Pool,
  id: string,
  fn: (client: pg.PoolClient, set: RuleSetRow) => Promise<T>,
): Promise<T> {
  return withTransaction(pool, async (client) => {
    const set = await findRuleSet(client, id, { lock: true });
    if (!set) throw ruleSetNotFound();
    return fn(client, set);
  });
}

/**
 * The end of every edit that changed the set: its version and the revision other nodes watch
 * move, and the audit row says what changed, in the same transaction.
 */
async function recordSetChange(
  client: pg.PoolClient,
  {
    id,
    action,
    before,
    after,
    by,
    now,
  }: { id: string; action: string; before?: unknown; after?: unknown; by: By; now: Date },
): Promise<void> {
  await bumpVersion(client, id, now);
  await audit(client, { actor: by.actor, action, target: `rule_set:${id}`, before, after, ip: by.ip }, now);
}

export async function changeRuleSet({
  pool,
  id,
  change,
  by,
  now,
}: {
  pool: Pool;
  id: string;
  change: { severity?: Severity; enabled?: boolean };
  by: By;
  now: Date;
}): Promise<void> {
  await inLockedSet(pool, id, async (client, set) => {
    await updateRuleSet(client, id, change);
    await recordSetChange(client, {
      id,
      action: 'compliance.rule_set_changed',
      before: { severity: set.severity, enabled: set.enabled },
      after: { severity: change.severity ?? set.severity, enabled: change.enabled ?? set.enabled },
      by,
      now,
    });
  });
}

/** Words added to or removed from a set by hand (up to 1,000 a request; the routes check). */
interface WordsEdit {
  pool: Pool;
  id: string;
  words: readonly string[];
  by: By;
  now: Date;
}

/** Each word checked as a line of an import would be; `line` is its 1-based position. */
function checkWords(words: readonly string[]): string[] {
  const bad: BadLine[] = [];
  const clean: string[] = [];
  words.forEach((raw, index) => {
    const word = raw.trim();
    const problem = word ? wordProblem(word) : 'no_letters';
    if (problem) bad.push({ line: index + 1, text: raw.slice(0, 200), reason: problem });
    else clean.push(word);
  });
  if (bad.length) throw invalidRuleWords({ details: { lines: bad.slice(0, 1000), bad_lines: bad.length } });
  return [...new Set(clean)];
}

export async function addWords({ pool, id, words, by, now }: WordsEdit): Promise<{ added: number }> {
  const clean = checkWords(words);
  return inLockedSet(pool, id, async (client) => {
    const added = await insertWords(client, id, clean);
    if (added > 0)
      await recordSetChange(client, {
        id,
        action: 'compliance.rule_words_added',
        after: { added, words: clean.slice(0, 100) },
        by,
        now,
      });
    return { added };
  });
}

export async function removeWords({ pool, id, words, by, now }: WordsEdit): Promise<{ removed: number }> {
  const list = [...new Set(words.map((w) => w.trim()).filter(Boolean))];
  return inLockedSet(pool, id, async (client) => {
    const removed = await deleteWords(client, id, list);
    if (removed > 0)
      await recordSetChange(client, {
        id,
        action: 'compliance.rule_words_removed',
        before: { removed, words: list.slice(0, 100) },
        by,
        now,
      });
    return { removed };
  });
}

/**
 * Imports a word list (one per line, text or CSV). `add` keeps the set's other words; `replace`
 * makes the set exactly the list. All or nothing: any bad line refuses the whole list.
 */
export async function importWords({
  pool,
  id,
  text,
  format,
  mode,
  by,
  now,
}: {
  pool: Pool;
  id: string;
  text: string;
  format: 'text' | 'csv';
  mode: 'add' | 'replace';
  by: By;
  now: Date;
}): Promise<{ words: number; added: number; removed: number }> {
  const parsed = parseWordList(text, format);
  if (parsed.tooMany)
    throw invalidRuleWords({
      message: `A list holds at most ${MAX_WORDS_PER_IMPORT.toLocaleString('en')} words; nothing was imported.`,
      details: { lines: [], max_words: MAX_WORDS_PER_IMPORT },
    });
  if (parsed.bad.length)
    throw invalidRuleWords({ details: { lines: parsed.bad.slice(0, 1000), bad_lines: parsed.bad.length } });
  return inLockedSet(pool, id, async (client) => {
    const removed = mode === 'replace' ? await deleteWordsExcept(client, id, parsed.words) : 0;
    const added = await insertWords(client, id, parsed.words);
    if (added > 0 || removed > 0)
      await recordSetChange(client, {
        id,
        action: 'compliance.rule_words_imported',
        after: { mode, format, words: parsed.words.length, added, removed },
        by,
        now,
      });
    return { words: parsed.words.length, added, removed };
  });
}
