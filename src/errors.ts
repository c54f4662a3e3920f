/**
 * The one table of error codes Portcullis answers with.
 *
 * Every response the gateway produces itself is `application/problem+json` carrying one of
 * these codes. docs/errors.md is checked against this table by a test, so the two cannot drift.
 */
export const ERROR_CODES = {
  'request.invalid_path': {
    status: 400,
    title: 'Invalid request path',
    description:
      'The path is ambiguous: dot segments (raw or percent-encoded), encoded `/` or `\\`, `;` raw or encoded, encoded `?` or `#` (`%3F`, `%23`), backslashes, NUL or other control bytes, or invalid percent-encoding.',
  },
  'request.malformed': {
    status: 400,
    title: 'Malformed request',
    description:
      'Framing or headers that two HTTP parsers could read two ways (request smuggling guard): Content-Length with Transfer-Encoding, several Content-Length values, a Transfer-Encoding other than chunked, duplicated Host, an HTTP version other than 1.0 and 1.1, a method-override header or `_method` query parameter on a read (or on a write, naming a method another route takes), a `Connection` header naming a header the checks depend on (framing, `Host`, `Authorization`, identity, forwarding, a required header), an upgrade to anything but WebSocket, CONNECT (no tunnel is ever opened).',
  },
  'request.missing_header': {
    status: 400,
    title: 'Missing required header',
    description:
      "A header listed in the route's `require.headers` is absent, empty, or sent more than once (a spelling with `_` or `.` for `-` counts as a copy); `detail` names every such header.",
  },
  'request.missing_query_param': {
    status: 400,
    title: 'Missing required query parameter',
    description:
      "A query parameter listed in the route's `require.query` is absent, empty, or sent more than once; `detail` names every such parameter.",
  },
  'request.body_on_read': {
    status: 400,
    title: 'Body on a read',
    description:
      'A GET, HEAD or OPTIONS request carried a body on a read-only route or with a read-only credential (a backend may run it as a write, or read it as a second request), unless the route says `readsWithBody: true`; or carried a form body, which a backend may read `_method` from, on any route.',
  },
  'request.body_too_large': {
    status: 413,
    title: 'Request body too large',
    description:
      'A body sent to an endpoint of Portcullis itself (token endpoint, admin API) exceeds its limit. Proxied bodies are streamed and have no such limit.',
  },
  'request.headers_too_large': {
    status: 431,
    title: 'Request headers too large',
    description: "The request head exceeds the listener's limit (`limits.maxHeaderBytes`), or has 2000 header lines or more.",
  },
  'request.timeout': {
    status: 408,
    title: 'Request timeout',
    description:
      'The request did not arrive in time: its head within `limits.headersTimeout`, the whole request within `limits.requestTimeout`, or a body Portcullis reads itself (token, introspection, revocation endpoints, admin API) within `limits.bodyReadTimeout`. The connection is closed.',
  },
  'request.expectation_failed': {
    status: 417,
    title: 'Expectation failed',
    description: 'An HTTP/1.1 `Expect` header asks for something other than `100-continue` (RFC 9110 §10.1.1).',
  },
  'auth.malformed_credentials': {
    status: 400,
    title: 'Malformed credentials',
    description:
      'The Authorization header cannot be parsed: several Authorization headers, an empty or over-long value, bad base64, Basic without a colon, control characters.',
  },
  'auth.missing_credentials': {
    status: 401,
    title: 'Missing credentials',
    description: 'The route requires authentication and no credentials were sent, or only with a scheme the route does not accept.',
  },
  'auth.invalid_token': {
    status: 401,
    title: 'Invalid token',
    description: 'The bearer token is unknown, fails its checksum, or its signature or claims do not verify.',
  },
  'auth.invalid_credentials': {
    status: 401,
    title: 'Invalid credentials',
    description: 'The Basic credentials do not match an API token or an OAuth client.',
  },
  'auth.token_expired': { status: 401, title: 'Token expired', description: 'The credential was valid but its expiry has passed.' },
  'auth.token_revoked': {
    status: 401,
    title: 'Token revoked',
    description: 'The credential, its OAuth client or its account was revoked or disabled.',
  },
  'auth.credential_sunset': {
    status: 401,
    title: 'Credential past its sunset',
    description:
      'The credential was deprecated with a sunset instant — the token or OAuth client itself (`portcullis tokens deprecate`, `clients deprecate`), its scheme on this route (`routes[].deprecated`), or its external issuer (`jwt.issuers[].deprecated`) — and that instant has passed. Before it, responses carried `Deprecation`, `Sunset` and (with a link) `Link: <…>; rel="deprecation"` headers; this answer carries `Sunset` and the link too. Cached credentials are refused from the same instant.',
  },
  'auth.admin_credential': {
    status: 401,
    title: 'Admin credential on a proxy route',
    description:
      'A credential of scope `admin` was presented on a proxy route. Admin credentials manage the gateway (admin API, token introspection) and are refused on proxy routes unless `admin.allowOnProxyRoutes` is true.',
  },
  'auth.insufficient_scope': {
    status: 403,
    title: 'Insufficient scope',
    description: 'A read-only credential tried to write (a WebSocket upgrade is a write unless the route says `websocket: read-only`).',
  },
  'auth.identity_mismatch': {
    status: 403,
    title: 'Identity mismatch',
    description:
      "A header named in the route's `require.match` does not equal the credential's identity it is bound to (a token's account, an OAuth client's org or technical account id), or the credential has no such identity: the request names another tenant than the credential's. Nothing is forwarded.",
  },
  'route.not_found': { status: 404, title: 'No route', description: "No route matches the request's host, path and method." },
  'route.read_only': {
    status: 405,
    title: 'Read-only route',
    description:
      'A write method, or a WebSocket upgrade (unless the route says `websocket: read-only`), was sent to a route with `access: read-only`; the `Allow` header lists the read methods.',
  },
  'method.not_allowed': {
    status: 405,
    title: 'Method not allowed',
    description:
      'An endpoint of Portcullis itself (token endpoint, admin API) does not accept this method; the `Allow` header lists those it does.',
  },
  'admin.invalid_request': {
    status: 400,
    title: 'Invalid admin request',
    description: 'An admin API call with a missing or invalid field, or a body that is not a JSON object; `detail` says which.',
  },
  'admin.not_found': { status: 404, title: 'Not found', description: 'The admin API has no such account, token, client or endpoint.' },
  'auth.owner_credential': {
    status: 401,
    title: 'Owner credential on a proxy route',
    description:
      'An account owner\'s token was presented on a proxy route. Owner tokens manage their account\'s tokens through the console and the admin API and work nowhere else (docs/credentials.md "Account owners").',
  },
  'admin.owner_forbidden': {
    status: 403,
    title: 'Not allowed for an account owner',
    description:
      "An account owner's credential asked the admin API for another account's tokens, for a scope wider than its own, or for an operation only admins have (accounts, OAuth clients, signing keys, audit, routes).",
  },
  'console.session_required': {
    status: 401,
    title: 'Console session required',
    description:
      'A console call came without a session cookie, or with one that expired (`admin.console.sessionIdleTimeout`) or was ended by sign-out; sign in again.',
  },
  'console.cross_site': {
    status: 403,
    title: 'Cross-site request refused',
    description:
      "A console call that came from another site: its `Origin` is not the admin listener's own, `Sec-Fetch-Site` says cross-site, or the `X-CSRF-Token` header does not match the session.",
  },
  'admin.conflict': {
    status: 409,
    title: 'Conflict',
    description:
      'The admin API call conflicts with the current state: an account name already taken, a revoked credential that cannot be rotated (revocation is permanent), a disabled account that cannot receive tokens.',
  },
  'upstream.unavailable': {
    status: 502,
    title: 'Upstream unavailable',
    description: 'The connection to the upstream was refused, reset or could not be resolved.',
  },
  'upstream.tls_error': {
    status: 502,
    title: 'Upstream TLS error',
    description: "The upstream's certificate is not trusted or does not match its host name.",
  },
  'client.too_many_connections': {
    status: 429,
    title: 'Too many connections',
    description:
      'The client address has more open connections to the proxy listener than `limits.maxConnectionsPerClient`; the request is refused and its connection closed. `Retry-After` says when to try again.',
  },
  'client.too_many_requests': {
    status: 429,
    title: 'Too many requests in flight',
    description:
      'The client address has more requests in flight on the proxy listener than `limits.maxInFlightPerClient`. `Retry-After` says when to try again.',
  },
  'auth.too_many_failures': {
    status: 429,
    title: 'Too many failed authentications',
    description:
      'The client address (the peer, or the address `trustedProxies` forwarded for) failed authentication more than `throttle.failures` times within `throttle.window`, and the credential presented is not one the gateway has verified recently: refused before the credential store is asked. `Retry-After` says when the window ends. Applies to proxy routes, the token endpoint and the admin API.',
  },
  'rate.limited': {
    status: 429,
    title: 'Rate limited',
    description:
      "The route's `rateLimit` (or the credential's override in `rateLimits.credentials`) is used up for this credential, or for this client address on an `auth: off` route; nothing was sent upstream. `Retry-After`, `RateLimit` and `RateLimit-Policy` say when to try again.",
  },
  'client.response_stalled': {
    status: 408,
    title: 'Response not read',
    description:
      "The client stopped reading a response: it left the response undrained for longer than `limits.responseStallTimeout`. The status line was already sent, so this is never an answer: the client connection is cut, the upstream exchange aborted (its connection freed), and the code is the access line's `decision` and the `client_stalled` kind of `portcullis_upstream_errors_total`.",
  },
  'upstream.saturated': {
    status: 503,
    title: 'Upstream saturated',
    description:
      "Every connection to the route's upstream is busy and the wait for one is full (`limits.upstreamQueueSize`) or took longer than `limits.upstreamQueueTimeout`; nothing was sent upstream. `Retry-After` says when to try again.",
  },
  'auth.store_unavailable': {
    status: 503,
    title: 'Credential store unavailable',
    description:
      'The store cannot be reached and the credential is not cached, or the change feed was not confirmed within cache.maxStaleness (cached credentials are then refused too).',
  },
  'upstream.timeout': { status: 504, title: 'Upstream timeout', description: "The upstream did not answer within the route's timeout." },
  'internal.error': {
    status: 500,
    title: 'Internal error',
    description:
      'An unexpected failure inside Portcullis; the request id in the body finds its cause in the log (`request.internal_error`).',
  },
} as const satisfies Record<string, { status: number; title: string; description: string }>;

