/**
 * From key paths to positions in the YAML source and back.
 *
 * zod reports problems by key path (`['routes', 2, 'upstream']`); users need `line:column`.
 * The located node is the value at the path; for a missing key it is the mapping that should
 * hold it; for an unknown key (`at: 'key'`) it is the key itself; for an empty value
 * (`upstream:` with nothing after it) it is the key.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ConfigPath } from './issues.js';

/** A 1-based position in the source. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** Finds the position of a key path; `at: 'key'` points at the key instead of its value. */
export type Locator = (path: ConfigPath, at?: 'key' | 'value') => Position;

type YamlDocument = Document.Parsed;

function keyOf(node: unknown): string | undefined {
  return isScalar(node) ? String(node.value) : undefined;
}

function startOf(node: Node | null | undefined): number | undefined {
  return node?.range?.[0];
}

function resolveAliases(doc: YamlDocument, node: unknown): unknown {
  let current = node;
  // A bounded loop: the yaml package already refuses alias cycles.
  for (let i = 0; i < 32 && isAlias(current); i++) current = current.resolve(doc);
  return current;
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && (node.range?.[0] ?? 0) === (node.range?.[1] ?? 0);
}

function lastPair<P extends { key: unknown }>(items: readonly P[], key: string): P | undefined {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item !== undefined && keyOf(item.key) === key) return item;
  }
  return undefined;
}

/** A locator over a parsed document. */
export function createLocator(doc: YamlDocument, lines: LineCounter): Locator {
  const position = (offset: number | undefined): Position => {
    const { line, col } = lines.linePos(offset ?? 0);
    return { line, column: col };
  };
  return (path, at = 'value') => {
    let node: unknown = resolveAliases(doc, doc.contents);
    let offset = startOf(doc.contents);
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = lastPair(node.items, String(segment));
        if (pair === undefined) return position(offset);
        const keyStart = startOf(pair.key as Node | null);
        if (last && at === 'key') return position(keyStart);
        if (pair.value === null || isEmptyScalar(pair.value)) return position(keyStart);
        node = resolveAliases(doc, pair.value);
        offset = startOf(node as Node) ?? keyStart;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined || item === null) return position(offset);
        node = resolveAliases(doc, item);
        offset = startOf(node as Node) ?? offset;
      } else {
        return position(offset);
      }
    }
    return position(offset);
  };
}

function contains(node: Node | null | undefined, offset: number): boolean {
  const range = node?.range;
  return range !== undefined && range !== null && offset >= range[0] && (offset < range[2] || offset === range[0]);
}

/** The key path of the innermost node at a source offset (for YAML errors); `[]` when none. */
export function pathAtOffset(doc: YamlDocument, offset: number): ConfigPath {
  const path: (string | number)[] = [];
  let node: unknown = doc.contents;
  for (let depth = 0; depth < 256; depth++) {
    if (isMap(node)) {
      const pair = node.items.find((p) => contains(p.key as Node | null, offset) || contains(p.value as Node | null, offset));
      if (pair === undefined) break;
      path.push(keyOf(pair.key) ?? '?');
      if (contains(pair.key as Node | null, offset)) break;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => contains(item as Node | null, offset));
      if (index < 0) break;
      path.push(index);
      node = node.items[index];
    } else {
      break;
    }
  }
  return path;
}
