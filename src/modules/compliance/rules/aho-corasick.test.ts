import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildAutomaton } from './aho-corasick.ts';
import { normalizeText, normalizeWord } from './normalize.ts';

function naive(patterns: readonly string[], text: string): string[] {
  const found: string[] = [];
  patterns.forEach((p, index) => {
    for (let at = text.indexOf(p); at !== -1; at = text.indexOf(p, at + 1)) {
      found.push(`${index}@${at + p.length - 1}`);
    }
  });
  return found.sort();
}

function scanned(patterns: readonly string[], text: string): string[] {
  const automaton = buildAutomaton(patterns);
  const found: string[] = [];
  const units = Array.from(text, (c) => c.charCodeAt(0));
  automaton.scan(units, units.length, (p, end) => found.push(`${p}@${end}`));
  return found.sort();
}

describe('Aho–Corasick', () => {
  it('finds exactly the occurrences a naive search finds, overlapping ones included (property)', () => {
    // A three-letter alphabet makes prefixes, suffixes and overlaps frequent.
    const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c'), minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(
        fc.uniqueArray(word, { minLength: 1, maxLength: 25 }),
        fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd'), maxLength: 80 }),
        (patterns, text) => {
          expect(scanned(patterns, text)).toEqual(naive(patterns, text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('finds exactly what a naive search finds with Chinese words of a larger alphabet (property)', () => {
    const chars = [...'赌博彩票加微信号房产贷款第一最佳'];
    const word = fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(
        fc.uniqueArray(word, { minLength: 1, maxLength: 40 }),
        fc.string({ unit: fc.constantFrom(...chars, '的', 'x'), maxLength: 120 }),
        (patterns, text) => {
          expect(scanned(patterns, text)).toEqual(naive(patterns, text));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a word and the words inside it are each reported (他 / 他们 / 们)', () => {
    expect(scanned(['他们', '他', '们'], '他们')).toEqual(['0@1', '1@0', '2@1']);
  });

  it('drops empty and duplicate patterns', () => {
    expect(buildAutomaton(['', 'ab', 'ab']).patterns).toEqual(['ab']);
  });
});

describe('normalisation', () => {
  it.each([
    ['full-width letters', 'ＶＸ', 'vx'],
    ['upper case', 'QQ', 'qq'],
    ['inserted spaces', '赌 博', '赌博'],
    ['an ideographic space', '赌\u3000博', '赌博'],
    ['zero-width characters', '赌\u200b博\u200d\ufeff', '赌博'],
    ['symbols and punctuation', '赌*博！.', '赌博'],
    ['half-width katakana', 'ｶﾀｶﾅ', 'カタカナ'],
    ['full-width digits', '１２３', '123'],
  ])('folds %s', (_name, input, expected) => {
    expect(normalizeWord(input)).toBe(expected);
  });

  it('a word folds exactly as the same text does (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (text) => {
        const n = normalizeText(text);
        expect(normalizeWord(text)).toBe(String.fromCharCode(...n.units.subarray(0, n.length)));
      }),
      { numRuns: 1000 },
    );
  });

  it('each normalised unit points at its source character in the original', () => {
    const text = 'A 𠀀ｂ\u200bC';
    const n = normalizeText(text);
    const units = String.fromCharCode(...n.units.subarray(0, n.length));
    expect(units).toBe('a𠀀bc');
    expect([...n.sources.subarray(0, n.length)]).toEqual([0, 2, 2, 4, 6]);
  });
});
