/**
 * The configuration's public entry: find the file, load it, get a frozen `GatewayConfig` or
 * every problem located in the file (docs/configuration.md).
 *
 *   load (YAML, positions, ${VAR}) → validate (schema + semantic checks, all collected)
 *   → compile (defaults merged, files read, frozen)
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { checkFallThrough } from './check-fall-through.js';
import { checkShadowRoutes } from './check-shadow.js';
import { compileConfig } from './compile.js';
import { type Finding, formatPath, sortIssues, type ConfigIssue } from './issues.js';
import { parseYaml } from './load.js';
import type { GatewayConfig } from './types.js';
import { validateConfig, type ValidatedConfig } from './validate.js';

export { formatDuration, parseDuration } from './durations.js';
export { formatIssue, formatPath, loggedIssues, MAX_LOGGED_ISSUES, type ConfigIssue, type Finding } from './issues.js';
export type * from './types.js';

/** A loaded configuration, or every problem found in it, in file order. */
export type ConfigResult =
  | { readonly ok: true; readonly config: GatewayConfig; readonly warnings: readonly ConfigIssue[] }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** Used when neither `--config` nor `PORTCULLIS_CONFIG` names a file; relative to the working directory. */
export const DEFAULT_CONFIG_PATH = 'config/portcullis.yaml';

/**
 * Which configuration file to load: the `--config` flag, else `PORTCULLIS_CONFIG` (ignored
 * when empty), else `config/portcullis.yaml`. Returned as given (relative paths stay relative
 * to the working directory), so messages show the name the user typed.
 * @throws TypeError when the flag is given but empty.
 */
export function resolveConfigPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined) {
    if (flag === '') throw new TypeError('--config needs a file name');
    return flag;
  }
  const fromEnv = env.PORTCULLIS_CONFIG;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CONFIG_PATH;
}

/** A configuration file read, parsed and validated, not yet compiled; or every problem found. */
export type CheckedConfig =
  | { readonly ok: true; readonly validated: ValidatedConfig; readonly warnings: readonly ConfigIssue[] }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/**
 * Parse and validate configuration text as if read from `file` (relative paths inside it
 * resolve against the file's directory; `file` also labels the issues).
 */
export function checkConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): CheckedConfig {
  const loaded = parseYaml(text, file, env);
  if (!loaded.ok) return { ok: false, issues: sortIssues(loaded.issues) };
  const validated = validateConfig(loaded.yaml.value, path.dirname(path.resolve(file)));
  if (!validated.ok) {
    const issues = validated.findings.map((finding): ConfigIssue => {
      const { line, column } = loaded.yaml.locate(finding.path, finding.at);
      return { file, line, column, path: formatPath(finding.path), message: finding.message };
    });
    return { ok: false, issues: sortIssues(issues) };
  }
  // Legal but likely a mistake (check-fall-through.ts) or worth a reminder (check-shadow.ts):
  // shown by `check` and logged at start.
  const routes = validated.config.raw.routes;
  const warnings = [...checkFallThrough(routes), ...checkShadowRoutes(routes)].map((finding): ConfigIssue => {
    const { line, column } = loaded.yaml.locate(finding.path, finding.at);
    return { file, line, column, path: formatPath(finding.path), message: finding.message };
  });
  return { ok: true, validated: validated.config, warnings: sortIssues(warnings) };
}

/** Largest configuration file read (a 10,000-route file is ~2 MB): a mistaken path must not exhaust memory. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT'
    ? 'file not found'
    : code === 'EISDIR'
      ? 'is a directory'
      : code === 'EACCES'
        ? 'permission denied'
        : (code ?? 'unreadable');
}

/** Why the file will not be read, or undefined. Only a regular file is: a FIFO or a device could block or never end. */
function unreadable(file: string): string | undefined {
  try {
    const stats = statSync(file);
    if (stats.isDirectory()) return 'is a directory';
    if (!stats.isFile()) return 'not a regular file';
    if (stats.size > MAX_CONFIG_BYTES) return `larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB`;
    return undefined;
  } catch (error) {
    return readFailure(error);
  }
}

/** Read, parse and validate the configuration file: the expensive stages, run off the main thread by a gateway. */
export function checkConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): CheckedConfig {
  let why = unreadable(file);
  let text = '';
  if (why === undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      why = readFailure(error);
    }
  }
  if (why !== undefined) {
    return {
      ok: false,
      issues: [
        {
          file,
          line: 1,
          column: 1,
          path: '(root)',
          message: `cannot read the configuration file: ${why} (use --config FILE or PORTCULLIS_CONFIG)`,
        },
      ],
    };
  }
  return checkConfigText(text, file, env);
}

/** The runtime configuration of a checked file, or its problems. */
export function compileChecked(checked: CheckedConfig, file: string): ConfigResult {
  return checked.ok ? { ok: true, config: compileConfig(checked.validated, file), warnings: checked.warnings } : checked;
}

/**
 * Load configuration text as if read from `file` (relative paths inside it resolve against
 * the file's directory; `file` also labels the issues).
 */
export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): ConfigResult {
  return compileChecked(checkConfigText(text, file, env), file);
}

/** Read, validate and compile the configuration file; `env` supplies `${NAME}` values. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): ConfigResult {
  return compileChecked(checkConfigFile(file, env), file);
}

/**
 * Locates findings about a valid configuration (e.g. `portcullis check --probe`) in its file:
 * each becomes a ConfigIssue with line and column. Falls back to 1:1 if the file cannot be read.
 */
export function locateFindings(file: string, findings: readonly Finding[], env: NodeJS.ProcessEnv = process.env): ConfigIssue[] {
  let locate: ((path: Finding['path'], at?: 'key' | 'value') => { line: number; column: number }) | undefined;
  try {
    const loaded = parseYaml(readFileSync(file, 'utf8'), file, env);
    if (loaded.ok) locate = loaded.yaml.locate;
  } catch {
    // Unreadable since it was checked: located at the top of the file.
  }
  return findings.map((finding) => {
    const { line, column } = locate?.(finding.path, finding.at) ?? { line: 1, column: 1 };
    return { file, line, column, path: formatPath(finding.path), message: finding.message };
  });
}
