// Word lists as operators bring them: one word per line, as plain text or as CSV (the word in the
// first column, an optional "word" header). Every bad line is reported with its number, so that a
// list of 100,000 is fixed in one round and nothing is half-imported.
import { normalizeWord } from './normalize.ts';

export const MAX_WORDS_PER_IMPORT = 100_000;
export const MAX_WORD_LENGTH = 100;

export interface BadLine {
  line: number;
  text: string;
  reason: 'no_letters' | 'too_long' | 'control_character' | 'unterminated_quote';
}

export interface ParsedWords {
  /** Distinct words, trimmed, in file order. */
  words: string[];
  bad: BadLine[];
  /** More lines than MAX_WORDS_PER_IMPORT: nothing else was checked. */
  tooMany: boolean;
}

/** Why a word cannot be stored or matched, or null when it is fine. */
export function wordProblem(word: string): BadLine['reason'] | null {
  if (/[\u0000-\u001f\u007f]/.test(word)) return 'control_character';
  if ([...word].length > MAX_WORD_LENGTH) return 'too_long';
  if (normalizeWord(word).length === 0) return 'no_letters';
  return null;
}

export function parseWordList(text: string, format: 'text' | 'csv'): ParsedWords {
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const nonEmpty = lines.reduce((n, l) => (l.trim() ? n + 1 : n), 0);
  if (nonEmpty > MAX_WORDS_PER_IMPORT) return { words: [], bad: [], tooMany: true };
  const seen = new Set<string>();
  const words: string[] = [];
  const bad: BadLine[] = [];
  lines.forEach((raw, index) => {
    const line = index + 1;
    let word: string | null = raw;
    if (format === 'csv') {
      word = firstCsvField(raw);
      if (word === null) {
        bad.push({ line, text: raw.slice(0, 200), reason: 'unterminated_quote' });
        return;
      }
      if (index === 0 && word.trim().toLowerCase() === 'word') return; // a header
    }
    word = word.trim();
    if (!word) return;
    const problem = wordProblem(word);
    if (problem) {
      bad.push({ line, text: raw.slice(0, 200), reason: problem });
      return;
    }
    if (seen.has(word)) return;
    seen.add(word);
    words.push(word);
  });
  return { words, bad, tooMany: false };
}

/** The first field of one CSV line (RFC 4180 quoting); null for an unterminated quote. */
function firstCsvField(line: string): string | null {
  if (!line.startsWith('"')) {
    const comma = line.indexOf(',');
    return comma === -1 ? line : line.slice(0, comma);
  }
  let out = '';
  for (let i = 1; i < line.length; i++) {
    const c = line[i]!;
    if (c !== '"') {
      out += c;
      continue;
    }
    if (line[i + 1] === '"') {
      out += '"';
      i++;
      continue;
    }
    return out;
  }
  return null;
}

/** Export: one word per line, the format import reads back. */
export function renderWordList(words: readonly string[]): string {
  return words.length ? `${words.join('\n')}\n` : '';
}
