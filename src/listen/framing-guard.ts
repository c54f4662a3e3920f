/**
 * The smuggling guard: refuses, with 400 request.malformed, request heads that two HTTP parsers
 * could frame or route differently. Node's parser (llhttp) already refuses Content-Length with
 * Transfer-Encoding, duplicated Content-Length, bare CR/LF and obs-fold (those arrive through
 * `clientError`, answered by `sendParserError` in send-problem.ts); this guard covers what
 * llhttp lets through, reading the raw header list so duplicates cannot hide behind Node's
 * header merging.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';
import { PROXY_CLAIM_HEADERS, PROXY_CLAIM_PREFIXES } from '../forward/proxy-claim-headers.js';
import { canonicalHeaderName, connectionNominees } from './header-name.js';
import { foldParameterName, queryParameters } from './parameter-name.js';

/**
 * Methods on which a chunked body is refused: http-proxy sets `content-length: 0` on DELETE and
 * OPTIONS without one and forwards `transfer-encoding: chunked` too (a known request
 * desync); GET, HEAD and TRACE bodies are ignored by many servers, which then read
 * the body as the next request.
 */
const NO_CHUNKED_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** Headers some frameworks read as the method; on a read request they would turn it into a write. */
export const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;

const OVERRIDE_HEADERS: ReadonlySet<string> = new Set(METHOD_OVERRIDE_HEADERS);

/**
 * Header lines Node keeps per request head (`server.maxHeadersCount`, set by the gateway);
 * a head with this many lines or more is refused, see `guardFraming`.
 */
export const MAX_HEADER_LINES = 2000;

/** Node's own test for a 100-continue expectation (lib/_http_server.js). */
const CONTINUE_EXPECTATION = /(?:^|\W)100-continue(?:$|\W)/i;

const HOST_PATTERN =
  /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?)(?::\d{1,5})?$/;

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Headers that framing, routing, authentication or the header rules depend on. A `Connection`
 * header naming one (RFC 9110 §7.6.1 makes the named headers hop-by-hop, so they are dropped
 * before forwarding) would make the upstream see a different request than the one checked:
 * `Connection: Content-Length` on a GET turned its body into a chunked one upstream.
 */
const POLICY_HEADERS: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'authorization',
  'proxy-authorization',
  'expect',
  ...METHOD_OVERRIDE_HEADERS,
  ...PROXY_CLAIM_HEADERS.map((h) => h.name),
]);
const POLICY_PREFIXES: readonly string[] = ['x-portcullis-', ...PROXY_CLAIM_PREFIXES.map((p) => p.prefix)];

/** Whether a (canonical) header name is one policy depends on. */
export function isPolicyHeader(canonical: string): boolean {
  return POLICY_HEADERS.has(canonical) || POLICY_PREFIXES.some((prefix) => canonical.startsWith(prefix));
}

function malformed(detail: string): GatewayError {
  return new GatewayError('request.malformed', detail);
}

export interface FramingOptions {
  /**
   * The handler reads and checks `Content-Type` itself (the OAuth endpoints answer two of them
   * with an RFC 6749 `invalid_request`): the guard leaves repeated or folded spellings to it.
   */
  readonly ownContentTypeCheck?: boolean;
}

/**
 * Checks the request head and returns the lower-cased host name (without port or trailing dot)
 * used for routing.
 */
