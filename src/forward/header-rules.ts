/**
 * The one set of header rules for everything Portcullis forwards (plain HTTP through undici and
 * WebSocket upgrades through http-proxy), docs/request-path.md "Forwarding":
 *  - hop-by-hop headers (RFC 9110 §7.6.1) and every header the client names in `Connection` are
 *    dropped;
 *  - the `Authorization` header that carried Portcullis credentials is dropped;
 *  - client-sent `X-Portcullis-*` are dropped, then the identity headers describe the caller;
 *  - `X-Forwarded-For/-Proto/-Host` are set by Portcullis; a client's values are kept (and
 *    appended to) only when the peer is a trusted proxy. Other headers a backend might read as
 *    the client address, the original URL or the client's identity (the data of
 *    proxy-claim-headers.ts: `Forwarded`, `X-Real-IP`, `X-Original-URL`, every `X-Forwarded-*`
 *    and `X-Envoy-*`, …) are dropped from untrusted peers;
 *  - a name a backend may fold into one of those (case, `_` or `.` for `-`) is that header;
 *  - `Host` becomes the upstream's (the backend is unchanged and expects its own name).
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';
import { hasFoldableSeparator } from '../listen/header-name.js';
import type { Principal } from '../types.js';
import { PROXY_CLAIM_HEADERS, PROXY_CLAIM_PREFIXES } from './proxy-claim-headers.js';

/** RFC 9110 §7.6.1 and the non-standard ones still seen in the wild. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  'http2-settings',
]);

/** Headers that Portcullis sets itself or that only make sense to Portcullis. */
const REPLACED: ReadonlySet<string> = new Set(['host', 'expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

/** Headers a backend may trust for the client address, the original URL or identity; only a trusted proxy may send them. */
const PROXY_ONLY: ReadonlySet<string> = new Set(PROXY_CLAIM_HEADERS.map((h) => h.name));
const PROXY_ONLY_PREFIXES: readonly string[] = PROXY_CLAIM_PREFIXES.map((p) => p.prefix);
/** First characters of the prefixes (`x`, `c`): most headers are ruled out by one lookup. */
const PREFIX_STARTS: ReadonlySet<number> = new Set(PROXY_ONLY_PREFIXES.map((prefix) => prefix.charCodeAt(0)));

function isProxyOnly(hyphenated: string): boolean {
  if (PROXY_ONLY.has(hyphenated)) return true;
  if (!PREFIX_STARTS.has(hyphenated.charCodeAt(0))) return false;
  for (const prefix of PROXY_ONLY_PREFIXES) if (hyphenated.startsWith(prefix)) return true;
  return false;
}

export const IDENTITY_HEADER_PREFIX = 'x-portcullis-';

/** The tenant a credential belongs to, each sent upstream in its own header when the credential has it. */
export const IDENTITY_FIELDS = ['account', 'orgId', 'technicalAccountId'] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];
const IDENTITY_FIELD_HEADERS: ReadonlyArray<readonly [IdentityField, string]> = [
  ['account', 'x-portcullis-account'],
  ['orgId', 'x-portcullis-org-id'],
  ['technicalAccountId', 'x-portcullis-technical-account-id'],
];

const FOLDED = /[_.]/g;

/**
 * What an identity header value may hold: visible ASCII, space and obs-text. A subject from a
 * JWT could carry CR/LF (header injection, cf. undici CVE-2022-31150/CVE-2023-23936) or NUL.
 */
const UNSAFE_HEADER_VALUE = /[^\x20-\x7e\x80-\xff]/;

export interface ForwardingFacts {
  readonly peerAddress: string;
  readonly peerTrusted: boolean;
  /** `https` when the proxy listener terminates TLS. */
  readonly proto: 'http' | 'https';
  /** Whether `Authorization` carried Portcullis credentials (route with `auth: required`). */
  readonly stripAuthorization: boolean;
  readonly principal: Principal | undefined;
  /** `Host` sent upstream: the upstream's `host[:port]`. */
  readonly upstreamHost: string;
  readonly requestId: string;
}

function connectionTokens(req: IncomingMessage): Set<string> | undefined {
  const connection = req.headers.connection;
  if (connection === undefined) return undefined;
  const names = new Set<string>();
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name) names.add(name);
  }
  return names;
}

/**
 * Whether these rules act on a header of this (hyphenated, lower-case) name. CGI, WSGI and some
 * servers read `X_Portcullis_Subject` or `X_Forwarded_For` as the hyphenated header
 * (CVE-2024-45614 and kin), PHP and Rack read `.` the same way, so such a spelling of one of
 * these names is dropped, never trusted (even from a trusted proxy: only the canonical
 * spelling is kept from it).
 */
function actsOn(hyphenated: string, named: Set<string> | undefined): boolean {
  return (
    HOP_BY_HOP.has(hyphenated) ||
    REPLACED.has(hyphenated) ||
    isProxyOnly(hyphenated) ||
    hyphenated.startsWith(IDENTITY_HEADER_PREFIX) ||
    hyphenated === 'x-request-id' ||
    named?.has(hyphenated) === true
  );
}

/**
 * The header list sent upstream, as a flat `[name, value, name, value…]` array that keeps the
 * client's spelling and order for everything passed through.
 */
