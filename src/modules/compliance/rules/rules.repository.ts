// SQL of the content rule sets (migration 0011). Every change bumps the set's version and the one
// revision row in the same transaction, which is what other nodes' providers watch.
import type { Queryable } from '../../accounts/audit.ts';
import type { MessageType, RuleKind, RuleSetData, Severity, Subject } from './rules.models.ts';

export interface RuleSetRow {
  id: string;
  name: string;
  kind: RuleKind;
  severity: Severity;
  enabled: boolean;
  types: MessageType[];
  subjects: Subject[];
  version: number;
  updated_at: Date;
  word_count: number;
}

const setColumns = `s.id, s.name, s.kind, s.severity, s.enabled, s.types, s.subjects, s.version, s.updated_at`;

export async function readRevision(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ revision: number }>('select revision from compliance_rules_revision');
  return rows[0]?.revision ?? 0;
}

/** Every set with its words, in the operator's order, and the revision they were read at. */
export async function loadRuleSets(db: Queryable): Promise<{ revision: number; sets: RuleSetData[] }> {
  // One statement, so the revision and the sets are one snapshot.
  const { rows } = await db.query<
    Omit<RuleSetRow, 'word_count' | 'updated_at'> & { words: string[]; revision: number }
  >(
    `select ${setColumns}, (select revision from compliance_rules_revision) as revision,
            coalesce((select array_agg(w.word order by w.word) from compliance_rule_words w where w.set_id = s.id),
                     '{}') as words
       from compliance_rule_sets s order by s.position, s.id`,
  );
  return {
    revision: rows[0]?.revision ?? 0,
    sets: rows.map((r) => ({
      id: r.id,
      name: r.name,
      kind: r.kind,
      severity: r.severity,
      enabled: r.enabled,
      types: r.types,
      subjects: r.subjects,
      words: r.words,
      version: r.version,
    })),
  };
}

export async function listRuleSets(db: Queryable): Promise<RuleSetRow[]> {
  const { rows } = await db.query<RuleSetRow>(
    `select ${setColumns}, (select count(*)::int from compliance_rule_words w where w.set_id = s.id) as word_count
       from compliance_rule_sets s order by s.position, s.id`,
  );
  return rows;
}

export async function findRuleSet(
  db: Queryable,
  id: string,
  { lock = false } = {},
): Promise<RuleSetRow | null> {
  const { rows } = await db.query<RuleSetRow>(
    `select ${setColumns}, (select count(*)::int from compliance_rule_words w where w.set_id = s.id) as word_count
       from compliance_rule_sets s where s.id = $1 ${lock ? 'for update of s' : ''}`,
    [id],
  );
  return rows[0] ?? null;
}

export async function listWords(db: Queryable, setId: string): Promise<string[]> {
  const { rows } = await db.query<{ word: string }>(
    'select word from compliance_rule_words where set_id = $1 order by word',
    [setId],
  );
  return rows.map((r) => r.word);
}

export async function updateRuleSet(
  db: Queryable,
  id: string,
  change: { severity?: Severity; enabled?: boolean },
): Promise<void> {
  await db.query(
    `update compliance_rule_sets set severity = coalesce($2, severity), enabled = coalesce($3, enabled)
      where id = $1`,
    [id, change.severity ?? null, change.enabled ?? null],
  );
}

/** Adds the words the set lacks; returns how many were new. */
export async function insertWords(db: Queryable, setId: string, words: readonly string[]): Promise<number> {
  if (words.length === 0) return 0;
  const { rowCount } = await db.query(
    `insert into compliance_rule_words (set_id, word) select $1, w from unnest($2::text[]) as w
     on conflict do nothing`,
    [setId, words],
  );
  return rowCount ?? 0;
}

export async function deleteWords(db: Queryable, setId: string, words: readonly string[]): Promise<number> {
  if (words.length === 0) return 0;
  const { rowCount } = await db.query(
    'delete from compliance_rule_words where set_id = $1 and word = any($2::text[])',
    [setId, words],
  );
  return rowCount ?? 0;
}

/** Removes the set's words that are not in `keep`; returns how many went. */
export async function deleteWordsExcept(
  db: Queryable,
  setId: string,
  keep: readonly string[],
): Promise<number> {
  const { rowCount } = await db.query(
    `delete from compliance_rule_words w where w.set_id = $1
        and not exists (select 1 from unnest($2::text[]) as k(word) where k.word = w.word)`,
    [setId, keep],
  );
  return rowCount ?? 0;
}

/** Marks a change of one set: its version, and the revision every node's provider polls. */
export async function bumpVersion(db: Queryable, setId: string, now: Date): Promise<void> {
  await db.query('update compliance_rule_sets set version = version + 1, updated_at = $2 where id = $1', [
    setId,
    now,
  ]);
  await db.query('update compliance_rules_revision set revision = revision + 1');
}
