import { describe, expect, it } from 'vitest';
import {
  deviceClassOf,
  findUrls,
  LruCache,
  newCode,
  shortenUrls,
  targetProblem,
} from './shortlinks.models.ts';

describe('short link models', () => {
  it('replaces each URL by its own code, keeping the punctuation after it', () => {
    let n = 0;
    const out = shortenUrls(
      '看 https://a.cn/x?y=1。再看 http://b.cn, 完',
      'https://t.cn/s/',
      () => `c${++n}`,
    );
    expect(out.text).toBe('看 https://t.cn/s/c1。再看 https://t.cn/s/c2, 完');
    expect(out.links).toEqual([
      { code: 'c1', target: 'https://a.cn/x?y=1' },
      { code: 'c2', target: 'http://b.cn' },
    ]);
    expect(findUrls('no links here')).toEqual([]);
    expect(newCode()).toMatch(/^[0-9A-Za-z]{8}$/);
  });

  it('accepts only http(s) targets with a host and no credentials', () => {
    expect(targetProblem('https://shop.example.com/a')).toBeNull();
    expect(targetProblem('javascript:alert(1)')).toBe('not http or https');
    expect(targetProblem('https://u:p@x.cn/')).toBe('carries credentials');
  });

  it('classes user agents coarsely', () => {
    expect(deviceClassOf('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148')).toBe(
      'mobile',
    );
    expect(deviceClassOf('Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)')).toBe('tablet');
    expect(deviceClassOf('Mozilla/5.0 (Windows NT 10.0; Win64; x64)')).toBe('desktop');
    expect(deviceClassOf('Googlebot/2.1')).toBe('bot');
    expect(deviceClassOf(undefined)).toBe('other');
  });

  it('evicts the least recently used entry and expires old ones', () => {
    const lru = new LruCache<number>(2, 1000);
    lru.set('a', 1, 0);
    lru.set('b', 2, 0);
    lru.get('a', 1);
    lru.set('c', 3, 2);
    expect([lru.get('a', 3), lru.get('b', 3), lru.get('c', 3)]).toEqual([1, undefined, 3]);
    expect(lru.get('a', 5000)).toBeUndefined();
  });
});
