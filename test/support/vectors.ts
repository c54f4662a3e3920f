/**
 * Attack and edge-case vectors kept as data: JSON files under test/vectors/, read
 * from the source tree so the same corpus can feed a fuzzer. Raw requests are JSON strings whose
 * characters are bytes (latin1): "\r\n", "\u0000" and "\u00ff" are written as such.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/support → the repository root. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function loadVectors<T>(name: string): T {
  return JSON.parse(readFileSync(join(ROOT, 'test', 'vectors', name), 'utf8')) as T;
}

/** A vector's raw request as the bytes to write. */
export function rawBytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}
