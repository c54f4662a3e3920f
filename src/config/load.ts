/**
 * YAML text → plain data, keeping positions.
 *
 * Parses with the `yaml` package (YAML 1.2 core schema: `off`, `yes`, `no` stay strings),
 * refuses duplicate keys and syntax errors with their position, and substitutes `${NAME}` in
 * every string value (not in keys). The result carries a locator so later stages can turn a
 * key path into `line:column`.
 */
import { isScalar, LineCounter, parseDocument, visit, type YAMLError } from 'yaml';
import { expandEnv } from './env.js';
import { formatPath, type ConfigIssue, type ConfigPath } from './issues.js';
import { createLocator, pathAtOffset, type Locator } from './locate.js';

/** The parsed file: plain data (not yet validated) and a way to locate key paths in it. */
export interface LoadedYaml {
  readonly value: unknown;
  readonly locate: Locator;
}

/** Parsed data, or every YAML and `${VAR}` problem found. */
export type LoadResult = { readonly ok: true; readonly yaml: LoadedYaml } | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** Our wording for the yaml package's error codes; others keep the package's message. */
function yamlMessage(error: YAMLError, path: ConfigPath): string {
  switch (error.code) {
    case 'DUPLICATE_KEY': {
      const key = path[path.length - 1];
      const name = key === undefined ? 'key' : `key ${JSON.stringify(String(key))}`;
      return `duplicate ${name}; a key may appear only once in a mapping`;
    }
    case 'MULTIPLE_DOCS':
      return 'YAML syntax error: the file holds several documents ("---"); expected exactly one';
    default:
      return `YAML syntax error: ${error.message.replace(/\s+at line \d+, column \d+[\s\S]*$/, '')}`;
  }
}

/** Offset of `index` (an offset in a scalar's value) in the source, when the value is written verbatim. */
function sourceOffset(source: string, start: number, end: number, value: string, index: number): number {
  const raw = source.slice(start, end);
  if (raw === value) return start + index;
  if ((raw.startsWith('"') || raw.startsWith("'")) && raw.slice(1, -1) === value) return start + 1 + index;
  return start;
}

/**
 * Parse configuration text. `file` is only used to label issues; `env` supplies `${NAME}`.
 */
export function parseYaml(text: string, file: string, env: NodeJS.ProcessEnv): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const issueAt = (offset: number, path: string, message: string): ConfigIssue => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col, path, message };
  };

  const issues: ConfigIssue[] = doc.errors.map((error) => {
    const offset = error.pos[0];
    // Only a duplicate key leaves a trustworthy tree to name a path in; after a syntax error
    // the tree is a guess, so the position alone locates the problem.
    const path = error.code === 'DUPLICATE_KEY' ? pathAtOffset(doc, offset) : [];
    return issueAt(offset, formatPath(path), yamlMessage(error, path));
  });
  if (issues.length > 0) return { ok: false, issues };

  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) === undefined) {
        const offset = node.range?.[0] ?? 0;
        issues.push(
          issueAt(
            offset,
            formatPath(pathAtOffset(doc, offset)),
            `unknown alias "*${node.source}"; an alias needs its anchor ("&${node.source}") defined before it`,
          ),
        );
      }
    },
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string') return;
      const expansion = expandEnv(node.value, env);
      const [start = 0, end = start] = node.range ?? [];
      for (const problem of expansion.problems) {
        issues.push(
          issueAt(sourceOffset(text, start, end, node.value, problem.index), formatPath(pathAtOffset(doc, start)), problem.message),
        );
      }
      node.value = expansion.value;
    },
  });
  if (issues.length > 0) return { ok: false, issues };

  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    return { ok: false, issues: [issueAt(0, '(root)', 'the configuration is empty; expected a mapping with at least a "routes" list')] };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch {
    // Unresolved aliases were reported above; what remains is alias expansion beyond
    // maxAliasCount, the "billion laughs" resource-exhaustion pattern.
    return {
      ok: false,
      issues: [issueAt(0, '(root)', 'YAML error: too many alias expansions (more than 100); expected a configuration without alias bombs')],
    };
  }
  return { ok: true, yaml: { value, locate: createLocator(doc, lines) } };
}
