/**
 * Configuration problems as users see them: `file:line:col: routes[2].upstream: message`.
 *
 * Every stage (YAML parsing, `${VAR}` substitution, schema, semantic checks) reports problems in
 * this one shape, so `portcullis check` can print them all at once, sorted by position.
 */

/** A key path inside the configuration, as zod reports it: `['routes', 2, 'upstream']`. */
export type ConfigPath = readonly (string | number)[];

/** One configuration problem, located in the file. `line` and `column` are 1-based. */
export interface ConfigIssue {
  /** The configuration file, as the caller named it. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** JS-style key path (`routes[2].match.path`), or `(root)` for the document itself. */
  readonly path: string;
  /** What is wrong and what is expected. Never contains a secret. */
  readonly message: string;
}

/** A problem found by a check, before it is located in the file. */
export interface Finding {
  readonly path: ConfigPath;
  readonly message: string;
  /** Point at the key itself rather than its value (unknown keys). Default `value`. */
  readonly at?: 'key' | 'value';
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['routes', 2, 'match', 'path']` → `routes[2].match.path`; `[]` → `(root)`. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(root)' : out;
}

/** `file:line:col: path: message`, the one line `portcullis check` prints per problem. */
export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.path}: ${issue.message}`;
}

/** How many problems a refused reload logs; `portcullis check` lists them all. */
export const MAX_LOGGED_ISSUES = 100;

/** The problems of a refused reload as logged: the first MAX_LOGGED_ISSUES, then how many more. */
export function loggedIssues(issues: readonly ConfigIssue[]): string[] {
  const shown = issues.slice(0, MAX_LOGGED_ISSUES).map(formatIssue);
  if (issues.length > shown.length) shown.push(`… and ${issues.length - shown.length} more (portcullis check lists them all)`);
  return shown;
}

/** Issues in file order (line, column, then path), without exact duplicates. */
export function sortIssues(issues: readonly ConfigIssue[]): readonly ConfigIssue[] {
  const seen = new Set<string>();
  const unique = issues.filter((issue) => {
    const key = formatIssue(issue);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => a.line - b.line || a.column - b.column || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
