/**
 * The console's build: one HTML page, its script and its stylesheet under dist/, served by the
 * coordinator at /ui (services/coordinator/src/http/console-static.ts). Nothing is inlined, so
 * the page runs under a Content-Security-Policy of `'self'` only, and nothing is loaded from
 * another host at run time.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/ui/',
  root: import.meta.dirname,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // the preload polyfill would be an inline script; every browser the console supports has it
    modulePreload: { polyfill: false },
    // no data: URLs for assets: every file is served by the coordinator
    assetsInlineLimit: 0,
    sourcemap: true,
  },
});
