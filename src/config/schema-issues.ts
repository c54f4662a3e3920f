/**
 * zod issues → human messages. zod's defaults ("Invalid input: expected string, received
 * number") become "expected a string; got 5"; unknown keys get one finding each, located at
 * the key, with "did you mean" when a known key at that level is close. Messages written in
 * the schema itself (`schema.ts`) are kept, and the offending value is appended to format errors.
 */
import { z } from 'zod';
import type { ConfigPath, Finding } from './issues.js';
import { configSchema } from './schema.js';
import { suggest } from './suggest.js';

/** The message zod gives an issue when the schema did not write one; see `SCHEMA_PARSE_OPTIONS`. */
const DEFAULT_MESSAGE = '\u0000default';

/** Options for `configSchema.safeParse` so that `translateIssues` can tell zod's defaults apart. */
export const SCHEMA_PARSE_OPTIONS = { reportInput: true, error: () => DEFAULT_MESSAGE } as const;

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

/** How a value read from YAML is shown in a message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value;
}

/** The schema that describes the value at `path`, unwrapping optional and default layers. */
function schemaAt(path: ConfigPath): z.ZodType | undefined {
  let schema: z.ZodType | undefined = configSchema;
  for (let i = 0; i <= path.length && schema !== undefined; i++) {
    while (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable) {
      schema = schema.unwrap() as z.ZodType;
    }
    if (i === path.length) break;
    const segment = path[i];
    if (schema instanceof z.ZodObject && typeof segment === 'string') schema = (schema.shape as Record<string, z.ZodType>)[segment];
    else if (schema instanceof z.ZodArray && typeof segment === 'number') schema = schema.element as z.ZodType;
    else schema = undefined;
  }
  return schema;
}

/** Keys a mapping at `path` accepts, in schema order. */
export function knownKeysAt(path: ConfigPath): readonly string[] {
  const schema = schemaAt(path);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function quoteHint(expected: string, input: unknown): string {
  return expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')
    ? ` (write it in quotes: "${String(input)}")`
    : '';
}

function bound(issue: { inclusive?: boolean }, op: '>' | '<', limit: number | bigint): string {
  return `${op}${issue.inclusive === false ? '' : '='} ${limit}`;
}

function translate(issue: z.core.$ZodIssue): Finding[] {
  const path = issue.path as ConfigPath;
  const input = issue.input;
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(path);
    return issue.keys.map((key) => {
      const guess = suggest(key, known);
      const hint = guess !== undefined ? `did you mean "${guess}"?` : `expected one of: ${known.join(', ')}`;
      return { path: [...path, key], at: 'key', message: `unknown key ${JSON.stringify(key)}; ${hint}` };
    });
  }
  const custom = issue.message !== DEFAULT_MESSAGE;
  if (custom) {
    const got = issue.code === 'invalid_format' ? `; got ${describeValue(input)}` : '';
    return [{ path, message: `${issue.message}${got}` }];
  }
  switch (issue.code) {
    case 'invalid_type': {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (input === undefined) {
        const key = path[path.length - 1];
        return [{ path, message: `missing required key ${JSON.stringify(String(key ?? ''))}; expected ${expected}` }];
      }
      return [{ path, message: `expected ${expected}; got ${describeValue(input)}${quoteHint(issue.expected, input)}` }];
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const guess = typeof input === 'string' ? suggest(input, values) : undefined;
      const hint = guess !== undefined ? `; did you mean "${guess}"?` : '';
      return [{ path, message: `expected one of ${values.join(', ')}; got ${describeValue(input)}${hint}` }];
    }
    case 'too_small':
      if (issue.origin === 'array')
        return [{ path, message: `expected at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}; got ${describeValue(input)}` }];
      if (issue.origin === 'string')
        return [{ path, message: `expected at least ${issue.minimum} characters; got ${describeValue(input)}` }];
      return [{ path, message: `expected a number ${bound(issue, '>', issue.minimum)}; got ${describeValue(input)}` }];
    case 'too_big':
      if (issue.origin === 'array') return [{ path, message: `expected at most ${issue.maximum} items` }];
      if (issue.origin === 'string') return [{ path, message: `expected at most ${issue.maximum} characters` }];
      return [{ path, message: `expected a number ${bound(issue, '<', issue.maximum)}; got ${describeValue(input)}` }];
    case 'invalid_format':
      return [
        {
          path,
          message: `expected ${issue.format === 'regex' ? `a value matching ${issue.pattern ?? 'the pattern'}` : `a valid ${issue.format}`}; got ${describeValue(input)}`,
        },
      ];
    default:
      return [{ path, message: `invalid value; got ${describeValue(input)}` }];
  }
}

/** Human findings for every issue of a failed `configSchema.safeParse(…, SCHEMA_PARSE_OPTIONS)`. */
export function translateIssues(issues: readonly z.core.$ZodIssue[]): Finding[] {
  return issues.flatMap(translate);
}