export function guardFraming(req: IncomingMessage, options: FramingOptions = {}): string {
  const raw = req.rawHeaders;
  let hostCount = 0;
  let transferEncodingCount = 0;
  let contentLengthCount = 0;
  /** Content-Type in any spelling; `folded`: one spelled with `_` or `.` was among them. */
  let contentTypeCount = 0;
  let contentTypeFolded = false;
  let methodOverride = false;
  let connection: string | undefined;
  const method = req.method;
  // Some runtimes parse a method they cannot name (Node 20.19.2 hands QUERY over with no
  // method): a request whose method is unknown is refused, never defaulted to a read.
  if (typeof method !== 'string' || method === '') {
    throw new GatewayError('request.malformed', 'The request method is not one this gateway can name.');
  }
  // Node keeps only the first `maxHeadersCount` header lines; one hidden past them would be
  // invisible here and to the header rules, so a head that reached the limit is refused.
  if (raw.length >= MAX_HEADER_LINES * 2) {
    throw new GatewayError('request.headers_too_large', `${MAX_HEADER_LINES} header lines or more were sent.`);
  }
  // HTTP/2.0 or 1.2 written in HTTP/1 syntax: llhttp accepts them, nothing defines their framing.
  if (req.httpVersionMajor !== 1) throw malformed('Only HTTP/1.0 and HTTP/1.1 are served.');
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    // Only names of these lengths need a closer look. `_` and `.` count as hyphens: servers
    // that map them to `-` would read `Transfer_Encoding` as framing (and a Transfer_Encoding
    // with no Transfer-Encoding then fails the "only chunked" check below).
    switch (name.length) {
      case 4:
        if (canonical(name) === 'host') hostCount++;
        break;
      case 14:
        if (canonical(name) === 'content-length') contentLengthCount++;
        break;
      case 17: {
        // `transfer-encoding` and `x-method-override` have the same length.
        const lower = canonical(name);
        if (lower === 'transfer-encoding') transferEncodingCount++;
        else if (OVERRIDE_HEADERS.has(lower)) methodOverride = true;
        break;
      }
      case 13:
      case 22:
        if (OVERRIDE_HEADERS.has(canonical(name))) methodOverride = true;
        break;
      case 12: {
        // One Content-Type, spelled as such: the form-body check (authorize) reads the one Node
        // keeps (the first), a backend may read the last, or `Content_Type` as CONTENT_TYPE.
        const lower = name.toLowerCase();
        if (lower === 'content-type') contentTypeCount++;
        else if (canonical(lower) === 'content-type') {
          contentTypeCount++;
          contentTypeFolded = true;
        }
        break;
      }
      case 10:
        if (name.toLowerCase() === 'connection')
          connection = connection === undefined ? raw[i + 1] : `${connection},${raw[i + 1] as string}`;
        break;
    }
  }
  if (hostCount !== 1) {
    throw malformed(hostCount === 0 ? 'The Host header is required.' : 'Several Host headers were sent.');
  }
  if (transferEncodingCount > 0) {
    if (transferEncodingCount > 1) throw malformed('Several Transfer-Encoding headers were sent.');
    if (contentLengthCount > 0) throw malformed('Content-Length and Transfer-Encoding were both sent.');
    const te = req.headers['transfer-encoding'];
    if (typeof te !== 'string' || te.trim().toLowerCase() !== 'chunked') {
      throw malformed('Only "Transfer-Encoding: chunked" is accepted.');
    }
    if (req.httpVersionMinor === 0) {
      throw malformed('Transfer-Encoding is not defined for HTTP/1.0 (RFC 9112 §6.1).');
    }
    if (NO_CHUNKED_BODY.has(method)) throw malformed(`A chunked body is not accepted on ${method}.`);
  }
  if (contentLengthCount > 1) throw malformed('Several Content-Length headers were sent.');
  if (contentTypeCount > 1 && options.ownContentTypeCheck !== true) throw malformed('Several Content-Type headers were sent.');
  if (contentTypeFolded && options.ownContentTypeCheck !== true)
    throw malformed('A Content-Type header spelled with "_" or "." was sent; spell it Content-Type.');
  if (methodOverride && READ_METHODS.has(method)) throw malformed('A method-override header is not accepted on a read request.');
  if (connection !== undefined) checkConnection(connection);
  checkExpectation(req);
  const host = req.headers.host ?? '';
  if (!HOST_PATTERN.test(host)) throw malformed('The Host header is not a valid host name.');
  return routingHost(host);
}

const canonical = canonicalHeaderName;

