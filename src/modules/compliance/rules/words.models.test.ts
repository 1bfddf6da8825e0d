import { describe, expect, it } from 'vitest';
import { MAX_WORDS_PER_IMPORT, parseWordList, renderWordList } from './words.models.ts';

describe('word lists', () => {
  it('reads one word per line, trimmed, skipping blank lines and repeats, with a BOM and CRLF', () => {
    expect(parseWordList('\ufeff赌博\r\n  代开发票 \n\n赌博\n', 'text')).toEqual({
      words: ['赌博', '代开发票'],
      bad: [],
      tooMany: false,
    });
  });

  it.each([
    ['only symbols', '***', 'no_letters'],
    ['a control character', 'ab\u0007c', 'control_character'],
    ['101 characters', '长'.repeat(101), 'too_long'],
  ])('reports %s with its line number', (_name, word, reason) => {
    const parsed = parseWordList(`好词\n${word}\n`, 'text');
    expect(parsed.bad).toEqual([{ line: 2, text: word, reason }]);
  });

  it('CSV: the first column, quotes with doubled quotes, an optional header, an unterminated quote', () => {
    const parsed = parseWordList('word,comment\n"加,微信",x\n"说""好""",y\nVX\n"oops\n', 'csv');
    expect(parsed.words).toEqual(['加,微信', '说"好"', 'VX']);
    expect(parsed.bad).toEqual([{ line: 5, text: '"oops', reason: 'unterminated_quote' }]);
  });

  it(`refuses more than ${MAX_WORDS_PER_IMPORT.toLocaleString('en')} words`, () => {
    const text = Array.from({ length: MAX_WORDS_PER_IMPORT + 1 }, (_, i) => `w${i}`).join('\n');
    expect(parseWordList(text, 'text').tooMany).toBe(true);
  });

  it('export reads back to the same words', () => {
    const words = ['赌博', 'VX', '加 微信'];
    expect(parseWordList(renderWordList(words), 'text').words).toEqual(words);
  });
});
