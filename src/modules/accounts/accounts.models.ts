// API keys: "hy_<keyId>_<secret>". The key id finds the row; the secret is 256 random bits and is
// stored only as its SHA-256 hash, compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface NewApiKey {
  key: string;
  keyId: string;
  secretHash: Buffer;
}

export function generateApiKey(): NewApiKey {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { key: `hy_${keyId}_${secret}`, keyId, secretHash: hashSecret(secret) };
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export function parseApiKey(key: string): { keyId: string; secret: string } | null {
  const match = /^hy_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(key);
  if (!match) return null;
  return { keyId: match[1]!, secret: match[2]! };
}

export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const given = hashSecret(secret);
  return given.length === storedHash.length && timingSafeEqual(given, storedHash);
}

/** Bearer token from an Authorization header value, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}
