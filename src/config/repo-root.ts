/** Finding the repository (package) root from a file inside it. */
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The nearest directory at or above `from` that holds a package.json.
 * @throws TypeError when there is none.
 */
export function findRepoRoot(from: string): string {
  let dir = path.resolve(from);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new TypeError(`no package.json at or above ${from}`);
    dir = parent;
  }
}
