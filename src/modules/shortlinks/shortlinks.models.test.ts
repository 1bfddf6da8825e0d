import { describe, expect, it } from 'vitest';
import { deviceClassOf, findUrls, newCode, shortenUrls, targetProblem } from './shortlinks.models.ts';

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
});
