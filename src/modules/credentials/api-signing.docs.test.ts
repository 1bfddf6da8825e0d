// Recomputes the worked example of docs/api-signing.md, so the document cannot drift from the code.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalString, sha256Hex, sign } from './credentials.models.ts';

const doc = readFileSync(new URL('../../../docs/api-signing.md', import.meta.url), 'utf8');
const field = (name: string) => {
  const m = new RegExp(`^- ${name}: \`([^\`]*)\`$`, 'm').exec(doc);
  if (!m) throw new Error(`docs/api-signing.md has no "- ${name}:" line`);
  return m[1]!;
};

describe('docs/api-signing.md worked example', () => {
  const secret = field('AppSecret');
  const body = field('Body');
  const hash = sha256Hex(Buffer.from(body, 'utf8'));
  const canonical = canonicalString({
    method: field('Method'),
    url: field('Target'),
    bodySha256: hash,
    timestamp: field('Timestamp'),
    nonce: field('Nonce'),
  });

  it('body hash, canonical string and signature are what the code computes', () => {
    expect(hash).toBe(field('Body SHA-256'));
    const block = /```text\n([\s\S]*?)\n```/.exec(doc)?.[1];
    expect(block).toBe(canonical);
    expect(sign(secret, canonical)).toBe(field('Signature'));
  });

  it('the GET example signs the sorted query and the empty body', () => {
    const get = canonicalString({
      method: 'GET',
      url: '/v1/messages?limit=2&client_ref=order-7',
      bodySha256: sha256Hex(''),
      timestamp: field('Timestamp'),
      nonce: 'n0nce-5e6f7a8b9c0d',
    });
    expect(get.split('\n')[3]).toBe('client_ref=order-7&limit=2');
    expect(/^Signature \(GET\): `([0-9a-f]{64})`$/m.exec(doc)?.[1]).toBe(sign(secret, get));
  });
});
