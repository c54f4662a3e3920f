/**
 * The console's static files (docs/console.md), shipped in the package next to this module
 * (`static/`, built from `web/` by `npm run build`) and read once into memory: no CDN, nothing
 * fetched at run time. Every answer of the admin listener carries the same hardening headers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

/**
 * No inline script or style, nothing from elsewhere; `fetch` to this origin only; never framed
 * (`frame-ancestors`, and X-Frame-Options for older browsers); forms post only here.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every answer of the admin listener (API and console). */
export const HARDENING_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': CONSOLE_CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
});

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface StaticFile {
  readonly type: string;
  readonly body: Buffer;
}

export interface ConsoleFiles {
  /** The file for a request path (`/` is the page), or undefined. */
  lookup(path: string): StaticFile | undefined;
}

/** Where the built files are: `static/` beside this module. */
export function staticDirectory(): string {
  return fileURLToPath(new URL('./static/', import.meta.url));
}

/** Reads the console's files; a build without them serves no console (the API still works). */
export function loadConsoleFiles(dir = staticDirectory()): ConsoleFiles {
  const files = new Map<string, StaticFile>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    names = [];
  }
  for (const name of names) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (type === undefined) continue;
    files.set(`/console/${name}`, { type, body: readFileSync(`${dir}/${name}`) });
  }
  const page = files.get('/console/index.html');
  if (page !== undefined) files.set('/', page);
  return { lookup: (path) => files.get(path) };
}

export function sendStatic(res: ServerResponse, file: StaticFile, requestId: string, head: boolean): void {
  res.writeHead(200, {
    ...HARDENING_HEADERS,
    'content-type': file.type,
    'content-length': file.body.length,
    // The page and its scripts change together with the package: always revalidate.
    'cache-control': 'no-cache',
    'x-request-id': requestId,
  });
  res.end(head ? undefined : file.body);
}
