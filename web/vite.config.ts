// The console's build (used by `hongyan start` through Vite's JS API) and its dev server:
// `npx vite --config web/vite.config.ts` serves web/ with hot reload and proxies the API to a
// running Hongyan (HONGYAN_URL, default http://127.0.0.1:8080).
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const target = process.env.HONGYAN_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: {
      '/v1': { target, changeOrigin: false },
      '/docs': { target },
    },
  },
});
