/**
 * The require stage (docs/request-path.md "Authorize and require"): a route's `require.headers` and
 * `require.query` must be present exactly once and non-empty. A copy more is refused like a missing
 * one: a backend that reads the first of `?serviceProvider=&serviceProvider=acme` sees an empty
 * value, and one that reads `X_Tenant` as `X-Tenant` (see listen/header-name.ts) sees a second
 * tenant. A required header named in `Connection` would be dropped before the upstream: refused
 * too. Every item at fault is named in one answer.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';
import { canonicalHeaderName, connectionNominees } from '../listen/header-name.js';
import { foldParameterName, queryParameters } from '../listen/parameter-name.js';
import type { Principal, RoutePolicy } from '../types.js';

/** How a required item was sent: fine, or what is wrong with it. */
type Presence = 'ok' | 'missing' | 'repeated';

/**
 * One `name` header (lower case) with a non-empty value, and no other header a backend could
 * read as it. Read from the raw list: Node joins duplicates, so two empty headers would read
 * as ", " in `req.headers`.
 */
function headerPresence(req: IncomingMessage, name: string): Presence {
  const raw = req.rawHeaders;
  let copies = 0;
  let filled = false;
  for (let i = 0; i < raw.length; i += 2) {
    const header = raw[i] as string;
    if (header.length !== name.length) continue;
    const lower = header.toLowerCase();
    if (lower === name) {
      copies++;
      if ((raw[i + 1] as string).trim() !== '') filled = true;
    } else if (canonicalHeaderName(lower) === canonicalHeaderName(name)) {
      copies++;
    }
  }
  return copies > 1 ? 'repeated' : filled ? 'ok' : 'missing';
}

/**
 * One `name` parameter with a non-empty value, and no other a backend could read as it: a
 * spelling PHP folds into it (`+name`, `name[]`, `name%00x`), another case, or a copy after a
 * `;` (parameter-name.ts).
 */
function queryPresence(params: URLSearchParams, name: string): Presence {
  const folded = foldParameterName(name);
  let copies = 0;
  let filled = false;
  for (const [key, value] of params) {
    if (key === name) {
      copies++;
      if (value !== '') filled = true;
    } else if (foldParameterName(key) === folded) {
      copies++;
    }
  }
  return copies > 1 ? 'repeated' : filled ? 'ok' : 'missing';
}

function describe(kind: string, missing: readonly string[], repeated: readonly string[]): string {
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`Missing required ${kind}${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}.`);
  if (repeated.length > 0) parts.push(`Required ${kind}${repeated.length > 1 ? 's' : ''} sent more than once: ${repeated.join(', ')}.`);
  return parts.join(' ');
}

/**
 * `require.match`: each named header, sent exactly once and non-empty (else 400
 * request.missing_header like `require.headers`), must equal the credential's identity it is
 * bound to, byte for byte; a credential without that identity never matches (403
 * auth.identity_mismatch). So `X-Tenant` cannot name another tenant than the credential's.
 */
export function checkIdentityMatch(route: RoutePolicy, req: IncomingMessage, principal: Principal | undefined): void {
  if (route.identityMatch.length === 0) return;
  const missing: string[] = [];
  const repeated: string[] = [];
  for (const [name] of route.identityMatch) {
    const presence = headerPresence(req, name);
    if (presence === 'missing') missing.push(name);
    else if (presence === 'repeated') repeated.push(name);
  }
  if (missing.length > 0 || repeated.length > 0) throw new GatewayError('request.missing_header', describe('header', missing, repeated));
  for (const [name, field] of route.identityMatch) {
    const expected = principal?.[field];
    if (expected === undefined || req.headers[name] !== expected) {
      throw new GatewayError(
        'auth.identity_mismatch',
        `The ${name} header must name the credential's ${field}${expected === undefined ? ', and this credential has none' : ''}.`,
      );
    }
  }
}

export function checkRequired(route: RoutePolicy, req: IncomingMessage, search: string): void {
  if (route.requiredHeaders.length > 0) {
    const named = connectionNominees(req.headers.connection);
    const dropped = named === undefined ? [] : route.requiredHeaders.filter((name) => named.includes(canonicalHeaderName(name)));
    if (dropped.length > 0) {
      throw new GatewayError(
        'request.malformed',
        `The Connection header names the required header${dropped.length > 1 ? 's' : ''} ${dropped.join(', ')}, which would then not reach the upstream.`,
      );
    }
    const missing: string[] = [];
    const repeated: string[] = [];
    for (const name of route.requiredHeaders) {
      const presence = headerPresence(req, name);
      if (presence === 'missing') missing.push(name);
      else if (presence === 'repeated') repeated.push(name);
    }
    if (missing.length > 0 || repeated.length > 0) throw new GatewayError('request.missing_header', describe('header', missing, repeated));
  }
  if (route.requiredQuery.length > 0) {
    const params = queryParameters(search);
    const missing: string[] = [];
    const repeated: string[] = [];
    for (const name of route.requiredQuery) {
      const presence = queryPresence(params, name);
      if (presence === 'missing') missing.push(name);
      else if (presence === 'repeated') repeated.push(name);
    }
    if (missing.length > 0 || repeated.length > 0)
      throw new GatewayError('request.missing_query_param', describe('query parameter', missing, repeated));
  }
}