export function upstreamRequestHeaders(req: IncomingMessage, facts: ForwardingFacts): string[] {
  const raw = req.rawHeaders;
  const named = connectionTokens(req);
  const out: string[] = [];
  let clientForwardedFor: string | undefined;
  let clientForwardedProto: string | undefined;
  let clientForwardedHost: string | undefined;
  let sawRequestId = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    if (hasFoldableSeparator(lower) && actsOn(lower.replace(FOLDED, '-'), named)) continue;
    if (REPLACED.has(lower)) {
      if (facts.peerTrusted) {
        if (lower === 'x-forwarded-for') clientForwardedFor = clientForwardedFor ? `${clientForwardedFor}, ${value}` : value;
        else if (lower === 'x-forwarded-proto') clientForwardedProto ??= value;
        else if (lower === 'x-forwarded-host') clientForwardedHost ??= value;
      }
      continue;
    }
    if (lower.startsWith(IDENTITY_HEADER_PREFIX)) continue;
    if (lower === 'authorization' && facts.stripAuthorization) continue;
    if (!facts.peerTrusted && isProxyOnly(lower)) continue;
    if (lower === 'x-request-id') {
      // The gateway's request id replaces whatever the client sent (it is the client's when sane).
      if (sawRequestId) continue;
      sawRequestId = true;
      out.push(name, facts.requestId);
      continue;
    }
    out.push(name, value);
  }
  if (!sawRequestId) out.push('x-request-id', facts.requestId);
  out.push('host', facts.upstreamHost);
  out.push('x-forwarded-for', clientForwardedFor ? `${clientForwardedFor}, ${facts.peerAddress}` : facts.peerAddress);
  out.push('x-forwarded-proto', clientForwardedProto ?? facts.proto);
  out.push('x-forwarded-host', clientForwardedHost ?? req.headers.host ?? '');
  const principal = facts.principal;
  if (principal !== undefined) {
    if (
      UNSAFE_HEADER_VALUE.test(principal.subject) ||
      UNSAFE_HEADER_VALUE.test(principal.scope) ||
      UNSAFE_HEADER_VALUE.test(principal.credentialId) ||
      (principal.issuer !== undefined && UNSAFE_HEADER_VALUE.test(principal.issuer))
    ) {
      throw new GatewayError('internal.error', "The caller's identity cannot be sent in a header.");
    }
    out.push('x-portcullis-subject', principal.subject);
    out.push('x-portcullis-scope', principal.scope);
    out.push('x-portcullis-credential', principal.credentialId);
    out.push('x-portcullis-credential-kind', principal.kind);
    if (principal.issuer !== undefined) out.push('x-portcullis-issuer', principal.issuer);
    out.push('x-portcullis-principal', qualifiedSubject(principal));
    for (const [field, header] of IDENTITY_FIELD_HEADERS) {
      const value = principal[field];
      if (value === undefined) continue;
      if (UNSAFE_HEADER_VALUE.test(value)) throw new GatewayError('internal.error', "The caller's identity cannot be sent in a header.");
      out.push(header, value);
    }
  }
  return out;
}

/**
 * The caller as one value no two sources can share: the subject behind the name of the registry
 * it comes from. API tokens name accounts (`api_token:billing`); OAuth clients and the access
 * tokens Portcullis issues them name clients (`oauth_client:cli_…`); an external JWT's `sub` is
 * only unique within its issuer (`external_jwt:https%3A%2F%2Fidp.example:billing`, the issuer
 * percent-encoded so the first two `:` always delimit). `X-Portcullis-Subject` stays the bare
 * subject, as before.
 */
export function qualifiedSubject(principal: Principal): string {
  switch (principal.kind) {
    case 'api_token':
      return `api_token:${principal.subject}`;
    case 'oauth_client':
    case 'access_token':
      return `oauth_client:${principal.subject}`;
    case 'external_jwt':
      return `external_jwt:${encodeURIComponent(principal.issuer ?? '')}:${principal.subject}`;
  }
}

/** Visible ASCII, space and tab: a reason phrase that is the same in every decoding. */
const ASCII_REASON = /^[\t\x20-\x7e]*$/;

/**
 * The upstream's reason phrase as the bytes it sent. undici decodes it as UTF-8; re-encoding
 * gives the original bytes back as latin1 chars, which Node writes one byte each (a phrase with
 * a char above U+00FF would otherwise make `writeHead` throw and the answer a 502).
 */
export function clientReasonPhrase(statusText: string): string {
  return ASCII_REASON.test(statusText) ? statusText : Buffer.from(statusText, 'utf8').toString('latin1');
}

/** A header name or value as the bytes it was sent as: latin1 maps each byte to one char. */
function headerText(raw: Buffer | string | undefined): string {
  return typeof raw === 'string' ? raw : raw === undefined ? '' : raw.toString('latin1');
}

/**
 * Upstream response headers as passed back to the client: unchanged but for hop-by-hop headers
 * and those the upstream names in its `Connection`. Decoded as latin1, which Node's server also
 * writes them as, so every byte of a value (UTF-8 or not) reaches the client as it was sent.
 * `X-Request-Id` is the gateway's, the id of the access-log line (the upstream received the
 * same one): an upstream's own value is replaced, so a user quoting it finds the request.
 */
export function clientResponseHeaders(rawHeaders: readonly (Buffer | string)[], requestId: string): string[] {
  const out: string[] = ['x-request-id', requestId];
  let named: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = headerText(rawHeaders[i]);
    const lower = name.toLowerCase();
    if (lower === 'x-request-id') continue;
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') {
        named ??= new Set();
        for (const token of headerText(rawHeaders[i + 1]).split(',')) named.add(token.trim().toLowerCase());
      }
      continue;
    }
    out.push(name, headerText(rawHeaders[i + 1]));
  }
  if (named === undefined) return out;
  // Rare: the upstream named headers in `Connection`; drop them in a second pass.
  const kept: string[] = [];
  for (let j = 0; j < out.length; j += 2) {
    if (j === 0 || !named.has((out[j] as string).toLowerCase())) kept.push(out[j] as string, out[j + 1] as string);
  }
  return kept;
}
