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

/** Whether a (lower-case) name has a `_` or `.` that a backend may read as `-`. */
export function hasFoldableSeparator(lower: string): boolean {
  return lower.includes('_') || lower.includes('.');
}
