import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileDocumentStore } from './document-store.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hongyan-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('filesystem document store', () => {
  it('keeps bytes under <data>/documents/<key>, readable only by the owner, and gives them back', async () => {
    const store = createFileDocumentStore(dir);
    await store.put('tenant-1/a.png', Buffer.from('bytes'));
    expect((await store.get('tenant-1/a.png'))?.toString()).toBe('bytes');
    const info = await stat(path.join(dir, 'documents', 'tenant-1', 'a.png'));
    expect(info.mode & 0o777).toBe(0o600);
  });

  it('answers null for a missing key and refuses keys that climb out of its folder', async () => {
    const store = createFileDocumentStore(dir);
    expect(await store.get('tenant-1/missing.pdf')).toBeNull();
    await expect(store.put('../escape.pdf', Buffer.from('x'))).rejects.toThrow(/invalid document key/);
    await expect(store.get('/etc/passwd')).rejects.toThrow(/invalid document key/);
  });
});
