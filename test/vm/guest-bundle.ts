/**
 * The guest program as one ES module (esbuild, the workspace sources through the
 * `@tramway/source` condition; koffi stays external: the initramfs carries it).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));

export const bundleGuest = async (entry = join(HERE, 'guest', 'bpf-guest.ts')): Promise<string> => {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@tramway/source'],
    external: ['koffi'],
    // CommonJS dependencies call require(): give the ES module one
    banner: {
      js: "import { createRequire as __tramwayRequire } from 'node:module'; const require = __tramwayRequire(import.meta.url);",
    },
    write: false,
    logLevel: 'silent',
  });
  const out = r.outputFiles[0];
  if (out === undefined) throw new Error(`esbuild gave no output for ${entry}`);
  return out.text;
};
