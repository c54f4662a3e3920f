/**
 * Headers on every answer Portcullis writes itself on the proxy and metrics listeners: refusals
 * (problem+json), the OAuth endpoints, the JWKS, the health and metrics endpoints. These answers
 * are JSON or text, some of them quoting what the client sent (a path, a method override); a
 * browser must never sniff one into HTML, run it as a document or frame it. The admin listener
 * has its own, wider set (console/static-files.ts), which these never replace.
 */
export const OWN_ANSWER_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
});

/** Headers as header lines (`name: value` CRLF), for an answer written straight to a socket. */
export function headerLines(headers: Readonly<Record<string, string>>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
}
