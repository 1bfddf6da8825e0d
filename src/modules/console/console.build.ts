// Builds the web console (web/) with Vite's JS API, in a child process (vite-build.mjs), when its
// bundle is missing or older than its sources, so that `npm ci && npm start` serves it with no
// extra build command. The bundle is keyed by a hash of the sources: a start with unchanged
// sources reuses it at once.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, constants, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../web');
const HASH_FILE = '.sources-hash';
const BUILD_SCRIPT = fileURLToPath(new URL('vite-build.mjs', import.meta.url));
// What decides the bundle: the sources, the page, the build config, the installed versions (the
// lockfile) and this builder.
const SOURCE_ENTRIES = ['src', 'index.html', 'vite.config.ts', 'public'];

export interface ConsoleBundle {
  dir: string;
  built: boolean;
  hash: string;
}

/** A hash of every file under web/ that goes into the bundle, and of the lockfile. */
export async function hashConsoleSources(webRoot = WEB_ROOT): Promise<string> {
  const hash = createHash('sha256');
  const files: string[] = [];
  for (const entry of SOURCE_ENTRIES) await collectFiles(path.join(webRoot, entry), files);
  files.sort();
  for (const file of files) {
    hash
      .update(path.relative(webRoot, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  const lock = await readFile(path.join(webRoot, '../package-lock.json')).catch(() => Buffer.alloc(0));
  // These files too: how the bundle is built (its Vite options) is part of what it is.
  const builder = await readFile(fileURLToPath(import.meta.url));
  const script = await readFile(BUILD_SCRIPT);
  return hash.update(lock).update(builder).update(script).digest('hex').slice(0, 32);
}

async function collectFiles(target: string, out: string[]) {
  const entries = await readdir(target, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOTDIR') return null;
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (entries === null) {
    out.push(target);
    return;
  }
  for (const e of entries) {
    const full = path.join(target, e.name);
    if (e.isDirectory()) await collectFiles(full, out);
    else if (e.isFile()) out.push(full);
  }
}

async function bundleHash(dir: string): Promise<string | null> {
  return readFile(path.join(dir, HASH_FILE), 'utf8').then(
    (s) => s.trim(),
    () => null,
  );
}

/** web/dist when the checkout is writable, else the data directory (a read-only install). */
async function outputDir(webRoot: string, dataDir: string): Promise<string> {
  try {
    await access(webRoot, constants.W_OK);
    return path.join(webRoot, 'dist');
  } catch {
    return path.join(dataDir, 'console');
  }
}

/**
 * The directory of an up-to-date bundle: reused when its hash matches the sources, else built.
 * Built into a fresh directory and renamed into place, so two nodes starting at once never serve
 * a half-written bundle (the second rename finds the first's and keeps it).
 */
export async function ensureConsoleBuilt({
  dataDir,
  webRoot = WEB_ROOT,
  log = () => {},
}: {
  dataDir: string;
  webRoot?: string;
  log?: (message: string) => void;
}): Promise<ConsoleBundle> {
  const hash = await hashConsoleSources(webRoot);
  const candidates = [path.join(webRoot, 'dist'), path.join(dataDir, 'console')];
  for (const dir of candidates) {
    if ((await bundleHash(dir)) === hash) return { dir, built: false, hash };
  }
  const dir = await outputDir(webRoot, dataDir);
  const staging = `${dir}.building-${process.pid}`;
  log(`building the web console into ${dir} (its sources changed or it was never built)`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  await runViteBuild(webRoot, staging);
  await writeFile(path.join(staging, HASH_FILE), `${hash}\n`);
  await replaceDir(staging, dir, hash);
  return { dir, built: true, hash };
}

/**
 * Vite's build in a child process (vite-build.mjs), so that this server does not keep the build
 * toolchain and its memory after it; rejects with the end of the child's output when it fails.
 */
function runViteBuild(webRoot: string, outDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUILD_SCRIPT, webRoot, outDir], {
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const how = signal ? `was killed by ${signal}` : `exited with code ${String(code)}`;
      reject(new Error(`the web console's build ${how}:\n${output.trim()}`));
    });
  });
}

async function replaceDir(staging: string, dir: string, hash: string) {
  const old = `${dir}.old-${process.pid}`;
  await rename(dir, old).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  try {
    await rename(staging, dir);
  } catch (error) {
    // Another node put its bundle in place first: keep it when it is the same sources.
    if ((await bundleHash(dir)) !== hash) throw error;
    await rm(staging, { recursive: true, force: true });
  }
  await rm(old, { recursive: true, force: true });
}
