/**
 * The migration link of a deprecation, checked where it enters (configuration, CLI, admin API):
 * it is sent in a `Link` header as `<url>; rel="deprecation"` (RFC 8288 §3), so it must be an
 * absolute http(s) URL without a byte that would end the `<…>` or the header: `<`, `>`, `"`,
 * spaces, control characters or anything outside printable ASCII (percent-encode those).
 */

/** Longest link accepted, in characters. */
export const MAX_DEPRECATION_LINK = 2048;

const LINK_SAFE = /^[\x21-\x7e]+$/;
const LINK_UNSAFE = /[<>"\\^`{|}]/;

/** What is wrong with `link`, or undefined when it may be sent. */
export function deprecationLinkProblem(link: string): string | undefined {
  if (link.length > MAX_DEPRECATION_LINK) return `expected a URL of at most ${MAX_DEPRECATION_LINK} characters`;
  if (!LINK_SAFE.test(link) || LINK_UNSAFE.test(link)) {
    return 'expected a URL of printable ASCII without spaces, quotes, "<", ">" or other characters a Link header cannot carry (percent-encode them)';
  }
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return 'expected an absolute URL such as https://docs.example.com/migrate';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `expected an http or https URL, not ${url.protocol}`;
  return undefined;
}
