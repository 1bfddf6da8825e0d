// Secrets at rest: values the server must read back (API credentials' secrets, carrier channel
// passwords) are sealed with AES-256-GCM under a master key, as `v1:<kid>:<iv>:<ciphertext>:<tag>`
// (base64url parts). The key id beside each value lets the key change: a ring holds the current
// key (which seals) and older ones (which still open), and `hongyan secrets rotate` re-seals every
// value under the current key, after which the old keys can be dropped.
//
// Where the keys come from: HONGYAN_MASTER_KEY (base64 of 32 bytes; several, comma-separated,
// the first current), or else `<data>/master.key` (one base64 key a line, the first current),
// generated at first use with mode 0600. That holds with DATABASE_URL too: the data folder then
// holds only the key, and every node sharing the database needs the same key (set
// HONGYAN_MASTER_KEY on all of them, or copy the file).
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface KeyRing {
  /** Key id of the key that seals. */
  current: string;
  keys: Map<string, Buffer>;
}

const SEALED = /^v1:([0-9a-f]{8}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]*):([A-Za-z0-9_-]{22})$/;

/** The id of a key: the first 4 bytes of its SHA-256, so the same key has the same id everywhere. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** Parses base64 keys (comma or newline separated; `#` lines are comments); the first is current. */
export function parseKeys(text: string): Buffer[] {
  const keys = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => Buffer.from(s, 'base64'));
  for (const key of keys) {
    if (key.length !== 32) throw new Error('a master key must be the base64 of exactly 32 bytes');
  }
  return keys;
}

export function keyRingOf(keys: Buffer[]): KeyRing {
  if (keys.length === 0) throw new Error('no master key');
  return { current: keyId(keys[0]!), keys: new Map(keys.map((k) => [keyId(k), k])) };
}

export function isSealed(value: string): boolean {
  return SEALED.test(value);
}

export function seal(ring: KeyRing, plaintext: string): string {
  const key = ring.keys.get(ring.current)!;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `v1:${ring.current}:${iv.toString('base64url')}:${ct.toString('base64url')}:${tag.toString('base64url')}`;
}

export function open(ring: KeyRing, sealed: string): string {
  const m = SEALED.exec(sealed);
  if (!m) throw new Error('not a sealed value');
  const key = ring.keys.get(m[1]!);
  if (!key)
    throw new Error(
      `this value was sealed with master key ${m[1]}, which is not configured (HONGYAN_MASTER_KEY or <data>/master.key)`,
    );
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(m[2]!, 'base64url'));
  decipher.setAuthTag(Buffer.from(m[4]!, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(m[3]!, 'base64url')), decipher.final()]).toString('utf8');
}

export function masterKeyPath(dataDir: string): string {
  return path.join(dataDir, 'master.key');
}

function readKeyFile(file: string): Buffer[] | null {
  try {
    return parseKeys(readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read the master key ${file}: ${(error as Error).message}`, { cause: error });
  }
}

function writeKeyFile(file: string, keys: Buffer[], exclusive: boolean): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const text = `# Hongyan master keys: the first seals, the others still open older values.\n${keys
    .map((k) => k.toString('base64'))
    .join('\n')}\n`;
  if (exclusive) {
    // Two processes starting at once: one creates the file, the other reads what it wrote.
    writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
    return;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

/** The ring from the environment's keys, or from `<data>/master.key`, created when missing. */
export function loadKeyRing({ masterKey, dataDir }: { masterKey: string | null; dataDir: string }): KeyRing {
  if (masterKey !== null) return keyRingOf(parseKeys(masterKey));
  const file = masterKeyPath(dataDir);
  const existing = readKeyFile(file);
  if (existing) return keyRingOf(existing);
  try {
    writeKeyFile(file, [randomBytes(32)], true);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return keyRingOf(readKeyFile(file) ?? []);
}

/**
 * A new current key for `secrets rotate`: generated into `<data>/master.key` (older keys kept after
 * it). With HONGYAN_MASTER_KEY the operator puts the new key first in the variable instead, and the
 * ring is used as it is.
 */
export function addKeyToFile({ dataDir }: { dataDir: string }): KeyRing {
  const file = masterKeyPath(dataDir);
  const keys = [randomBytes(32), ...(readKeyFile(file) ?? [])];
  writeKeyFile(file, keys, false);
  return keyRingOf(keys);
}

/** Gives the ring; asked for a key id it lacks, it reloads (another process rotated the key). */
export type KeyRingSource = (neededKeyId?: string) => KeyRing;

/** A ring loaded at first use, so a process that never touches a secret never needs a key. */
export function lazyKeyRing(load: () => KeyRing): KeyRingSource {
  let ring: KeyRing | null = null;
  return (neededKeyId) => {
    if (ring === null || (neededKeyId !== undefined && !ring.keys.has(neededKeyId))) ring = load();
    return ring;
  };
}

/** Opens a sealed value with the source's ring, reloading it once for a key it does not know. */
export function openSealed(source: KeyRingSource, sealed: string): string {
  return open(source(SEALED.exec(sealed)?.[1]), sealed);
}
