/**
 * The spelling of a header name that policy compares: lower case, with `_` and `.` read as `-`.
 * CGI and WSGI turn `-` into `_` (so `X_Portcullis_Subject` and `X-Portcullis-Subject` both
 * become HTTP_X_PORTCULLIS_SUBJECT, CVE-2024-45614 and kin), and PHP, Rack and some servers
 * turn `.` into `_` as well: a backend may read any of these spellings as the hyphenated header.
 */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  return hasFoldableSeparator(lower) ? lower.replace(FOLDED, '-') : lower;
}

const FOLDED = /[_.]/g;

/** A `Connection` value naming no header but the usual options: most requests' (no split needed). */
const PLAIN_CONNECTION = /^\s*(?:keep-alive|close|upgrade)\s*$/i;

/**
 * The header names a `Connection` value nominates, canonical; undefined when it names only
 * `keep-alive`, `close` or `upgrade` (the common case, answered without allocating).
 */
export function connectionNominees(value: string | undefined): readonly string[] | undefined {
  if (value === undefined || PLAIN_CONNECTION.test(value)) return undefined;
  const names: string[] = [];
  for (const token of value.split(',')) {
    const name = canonicalHeaderName(token.trim());
    if (name !== '') names.push(name);
  }
  return names;
}

/** Whether a (lower-case) name has a `_` or `.` that a backend may read as `-`. */
export function hasFoldableSeparator(lower: string): boolean {
  return lower.includes('_') || lower.includes('.');
}
