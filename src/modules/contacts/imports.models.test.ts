// The pure import rules: file format from first bytes, CSV encoding, mapping resolution, cell text.
import { describe, expect, it } from 'vitest';
import {
  cellText,
  checkMapping,
  detectEncoding,
  detectFormat,
  percentOf,
  readRow,
  resolveMapping,
} from './imports.models.ts';

describe('detectFormat', () => {
  it('tells XLSX (zip), CSV (text) and refuses the rest with a reason', () => {
    expect(detectFormat(Buffer.from('PK\u0003\u0004rest'), 'a.xlsx')).toEqual({ ok: true, format: 'xlsx' });
    expect(detectFormat(Buffer.from('phone\n1380'), 'a.csv')).toEqual({ ok: true, format: 'csv' });
    expect(detectFormat(Buffer.from('phone\n1380'), 'a.xlsx').ok).toBe(false);
    expect(detectFormat(Buffer.from([0xd0, 0xcf, 0x11, 0xe0]), 'a.xls').ok).toBe(false);
    expect(detectFormat(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]), 'a.png').ok).toBe(false);
    expect(detectFormat(Buffer.from('PK\u0003\u0004'), 'a.csv').ok).toBe(false);
  });
});

describe('detectEncoding', () => {
  it('reads UTF-8 (with or without BOM) as UTF-8 and GBK bytes as GB18030', () => {
    expect(detectEncoding(Buffer.from('\uFEFF手机号'))).toBe('utf-8');
    expect(detectEncoding(Buffer.from('手机号,姓名'))).toBe('utf-8');
    // A UTF-8 sample cut inside its last character is still UTF-8.
    expect(detectEncoding(Buffer.from('手机号').subarray(0, 8))).toBe('utf-8');
    expect(detectEncoding(Buffer.from([0xca, 0xd6, 0xbb, 0xfa, 0xba, 0xc5]))).toBe('gb18030');
  });
});

describe('mapping', () => {
  it('finds the phone column by its header and turns other valid headers into fields', () => {
    const r = resolveMapping({}, ['姓名', '手机号码', '城市', 'bad header!', '标签']);
    expect(r).toEqual({
      ok: true,
      value: { phone: 1, name: 0, tags: 4, fields: [['城市', 2]], addTags: [] },
    });
    expect(
      readRow(['张三', ' 13800138000 ', '上海', 'x', 'a，b;a'], (r as unknown as { value: never }).value),
    ).toEqual({
      rawPhone: '13800138000',
      name: '张三',
      fields: { 城市: '上海' },
      tags: ['a', 'b'],
    });
  });

  it('answers why a mapping cannot be used', () => {
    expect(resolveMapping({}, ['name', 'city'])).toMatchObject({ ok: false });
    expect(resolveMapping({ phone: 'Tel' }, ['phone'])).toMatchObject({
      ok: false,
      reason: 'no column "Tel" for the phone number',
    });
    expect(resolveMapping({ phone: 2, has_header: false }, null)).toMatchObject({
      ok: true,
      value: { phone: 1 },
    });
    expect(checkMapping({ phone: 'a', colour: 1 }).ok).toBe(false);
    expect(checkMapping({ has_header: false, phone: 'a' }).ok).toBe(false);
    expect(checkMapping({ fields: { 'no spaces!': 'a' } }).ok).toBe(false);
    expect(checkMapping({ phone: 0 }).ok).toBe(false);
  });
});

describe('cellText and percent', () => {
  it('writes numbers whole and unwraps rich text, hyperlinks and formulas', () => {
    expect(cellText(13800138000)).toBe('13800138000');
    expect(cellText({ richText: [{ text: '138' }, { text: '00138000' }] })).toBe('13800138000');
    expect(cellText({ text: 'link', hyperlink: 'http://x' })).toBe('link');
    expect(cellText({ formula: 'A1', result: 8613800138000 })).toBe('8613800138000');
    expect(cellText(null)).toBe('');
  });
  it('is 100 only once completed', () => {
    expect(percentOf('running', 100, 100)).toBe(99);
    expect(percentOf('running', 50, 200)).toBe(25);
    expect(percentOf('completed', 0, 200)).toBe(100);
  });
});
