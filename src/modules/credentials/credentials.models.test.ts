import { describe, expect, it } from 'vitest';
import {
  canonicalQuery,
  canonicalString,
  createAllowlist,
  createTokenBucket,
  parseCidr,
  signatureMatches,
  validateCredentialInput,
  withinWindow,
} from './credentials.models.ts';

describe('canonical string', () => {
  it('sorts query pairs by their bytes without decoding them', () => {
    expect(canonicalQuery('b=2&a=1&a=0&%41=x')).toBe('%41=x&a=0&a=1&b=2');
    expect(canonicalQuery('')).toBe('');
  });

  it('is seven lines: algorithm, method, path, query, body hash, timestamp, nonce', () => {
    const s = canonicalString({
      method: 'get',
      url: '/v1/x?z=1&y=2',
      bodySha256: 'h',
      timestamp: '1',
      nonce: 'n',
    });
    expect(s.split('\n')).toEqual(['HY1-HMAC-SHA256', 'GET', '/v1/x', 'y=2&z=1', 'h', '1', 'n']);
  });

  it('compares signatures in either hex case and refuses other lengths', () => {
    expect(signatureMatches('ab12', 'AB12')).toBe(true);
    expect(signatureMatches('ab12', 'ab1')).toBe(false);
  });
});

describe('clock window', () => {
  const now = 1_767_225_600_000;
  it('accepts ±300 s and refuses 301 s and non-numbers', () => {
    expect(withinWindow('1767225900', now, 300)).toBe(true);
    expect(withinWindow('1767225300', now, 300)).toBe(true);
    expect(withinWindow('1767225901', now, 300)).toBe(false);
    expect(withinWindow('1767225299', now, 300)).toBe(false);
    expect(withinWindow('1767225600.5', now, 300)).toBe(false);
  });
});

describe('allowlists', () => {
  it('parses IPv4 and IPv6 CIDRs and bare addresses, refuses nonsense', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ network: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('2001:db8::/32')).toEqual({ network: '2001:db8::', prefix: 32, family: 'ipv6' });
    expect(parseCidr('192.0.2.1')).toMatchObject({ prefix: 32 });
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0/8', 'x', '10.0.0.0/8/1', '10.0.0.0/-1'])
      expect(parseCidr(bad)).toBeNull();
  });

  it('matches addresses inside the ranges, IPv4-mapped IPv6 included', () => {
    const allows = createAllowlist(['203.0.113.0/24', '2001:db8::/32']);
    expect(allows('203.0.113.200')).toBe(true);
    expect(allows('::ffff:203.0.113.5')).toBe(true);
    expect(allows('2001:db8:ffff::1')).toBe(true);
    expect(allows('203.0.114.1')).toBe(false);
    expect(allows('2001:db9::1')).toBe(false);
    expect(allows('not-an-ip')).toBe(false);
  });

  it('an empty list allows any address', () => {
    expect(createAllowlist([])('198.51.100.1')).toBe(true);
  });
});

describe('scopes', () => {
  it('validates names, scopes, CIDRs and the rate limit', () => {
    expect(validateCredentialInput({ name: 'a', scopes: ['send'], allow: ['10.0.0.0/8'] })).toEqual([]);
    expect(validateCredentialInput({ name: ' ', scopes: [], allow: ['x'], rateLimit: 0 })).toHaveLength(4);
  });
});

describe('token bucket', () => {
  it('lets a second of requests through, then says how long to wait, then refills', () => {
    const bucket = createTokenBucket(2, 0);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(0)).toBeCloseTo(0.5);
    expect(bucket.take(500)).toBe(0);
    expect(bucket.take(500)).toBeGreaterThan(0);
  });
});
