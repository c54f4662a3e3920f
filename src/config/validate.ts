/**
 * Validation: the schema pass (every zod issue, in human words) and the semantic checks
 * (URLs, paths, files, duplicates, ranges), all collected so one run reports every problem.
 * Pure apart from reading the PEM files the configuration names.
 */
import { checkFiles } from './check-files.js';
import { checkDeprecations } from './deprecations.js';
import { checkRoutes } from './check-routes.js';
import { checkSettings } from './check-settings.js';
import type { Finding } from './issues.js';
import { isWritten, parsePartially } from './partial.js';
import { configSchema, type RawConfig } from './schema.js';
import { SCHEMA_PARSE_OPTIONS, translateIssues } from './schema-issues.js';

/** A configuration that passed every check, ready for `compileConfig`. */
export interface ValidatedConfig {
  /** The file's data with the schema's defaults applied. */
  readonly raw: RawConfig;
  /** Directory relative paths resolve against: the config file's. */
  readonly baseDir: string;
  /** Text of every PEM file the configuration names, by absolute path. */
  readonly files: ReadonlyMap<string, string>;
}

/** A validated configuration, or every problem found (not yet located in the file). */
export type ValidationResult =
  { readonly ok: true; readonly config: ValidatedConfig } | { readonly ok: false; readonly findings: readonly Finding[] };

/**
 * Validate plain data read from the configuration file. `baseDir` is the directory of the
 * config file (relative file paths and sqlite paths resolve against it).
 */
export function validateConfig(value: unknown, baseDir: string): ValidationResult {
  const parsed = configSchema.safeParse(value, SCHEMA_PARSE_OPTIONS);
  const findings: Finding[] = parsed.success ? [] : translateIssues(parsed.error.issues);
  const parts = parsePartially(value);
  findings.push(
    ...checkSettings(parts, baseDir, (path) => isWritten(value, path)),
    ...checkRoutes(parts.routes),
    ...checkDeprecations(parts),
  );
  const files = checkFiles(parts, baseDir);
  findings.push(...files.findings);
  if (!parsed.success || findings.length > 0) return { ok: false, findings };
  return { ok: true, config: { raw: parsed.data, baseDir, files: files.files } };
}
