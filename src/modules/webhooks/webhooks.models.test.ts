import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addressPolicyOf, refusedRange } from './ssrf.models.ts';
import { nextAttemptAt, signatureHeader, urlProblem, verifySignature } from './webhooks.models.ts';

const none = addressPolicyOf('');

describe('refusedRange', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.169.254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['10.0.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a00:1', 'private'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['2002:c0a8:0101::1', 'private'],
    ['169.254.1.1', 'link_local'],
    ['fe80::1', 'link_local'],
    ['100.64.0.1', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'reserved'],
    ['not-an-address', 'reserved'],
  ])('%s is refused as %s', (address, range) => {
    expect(refusedRange(address, none)).toBe(range);
  });

  it.each(['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8', '100.128.0.1', '172.32.0.1'])(
    '%s is public',
    (address) => expect(refusedRange(address, none)).toBeNull(),
  );

  it('lets the operator allow a range, and only that range', () => {
    const policy = addressPolicyOf('127.0.0.1/32, 10.1.0.0/16');
    expect(refusedRange('127.0.0.1', policy)).toBeNull();
    expect(refusedRange('::ffff:127.0.0.1', policy)).toBeNull();
    expect(refusedRange('127.0.0.2', policy)).toBe('loopback');
    expect(refusedRange('10.1.2.3', policy)).toBeNull();
    expect(refusedRange('10.2.0.1', policy)).toBe('private');
    expect(refusedRange('::1', policy)).toBe('loopback');
    expect(() => addressPolicyOf('10.0.0.0/33')).toThrow();
    expect(() => addressPolicyOf('example.com')).toThrow();
  });
});

describe('signatures', () => {
  it('verifies its own header, and refuses another body, another secret or an old timestamp', () => {
    const header = signatureHeader('s3cret', 1_700_000_000, '{"events":[]}');
    const ok = { secret: 's3cret', header, body: '{"events":[]}', nowSeconds: 1_700_000_100 };
    expect(verifySignature(ok)).toBe(true);
    expect(verifySignature({ ...ok, body: '{"events":[1]}' })).toBe(false);
    expect(verifySignature({ ...ok, secret: 'other' })).toBe(false);
    expect(verifySignature({ ...ok, nowSeconds: 1_700_000_301 })).toBe(false);
    expect(verifySignature({ ...ok, header: 't=1700000000,v1=00' })).toBe(false);
  });

  it("recomputes docs/webhooks.md's worked example", () => {
    const doc = readFileSync(new URL('../../../docs/webhooks.md', import.meta.url), 'utf8');
    const example = doc.slice(doc.indexOf('### Worked example'));
    const secret = /secret: `([^`]+)`/.exec(example)![1]!;
    const timestamp = Number(/timestamp: `(\d+)`/.exec(example)![1]);
    const body = /```json\n(.*)\n```/.exec(example)![1]!;
    const header = /X-Hy-Signature: (t=\d+,v1=[0-9a-f]+)/.exec(example)![1]!;
    expect(signatureHeader(secret, timestamp, body)).toBe(header);
    expect(verifySignature({ secret, header, body, nowSeconds: timestamp })).toBe(true);
  });
});

describe('nextAttemptAt', () => {
  const policy = { baseMs: 10_000, maxMs: 3_600_000, giveUpAfterMs: 24 * 3_600_000 };
  const createdAt = new Date('2026-01-01T00:00:00Z');

  it('doubles the wait up to the cap, and gives up at 24 hours', () => {
    const waits: number[] = [];
    let now = createdAt;
    for (let attempts = 1; ; attempts++) {
      const next = nextAttemptAt({ attempts, createdAt, now, policy });
      if (next === null) break;
      waits.push(next.getTime() - now.getTime());
      now = next;
    }
    expect(waits.slice(0, 5)).toEqual([10_000, 20_000, 40_000, 80_000, 160_000]);
    expect(Math.max(...waits)).toBe(3_600_000);
    expect(now.getTime() - createdAt.getTime()).toBe(24 * 3_600_000);
  });
});

describe('urlProblem', () => {
  it('accepts http(s) URLs and refuses others', () => {
    expect(urlProblem('https://example.com/hook')).toBeNull();
    expect(urlProblem('http://[2001:db8::1]:8080/x')).toBeNull();
    expect(urlProblem('ftp://example.com/')).not.toBeNull();
    expect(urlProblem('https://user:pw@example.com/')).not.toBeNull();
    expect(urlProblem('/relative')).not.toBeNull();
    expect(urlProblem(`https://example.com/${'a'.repeat(2000)}`)).not.toBeNull();
  });
});
