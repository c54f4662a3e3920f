/** Shared helpers of the configuration tests (not a test file itself). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { formatIssue, loadConfigFile, type ConfigResult } from '../../src/config/index.js';
import { findRepoRoot } from '../../src/config/repo-root.js';
import { selfSigned as selfSignedCert } from '../support/certs.js';

/** The repository root (the directory holding package.json), found from the compiled test file. */
export const REPO_ROOT = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));

/** YAML text from its lines, one per argument (newline-terminated). */
export const y = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Write `text` as `name` in `dir` and return its path. */
export function writeFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Load `yaml` written as `portcullis.yaml` in `dir`. */
export function loadYaml(dir: string, yaml: string, env: NodeJS.ProcessEnv = {}): ConfigResult {
  return loadConfigFile(writeFile(dir, 'portcullis.yaml', yaml), env);
}

/** The issues of a result as `line:col: path: message` (the file name dropped), or [] when it loaded. */
export function problems(result: ConfigResult, file?: string): string[] {
  if (result.ok) return [];
  return result.issues.map((issue) => {
    const line = formatIssue(issue);
    const prefix = `${file ?? issue.file}:`;
    return line.startsWith(prefix) ? line.slice(prefix.length) : line;
  });
}

/** Run the openssl CLI in `dir`. */
export function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A self-signed EC certificate and its key, written as `<name>.pem` and `<name>-key.pem` in `dir`. */
export function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const { certPath, keyPath } = selfSignedCert(dir, name);
  return { cert: certPath, key: keyPath };
}
