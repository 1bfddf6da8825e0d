// The console bundle is built when missing or stale, reused while its sources are unchanged, and
// built into the data directory when the checkout cannot be written. A tiny web root stands in
// for web/ so that each build takes a second.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConsoleBuilt, hashConsoleSources } from './console.build.ts';
import { isServerPath } from './console.routes.ts';

let dir: string;
let webRoot: string;
let dataDir: string;

async function writeSources(text: string) {
  await mkdir(path.join(webRoot, 'src'), { recursive: true });
  await writeFile(path.join(webRoot, 'package.json'), '{"type":"module"}\n');
  await writeFile(path.join(webRoot, 'vite.config.ts'), 'export default {};\n');
  await writeFile(
    path.join(webRoot, 'index.html'),
    '<!doctype html><html><body><div id="root"></div><script type="module" src="/src/main.ts"></script></body></html>\n',
  );
  await writeFile(path.join(webRoot, 'src/main.ts'), `document.body.append(${JSON.stringify(text)});\n`);
}

async function bundledText(bundleDir: string) {
  const html = await readFile(path.join(bundleDir, 'index.html'), 'utf8');
  const script = /src="\/(assets\/[^"]+\.js)"/.exec(html)![1]!;
  return readFile(path.join(bundleDir, script), 'utf8');
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hy-console-'));
  webRoot = path.join(dir, 'web');
  dataDir = path.join(dir, 'data');
  await writeSources('first version');
});

afterAll(async () => {
  await chmod(webRoot, 0o755).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('the console bundle', () => {
  it('is built when missing, reused while the sources are unchanged, rebuilt when they change', async () => {
    const first = await ensureConsoleBuilt({ dataDir, webRoot });
    expect([first.built, first.dir]).toEqual([true, path.join(webRoot, 'dist')]);
    expect(await bundledText(first.dir)).toContain('first version');

    const again = await ensureConsoleBuilt({ dataDir, webRoot });
    expect([again.built, again.hash]).toEqual([false, first.hash]);

    await writeSources('second version');
    expect(await hashConsoleSources(webRoot)).not.toBe(first.hash);
    const rebuilt = await ensureConsoleBuilt({ dataDir, webRoot });
    expect(rebuilt.built).toBe(true);
    expect(await bundledText(rebuilt.dir)).toContain('second version');
  }, 120_000);

  it("fails with the build's own error when the sources do not build, and keeps the last bundle", async () => {
    await writeSources('last good');
    const good = await ensureConsoleBuilt({ dataDir, webRoot });
    await writeFile(
      path.join(webRoot, 'src/main.ts'),
      "import { missing } from './nowhere.ts';\nmissing();\n",
    );
    const failed = ensureConsoleBuilt({ dataDir, webRoot });
    await expect(failed).rejects.toThrow(/the web console's build exited with code 1:[\s\S]*nowhere/);
    expect(await bundledText(good.dir)).toContain('last good');
  }, 120_000);

  it.skipIf(process.getuid?.() === 0)(
    'goes to the data directory when the checkout is read-only',
    async () => {
      await writeSources('read-only checkout');
      await chmod(webRoot, 0o555);
      try {
        const bundle = await ensureConsoleBuilt({ dataDir, webRoot });
        expect([bundle.built, bundle.dir]).toEqual([true, path.join(dataDir, 'console')]);
        expect(await bundledText(bundle.dir)).toContain('read-only checkout');
      } finally {
        await chmod(webRoot, 0o755);
      }
    },
    120_000,
  );

  it('never stands in for the API, docs, health, metrics, short links or compatible APIs', () => {
    for (const p of [
      '/v1/messages',
      '/v1',
      '/docs',
      '/docs/json',
      '/healthz',
      '/metrics',
      '/s/abc',
      '/compat/x',
      '/2010-04-01/Accounts',
    ]) {
      expect(isServerPath(p), p).toBe(true);
    }
    for (const p of ['/', '/records', '/operator/channels', '/v1x', '/settings?tab=docs']) {
      expect(isServerPath(p), p).toBe(false);
    }
  });
});
