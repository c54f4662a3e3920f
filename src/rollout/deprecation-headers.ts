/**
 * The response headers that announce a deprecation, and how they meet an upstream's own:
 *
 *   Deprecation: @1772323200                     RFC 9745 §2: a Structured Field Date (RFC 9651
 *                                                §3.3.7), epoch seconds after "@"
 *   Sunset: Mon, 01 Mar 2027 00:00:00 GMT        RFC 8594 §3: an HTTP-date (IMF-fixdate)
 *   Link: <https://…>; rel="deprecation"         RFC 9745 §3, only when a link is set
 *
 * An upstream may announce its own deprecation (of the resource) with the same fields. Both
 * apply to the client, and `Deprecation` and `Sunset` hold one date each, so the earlier of the
 * two dates is sent for each: the client learns the first moment something it uses goes away
 * (RFC 9745 §4: a sunset never earlier than the deprecation, which taking the minimum of both
 * keeps). A value of the upstream that does not parse is replaced by the gateway's. `Link` is a
 * list: the gateway's link is added after the upstream's, which are kept.
 */
import type { Deprecation } from '../config/types.js';

/** `Deprecation` value: `@` and whole epoch seconds. */
export function deprecationHeaderValue(sinceMs: number): string {
  return `@${Math.floor(sinceMs / 1000)}`;
}

/** `Sunset` value: IMF-fixdate (`toUTCString` writes exactly that form). */
export function sunsetHeaderValue(sunsetMs: number): string {
  return new Date(Math.floor(sunsetMs / 1000) * 1000).toUTCString();
}

/** The headers of a refusal at or after the sunset: when it was, and where to read about it. */
export function sunsetHeaders(sunsetMs: number, link: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { sunset: sunsetHeaderValue(sunsetMs) };
  if (link !== undefined) headers.link = `<${link}>; rel="deprecation"`;
  return headers;
}

const SF_DATE = /^@(-?\d{1,15})$/;

function parseDeprecation(value: string): number | undefined {
  const match = SF_DATE.exec(value.trim());
  return match === null ? undefined : Number(match[1]) * 1000;
}

function parseSunset(value: string): number | undefined {
  const ms = Date.parse(value.trim());
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Sets the one value of `name` in the flat header list `headers` (name, value, name, value…):
 * the upstream's when it parses and is not later than `ours`, else `ours`.
 */
function mergeDate(headers: string[], name: string, oursMs: number, ours: string, parse: (value: string) => number | undefined): void {
  let theirs: number | undefined;
  let found = false;
  let valid = true;
  for (let i = 0; i < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() !== name) continue;
    const parsed = parse(headers[i + 1] as string);
    if (parsed === undefined || found) valid = false;
    found = true;
    theirs = parsed;
  }
  if (found && valid && theirs !== undefined && theirs <= oursMs) return;
  if (found) {
    for (let i = headers.length - 2; i >= 0; i -= 2) if ((headers[i] as string).toLowerCase() === name) headers.splice(i, 2);
  }
  headers.push(name, ours);
}

/** Adds the deprecation headers of `notice` to the client response headers `headers` (modified and returned). */
export function withDeprecationHeaders(headers: string[], notice: Deprecation): string[] {
  mergeDate(headers, 'deprecation', Math.floor(notice.sinceMs / 1000) * 1000, deprecationHeaderValue(notice.sinceMs), parseDeprecation);
  mergeDate(headers, 'sunset', Math.floor(notice.sunsetMs / 1000) * 1000, sunsetHeaderValue(notice.sunsetMs), parseSunset);
  if (notice.link !== undefined) headers.push('link', `<${notice.link}>; rel="deprecation"`);
  return headers;
}
