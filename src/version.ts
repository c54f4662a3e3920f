/** The package version, read once from package.json (build info metric, `--version`). */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const url = new URL('../../package.json', import.meta.url);
    const parsed = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const PACKAGE_VERSION = readVersion();
