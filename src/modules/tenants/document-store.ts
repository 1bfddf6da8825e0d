// Where qualification documents live. Callers know only `DocumentStore`; the filesystem store
// keeps them under <data>/documents/, and an S3-compatible store can implement the same three calls.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface DocumentStore {
  put(key: string, bytes: Buffer): Promise<void>;
  /** The bytes stored under the key, or null when there are none. */
  get(key: string): Promise<Buffer | null>;
  /** Removes what the key holds; nothing there is no error. */
  remove(key: string): Promise<void>;
}

/** Keys are made by the product ('tenant-12/<uuid>.png'); one with '..' or an absolute path is refused. */
function safeKey(key: string): string {
  if (!/^[A-Za-z0-9._/-]+$/.test(key) || key.split('/').some((p) => p === '..' || p === '')) {
    throw new Error(`invalid document key "${key}"`);
  }
  return key;
}

export function createFileDocumentStore(dataDir: string): DocumentStore {
  const root = path.join(dataDir, 'documents');
  return {
    async put(key, bytes) {
      const file = path.join(root, safeKey(key));
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      // Written under a temporary name and renamed: a crash never leaves half a document under the key.
      const temp = `${file}.${randomUUID()}.part`;
      await writeFile(temp, bytes, { mode: 0o600 });
      await rename(temp, file);
    },
    async get(key) {
      try {
        return await readFile(path.join(root, safeKey(key)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async remove(key) {
      await rm(path.join(root, safeKey(key)), { force: true });
    },
  };
}