/**
 * Query parameters frameworks read as the method: `_method` (Rails, Laravel, Symfony, Express
 * method-override), `_HttpMethod` (Salesforce), and the override headers' names. Compared
 * decoded and folded as PHP registers them (parameter-name.ts: leading spaces, NUL, `.`, space,
 * `[`), lower-cased, with `-` read as `_`, and with `;` as a separator too.
 */
const OVERRIDE_PARAMETERS: ReadonlySet<string> = new Set([
  '_method',
  '_httpmethod',
  ...METHOD_OVERRIDE_HEADERS.map((h) => h.replaceAll('-', '_')),
]);
/** A query that may hold one: names are only decoded when this matches. */
const MAYBE_OVERRIDE = /method|%/i;

/** Whether a (decoded) query parameter name is read as a method override by some backend. */
function isOverrideParameter(name: string): boolean {
  const folded = foldParameterName(name);
  return OVERRIDE_PARAMETERS.has(folded.includes('-') ? folded.replaceAll('-', '_') : folded);
}

/**
 * Refuses a method-override parameter in the query of a read (GET, HEAD, OPTIONS), as the
 * override headers are: a read must never become a write at a backend that honours it.
 */
export function guardMethodOverrideParameter(method: string, search: string): void {
  if (!READ_METHODS.has(method) || !MAYBE_OVERRIDE.test(search)) return;
  for (const name of queryParameters(search).keys()) {
    if (isOverrideParameter(name)) {
      throw malformed('A method-override parameter ("_method" and kin) is not accepted on a read request.');
    }
  }
}

/**
 * The methods a backend honouring overrides may run instead, from every method-override header
 * and parameter the request carries (different backends read different ones, first or last);
 * undefined without any. Read on writes, where overrides are allowed: the pipeline refuses one
 * that names a method another route takes (a POST to a route for POST must not become a DELETE
 * that a stricter route for DELETE would have checked).
 */
export function methodOverridesOf(req: IncomingMessage, search: string): string[] | undefined {
  let found: string[] | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const length = (raw[i] as string).length;
    if ((length === 13 || length === 17 || length === 22) && OVERRIDE_HEADERS.has(canonical(raw[i] as string))) {
      (found ??= []).push((raw[i + 1] as string).trim().toUpperCase());
    }
  }
  if (search.length <= 1 || !MAYBE_OVERRIDE.test(search)) return found;
  for (const [name, value] of queryParameters(search)) {
    if (isOverrideParameter(name)) (found ??= []).push(value.trim().toUpperCase());
  }
  return found;
}

/** Refuses a `Connection` header that names a header policy depends on (see POLICY_HEADERS). */
function checkConnection(value: string): void {
  const nominees = connectionNominees(value);
  if (nominees === undefined) return;
  for (const name of nominees) {
    if (isPolicyHeader(name)) throw malformed(`The Connection header names "${name}", a header Portcullis' checks depend on.`);
  }
}

/**
 * Whether the client waits for `100 Continue` before sending its body. Only HTTP/1.1 clients
 * do: a server MUST ignore the expectation in an HTTP/1.0 request (RFC 9110 §10.1.1).
 */
export function expectsContinue(req: IncomingMessage): boolean {
  const expect = req.headers.expect;
  return expect !== undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && CONTINUE_EXPECTATION.test(expect);
}

/** An HTTP/1.1 expectation other than 100-continue cannot be met (RFC 9110 §10.1.1): 417. */
function checkExpectation(req: IncomingMessage): void {
  const expect = req.headers.expect;
  if (expect === undefined || req.httpVersionMinor === 0 || CONTINUE_EXPECTATION.test(expect)) return;
  throw new GatewayError('request.expectation_failed', 'Only the "100-continue" expectation is supported.');
}

/** `API.Example.com.:8443` → `api.example.com`. */
function routingHost(host: string): string {
  let end = host.length;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    end = host.indexOf(']') + 1;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  if (host.charCodeAt(end - 1) === 0x2e /* . */) end--;
  return host.slice(0, end).toLowerCase();
}
