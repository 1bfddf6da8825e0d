import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addKeyToFile,
  isSealed,
  keyId,
  keyRingOf,
  lazyKeyRing,
  loadKeyRing,
  open,
  openSealed,
  seal,
} from './secrets.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'hy-secrets-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('AES-256-GCM sealing', () => {
  const ring = keyRingOf([randomBytes(32)]);

  it('round-trips text, Chinese included, with the key id beside the value', () => {
    const sealed = seal(ring, '密码 pw-123');
    expect(sealed).toMatch(
      new RegExp(`^v1:${ring.current}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]{22}$`),
    );
    expect(isSealed(sealed)).toBe(true);
    expect(open(ring, sealed)).toBe('密码 pw-123');
  });

  it('seals the same text differently each time (random IV)', () => {
    expect(seal(ring, 'same')).not.toBe(seal(ring, 'same'));
  });

  it('refuses a tampered ciphertext', () => {
    const parts = seal(ring, 'secret').split(':');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[0] = ct[0]! ^ 1;
    parts[3] = ct.toString('base64url');
    expect(() => open(ring, parts.join(':'))).toThrow();
  });

  it('a short plain SMPP password is never mistaken for a sealed value', () => {
    expect(isSealed('v1:pw')).toBe(false);
    expect(isSealed('sim')).toBe(false);
  });
});

describe('key rotation', () => {
  it('a ring with a new current key still opens values sealed with the old one', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const sealedOld = seal(keyRingOf([oldKey]), 'carrier-pw');
    const ring = keyRingOf([newKey, oldKey]);
    expect(ring.current).toBe(keyId(newKey));
    expect(open(ring, sealedOld)).toBe('carrier-pw');
    const resealed = seal(ring, open(ring, sealedOld));
    expect(resealed.split(':')[1]).toBe(keyId(newKey));
    expect(() => open(keyRingOf([oldKey]), resealed)).toThrow(/not configured/);
  });

  it('addKeyToFile puts a new key first and keeps the old ones; a lazy ring reloads for an unknown id', () => {
    const dir = tempDir();
    const source = lazyKeyRing(() => loadKeyRing({ masterKey: null, dataDir: dir }));
    const first = source();
    const rotated = addKeyToFile({ dataDir: dir });
    expect(rotated.current).not.toBe(first.current);
    expect(rotated.keys.has(first.current)).toBe(true);
    const sealedNew = seal(rotated, 'x');
    // This process still holds the old ring; the unknown key id makes it read the file again.
    expect(openSealed(source, sealedNew)).toBe('x');
  });
});

describe('where the master key comes from', () => {
  it('generates <data>/master.key once, mode 0600, and reads the same key afterwards', () => {
    const dir = tempDir();
    const a = loadKeyRing({ masterKey: null, dataDir: dir });
    const file = path.join(dir, 'master.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const b = loadKeyRing({ masterKey: null, dataDir: dir });
    expect(b.current).toBe(a.current);
    expect(readFileSync(file, 'utf8')).toContain(a.keys.get(a.current)!.toString('base64'));
  });

  it('takes HONGYAN_MASTER_KEY (comma-separated, first current) and writes no file', () => {
    const dir = tempDir();
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const ring = loadKeyRing({
      masterKey: `${k1.toString('base64')},${k2.toString('base64')}`,
      dataDir: dir,
    });
    expect(ring.current).toBe(keyId(k1));
    expect(ring.keys.size).toBe(2);
    expect(() => statSync(path.join(dir, 'master.key'))).toThrow();
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => loadKeyRing({ masterKey: randomBytes(16).toString('base64'), dataDir: tempDir() })).toThrow(
      /32 bytes/,
    );
  });
});