/** A stable error code (docs/errors.md). */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Extra response headers a coded error may carry (challenges, Allow). */
export type ErrorHeaders = Readonly<Record<string, string>>;

/**
 * A runtime failure with a stable code. Thrown by stages of the pipeline and turned into a
 * problem+json response in one place. `detail` is public: it must never contain a secret.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly headers: ErrorHeaders | undefined;
  /**
   * The id of a known credential this refusal is about (a revoked or expired token, a token of a
   * disabled account, a revoked client), for the access log's `credentialId`. Never a secret;
   * never sent to the client.
   */
  credentialId: string | undefined = undefined;

  /**
   * `cause`: the unexpected failure behind an `internal.error`, kept for the log line
   * (`request.internal_error`) and never shown to the client.
   */
  constructor(code: ErrorCode, detail?: string, headers?: ErrorHeaders, cause?: unknown) {
    super(`${code}${detail ? `: ${detail}` : ''}`, cause === undefined ? undefined : { cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.detail = detail;
    this.headers = headers;
  }
}

/** `error` with the id of the known credential it refuses (see GatewayError.credentialId). */
export function aboutCredential(error: GatewayError, credentialId: string | null | undefined): GatewayError {
  if (credentialId !== null && credentialId !== undefined) error.credentialId = credentialId;
  return error;
}

/** The RFC 9457 body Portcullis answers with. */
export interface ProblemBody {
  readonly type: string;
  readonly status: number;
  readonly code: ErrorCode;
  readonly title: string;
  readonly detail?: string;
  readonly requestId: string;
}

export function problemBody(error: GatewayError, requestId: string): ProblemBody {
  const entry = ERROR_CODES[error.code];
  return {
    type: `urn:portcullis:error:${error.code}`,
    status: entry.status,
    code: error.code,
    title: entry.title,
    ...(error.detail !== undefined ? { detail: error.detail } : {}),
    requestId,
  };
}
