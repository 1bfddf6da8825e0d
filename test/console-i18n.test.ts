// Every string of the console exists in both languages: the two dictionaries have the same keys,
// and no value is left empty.
import { describe, expect, it } from 'vitest';
import { enUS } from '../web/src/i18n/en-US.ts';
import { zhCN } from '../web/src/i18n/zh-CN.ts';

describe('the console dictionaries', () => {
  it('have the same keys in 简体中文 and English, none empty', () => {
    expect(Object.keys(enUS).sort()).toEqual(Object.keys(zhCN).sort());
    for (const dict of [zhCN, enUS])
      for (const [k, v] of Object.entries(dict)) expect(v.trim(), k).not.toBe('');
  });

  it('use the same {placeholders} in both languages', () => {
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(zhCN) as (keyof typeof zhCN)[])
      expect(names(enUS[key]), key).toEqual(names(zhCN[key]));
  });
});
