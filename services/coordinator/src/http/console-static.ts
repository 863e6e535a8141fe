/**
 * The console's static files (services/console, built by Vite into services/console/dist) served
 * at `/ui` (docs/security.md, "Console"). The files are read once into memory (a few hundred KiB)
 * and only those are served: a path is looked up in that table, never joined onto the disk, so no
 * request reaches another file. The page itself holds nothing of the fleet: it asks the API, with
 * the same bearer token as any client, so serving it needs no credential.
 *
 * Every answer carries a Content-Security-Policy that allows this origin only (no inline script
 * or style, no other host: the console works without network beyond the coordinator), plus
 * `nosniff`, no referrer and no framing. Hashed assets are cached for a year; `index.html` is
 * revalidated every time so a new build is picked up.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** services/console/dist (the same depth from src/http and dist/http). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist', import.meta.url));

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Largest file of the console read into memory, and the most files. */
const MAX_FILE_BYTES = 4 << 20;
const MAX_FILES = 200;

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly cache: string;
}

export interface StaticAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | number>>;
  readonly body: Buffer | string;
}

const walk = (dir: string, out: string[] = []): string[] => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile()) out.push(path);
    if (out.length > MAX_FILES) throw new Error(`${dir}: more than ${MAX_FILES} files`);
  }
  return out;
};

const load = (dir: string): Map<string, StaticFile> | undefined => {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const files = new Map<string, StaticFile>();
  for (const path of walk(dir)) {
    const type = TYPES[extname(path)];
    if (type === undefined || statSync(path).size > MAX_FILE_BYTES) continue;
    const rel = relative(dir, path).split(sep).join('/');
    files.set(rel, {
      body: readFileSync(path),
      type,
      cache: rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  }
  return files;
};

/**
 * The answer to `GET|HEAD path` under `/ui`, from the files of `dir` (read on first use, and
 * again when index.html changes; a console not built yet is a 503 that says how to build it).
 */
export const createConsoleFiles = (dir: string = DEFAULT_CONSOLE_DIR) => {
  let files: Map<string, StaticFile> | undefined;
  /** index.html's mtime when the files were read: a rebuild (npm run build) is picked up */
  let builtAt = 0;
  const current = (): Map<string, StaticFile> | undefined => {
    let mtime = 0;
    try {
      mtime = statSync(join(dir, 'index.html')).mtimeMs;
    } catch {
      mtime = 0;
    }
    if (files === undefined || mtime !== builtAt) {
      files = mtime === 0 ? undefined : load(dir);
      builtAt = mtime;
    }
    return files;
  };
  return (method: string, path: string): StaticAnswer => {
    if (method !== 'GET' && method !== 'HEAD')
      return {
        status: 405,
        headers: { ...SECURITY_HEADERS, allow: 'GET, HEAD', 'content-type': 'text/plain' },
        body: `${method} ${path}: the console is read with GET\n`,
      };
    if (path === '/ui')
      return { status: 308, headers: { ...SECURITY_HEADERS, location: '/ui/' }, body: '' };
    const files = current();
    if (files === undefined)
      return {
        status: 503,
        headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' },
        body: `the console is not built (${dir} has no index.html): run 'npm run build' (or 'npm run build -w services/console')\n`,
      };
    const rel = path === '/ui/' ? 'index.html' : path.slice('/ui/'.length);
    const file = files.get(rel);
    if (file === undefined)
      return {
        status: 404,
        headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' },
        body: `no console file ${path}\n`,
      };
    return {
      status: 200,
      headers: {
        ...SECURITY_HEADERS,
        'content-type': file.type,
        'content-length': file.body.length,
        'cache-control': file.cache,
      },
      body: method === 'HEAD' ? '' : file.body,
    };
  };
};
