// The console's Vite build, run by console.build.ts in a child process of its own: a server that
// built its console in process kept Vite, Rollup and esbuild loaded, and ~550-700 MB more memory
// for the rest of its life (RSS 0.8-1.0 GB a minute after such a start, 0.26 GB after one that
// reused the bundle). Plain JavaScript, so that it needs no TypeScript loader.
//
//   node vite-build.mjs <web root> <out dir>    (the parent sets NODE_ENV=production)
import path from 'node:path';
import process from 'node:process';
import { build } from 'vite';

const [webRoot, outDir] = process.argv.slice(2);
if (!webRoot || !outDir) throw new Error('usage: node vite-build.mjs <web root> <out dir>');
// The served console is always the production build. Vite takes NODE_ENV over `mode` for
// isProduction, and the React plugin then compiles JSX for the development runtime (jsxDEV) while
// the bundle holds the production one, whose jsxDEV is undefined: a blank page. The parent sets
// NODE_ENV=production for this process; `define` makes the bundle's value explicit too.
await build({
  configFile: path.join(webRoot, 'vite.config.ts'),
  root: webRoot,
  logLevel: 'warn',
  mode: 'production',
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  build: { outDir, emptyOutDir: true },
});
