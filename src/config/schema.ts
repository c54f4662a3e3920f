/**
 * The configuration file's one definition (documented in docs/configuration.md). It drives three
 * things at once: validation of the YAML (`configSchema.safeParse`), the TypeScript types
 * (`RawConfig`), and the published JSON Schema (`docs/portcullis.schema.json`, emitted by
 * `emit-json-schema.ts`).
 *
 * The schema describes the file as written (strings for durations, listen addresses, URLs);
 * `compile.ts` turns a validated file into the frozen runtime configuration.
 */
import { z } from 'zod';

/** `500ms`, `30s`, `5m`, `1h`, `30d`. */
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

const duration = (description: string) =>
  z.string().regex(DURATION_PATTERN, { error: 'expected a duration such as 500ms, 30s, 5m, 1h or 30d' }).describe(description);

/** `host:port`, `[v6]:port` or a bare port. */
export const LISTEN_PATTERN = /^(?:(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?\d{1,5}$/;

const listenAddress = (description: string) =>
  z
    .string()
    .regex(LISTEN_PATTERN, { error: 'expected "host:port" such as "127.0.0.1:8443" (port 0 picks a free port)' })
    .describe(description);

const nonEmpty = (description: string) => z.string().min(1, { error: 'expected a non-empty string' }).describe(description);

/** HTTP methods Portcullis knows by name; others may still appear in `methods` as tokens. */
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export const SCOPES = ['read-only', 'read-write', 'admin'] as const;
export const ROUTE_ACCESS = ['read-only', 'read-write'] as const;
export const AUTH_MODES = ['required', 'off'] as const;
export const CREDENTIAL_SCHEMES = ['bearer', 'basic'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const ROUTE_MODES = ['enforce', 'shadow'] as const;

/** An RFC 3339 instant with its offset: `2027-03-01T00:00:00Z`, `2027-03-01T01:00:00+01:00`. */
export const INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})$/;

const instant = (description: string) =>
  z
    .string()
    .regex(INSTANT_PATTERN, { error: 'expected an RFC 3339 instant with its offset, such as 2027-03-01T00:00:00Z' })
    .describe(description);

/** A deprecation with a sunset (docs/credentials.md "Deprecation and sunset"). */
export const deprecationSchema = z.strictObject({
  since: instant('When the deprecation took (or takes) effect: the `Deprecation` response header (RFC 9745).'),
  sunset: instant(
    'From this instant on, requests using it are refused with 401 auth.credential_sunset; before it, the `Sunset` response header (RFC 8594). Must be after `since`.',
  ),
  link: nonEmpty('http(s) URL of the migration documentation, sent as `Link: <url>; rel="deprecation"`. Optional.').optional(),
});

const tlsSchema = (description: string) =>
  z
    .strictObject({
      cert: nonEmpty('PEM certificate chain file, relative to the config file. Read again on every reload (SIGHUP).'),
      key: nonEmpty('PEM private key file, relative to the config file. Read again on every reload (SIGHUP).'),
    })
    .describe(description);

const matchSchema = z
  .strictObject({
    host: z
      .string()
      .regex(/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/, {
        error: 'expected a host name such as api.example.com or *.example.com',
      })
      .optional()
      .describe('Exact host (api.example.com) or one wildcard label (*.example.com). Compared without port, case-insensitively.'),
    path: z
      .string()
      .regex(/^\/[^?#\s\\]*$/, { error: 'expected a path starting with "/" without query, fragment, spaces or backslashes' })
      .describe('Path prefix, matched on a segment boundary: /profiles matches /profiles and /profiles/x, not /profilesx.'),
    methods: z
      .array(z.string().regex(METHOD_TOKEN, { error: 'expected an HTTP method token such as GET' }))
      .min(1)
      .optional()
      .describe('Methods this route matches (upper case). Omitted: every method.'),
  })
  .describe('Which requests this route takes.');

/** What of the credential a request header may be required to equal (`require.match`). */
export const IDENTITY_MATCH_FIELDS = ['account', 'orgId', 'technicalAccountId'] as const;

const requireSchema = z
  .strictObject({
    headers: z.array(nonEmpty('Header name.')).optional().describe('Headers that must be present and non-empty.'),
    query: z.array(nonEmpty('Query parameter name.')).optional().describe('Query parameters that must be present and non-empty.'),
    match: z
      .record(z.string(), z.enum(IDENTITY_MATCH_FIELDS))
      .optional()
      .describe(
        "Header name -> account, orgId or technicalAccountId: the header must be present once and equal that identity of the credential (a token's account, an OAuth client's org or technical account id); else 403 auth.identity_mismatch. Needs auth: required.",
      ),
  })
  .describe('Parameters the route requires; a request without them gets 400 naming every missing item.');

/** `requests` per `per`, with bursts up to `burst` (docs/decisions/0024-rate-limits-and-failure-throttling.md). */
const rateLimitSchema = z
  .strictObject({
    requests: z.number().int().min(1).max(1_000_000_000).describe('Requests admitted per `per`, sustained.'),
    per: duration('The interval `requests` are counted over: 1s to 1d (whole seconds, as the RateLimit-Policy field says it). Default 1s.')
      .refine((text) => atLeastOneSecondWhole(text), { error: 'expected a whole number of seconds from 1s to 1d, such as 1s, 1m or 1h' })
      .default('1s'),
    burst: z
      .number()
      .int()
      .min(1)
      .max(1_000_000_000)
      .optional()
      .describe("Requests that may arrive at once after a quiet period (the bucket's size). Default: `requests`."),
  })
  .describe(
    'A rate limit: a bucket of `burst` requests, refilled at `requests` per `per`; past it 429 rate.limited with Retry-After and the RateLimit fields.',
  );

function atLeastOneSecondWhole(text: string): boolean {
  const match = DURATION_PATTERN.exec(text);
  if (match === null) return true; // the pattern's own message says so
  const ms =
    Number(match[1]) * ({ ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const)[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return ms >= 1_000 && ms <= 86_400_000 && ms % 1_000 === 0;
}

export const routeSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'expected 1-64 characters of letters, digits, "_", "." or "-"' })
    .describe('Unique route name; the label used in metrics and logs.'),
  match: matchSchema,
  upstream: nonEmpty('Upstream base URL. MUST be https:// (wss:// accepted for WebSocket routes); its path is kept as a prefix.'),
  upstreamCa: nonEmpty(
    'Extra PEM trust root for this upstream, relative to the config file. System roots are always trusted too.',
  ).optional(),
  auth: z.enum(AUTH_MODES).default('required').describe('required: credentials are checked; off: requests pass unauthenticated.'),
  access: z.enum(ROUTE_ACCESS).default('read-only').describe('read-only routes refuse every write method with 405.'),
  credentials: z
    .array(z.enum(CREDENTIAL_SCHEMES))
    .min(1)
    .default(['bearer', 'basic'])
    .describe('Authorization schemes this route accepts.'),
  require: requireSchema.optional(),
  websocket: z
    .enum(ROUTE_ACCESS)
    .default('read-write')
    .describe(
      'read-write (default): a WebSocket upgrade is a write, so it needs `access: read-write` and a read-write credential. read-only: the backend itself keeps the socket read-only, and read-only credentials may open it (Portcullis trusts the backend on that; it cannot see into the socket).',
    ),
  readsWithBody: z
    .boolean()
    .default(false)
    .describe(
      'Whether GET, HEAD and OPTIONS on this route may carry a body (search APIs). Default false: a body on a read is refused under a read-only route or credential, since a backend may execute it as a write or a second request.',
    ),
  timeout: duration('Time allowed for the upstream to send response headers. Default 30s.').default('30s'),
  rateLimit: rateLimitSchema
    .optional()
    .describe(
      'Requests per interval admitted per credential (per client address on `auth: off` routes), counted by each process; past it 429 rate.limited. Omitted: no limit.',
    ),
  mode: z
    .enum(ROUTE_MODES)
    .default('enforce')
    .describe(
      'enforce (default): refusals are answered. shadow: every authentication and authorization decision is made, logged (`shadow` in the access line) and counted (portcullis_shadow_refusals_total), but the request is forwarded as on an `auth: off` route, with identity headers only when the credential was valid. Request-safety checks (framing, path, form bodies on reads, upstream rules) still refuse. For switching authentication on without breaking anyone: see docs/request-path.md "Shadow mode".',
    ),
  deprecated: z
    .strictObject({
      bearer: deprecationSchema.optional().describe('Bearer credentials on this route are deprecated.'),
      basic: deprecationSchema.optional().describe('Basic credentials on this route are deprecated.'),
    })
    .optional()
    .describe(
      'Credential schemes deprecated on this route, each with its sunset: requests get Deprecation, Sunset (and Link) response headers, then 401 auth.credential_sunset from the sunset on.',
    ),
});

const cacheSchema = z.strictObject({
  maxEntries: z
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .default(100_000)
    .describe('Maximum positive entries (credentials) kept. Default 100000.'),
  ttl: duration("How long a positive entry is trusted, never past the credential's expiry. Default 60s.").default('60s'),
  negativeTtl: duration('How long a failed credential is remembered. Default 5s.').default('5s'),
  negativeMaxEntries: z
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .default(10_000)
    .describe('Maximum negative entries, kept apart so a flood of bad tokens cannot evict good ones. Default 10000.'),
  maxStaleness: duration(
    'How long the change feed may go unconfirmed (store unreachable, queries failing) before every credential is refused with 503 auth.store_unavailable and /readyz answers 503. 500ms to 24h; a longer bound weakens revocation. Default 1s.',
  ).default('1s'),
});

const externalIssuerSchema = z.strictObject({
  issuer: nonEmpty('Expected `iss` claim.'),
  jwksUrl: nonEmpty("https URL of the issuer's JWKS."),
  audience: nonEmpty('Expected `aud` claim.'),
  scopeClaim: nonEmpty('Claim holding the scopes (space-separated string or array). Default "scope".').default('scope'),
  readWriteValues: z.array(nonEmpty('Scope value.')).default(['read-write']).describe('Scope values that grant read-write.'),
  readOnlyValues: z.array(nonEmpty('Scope value.')).default(['read-only']).describe('Scope values that grant read-only.'),
  jwksCa: nonEmpty('Extra PEM trust root for the JWKS URL.').optional(),
  deprecated: deprecationSchema
    .optional()
    .describe(
      'This issuer is deprecated: its JWTs get Deprecation, Sunset (and Link) response headers, then 401 auth.credential_sunset from the sunset on.',
    ),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors.'),
  listen: listenAddress('Proxy listener address. Default "0.0.0.0:8443".').default('0.0.0.0:8443'),
  tls: tlsSchema('When present the proxy listener serves HTTPS with this certificate.').optional(),
  trustedProxies: z
    .array(z.string().regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, { error: 'expected an IP address or CIDR such as 10.0.0.0/8' }))
    .default([])
    .describe("Peers whose X-Forwarded-* headers are trusted and appended to. Others' are replaced."),
  workers: z
    .union([z.literal('auto'), z.number().int().min(1).max(256)])
    .default(1)
    .describe(
      'Processes serving the listeners: a number, or "auto" for one per core available (os.availableParallelism), no more than the container CPU limit (cgroup quota, rounded down). 1 (default): one process, no primary. `portcullis start --workers N` overrides it. Read at start only.',
    ),
  limits: z
    .strictObject({
      maxHeaderBytes: z
        .number()
        .int()
        .min(1024)
        .max(1_048_576)
        .default(16_384)
        .describe('Largest request head accepted, in bytes. Default 16384.'),
      headersTimeout: duration('Time allowed to receive request headers. Default 10s.').default('10s'),
      shutdownGrace: duration('How long SIGTERM waits for in-flight requests. Default 30s.').default('30s'),
      requestTimeout: duration(
        'Time allowed to receive a whole request, head and body, on the proxy, admin and metrics listeners; past it the request is answered 408 request.timeout. Raise it for routes that take long uploads. Default 60s.',
      ).default('60s'),
      bodyReadTimeout: duration(
        "Time allowed to receive a body Portcullis reads itself (token, introspection and revocation endpoints, admin API), from the request's arrival; past it 408 request.timeout. Default 10s.",
      ).default('10s'),
      maxConnectionsPerClient: z
        .number()
        .int()
        .min(1)
        .max(1_000_000)
        .default(256)
        .describe(
          'Open connections to the proxy listener per client address; a request on a connection beyond it is answered 429 client.too_many_connections and the connection closed. Peers listed in trustedProxies are not limited. Default 256.',
        ),
      maxInFlightPerClient: z
        .number()
        .int()
        .min(1)
        .max(1_000_000)
        .default(64)
        .describe(
          'Requests in flight on the proxy listener per client address; beyond it 429 client.too_many_requests. Peers listed in trustedProxies are not limited. Default 64.',
        ),
      upstreamQueueSize: z
        .number()
        .int()
        .min(0)
        .max(1_000_000)
        .default(256)
        .describe('Requests per upstream that may wait for one of its 256 connections; beyond it 503 upstream.saturated. Default 256.'),
      upstreamQueueTimeout: duration(
        'Longest a request waits for an upstream connection; past it 503 upstream.saturated. Default 5s.',
      ).default('5s'),
      responseStallTimeout: duration(
        'Longest a client may leave a forwarded response unread (the gateway cannot write to it) before its connection is cut and the upstream exchange aborted, freeing the upstream connection; counted as kind client_stalled of portcullis_upstream_errors_total. Default 30s.',
      ).default('30s'),
      shutdownDelay: duration(
        'After SIGTERM, how long /readyz answers 503 while requests are still served, before the listener closes. Default 5s.',
      ).default('5s'),
    })
    .default({
      maxHeaderBytes: 16_384,
      headersTimeout: '10s',
      shutdownGrace: '30s',
      shutdownDelay: '5s',
      requestTimeout: '60s',
      bodyReadTimeout: '10s',
      maxConnectionsPerClient: 256,
      maxInFlightPerClient: 64,
      upstreamQueueSize: 256,
      upstreamQueueTimeout: '5s',
      responseStallTimeout: '30s',
    }),
  admin: z
    .strictObject({
      listen: listenAddress('Admin API address. Default "127.0.0.1:9091".').default('127.0.0.1:9091'),
      tls: tlsSchema('When present the admin listener serves HTTPS with this certificate.').optional(),
      allowOnProxyRoutes: z
        .boolean()
        .default(false)
        .describe('Accept admin-scope credentials on proxy routes (as read-write). Default false: they get 401 auth.admin_credential.'),
      console: z
        .boolean()
        .default(true)
        .describe('Serve the web console (docs/console.md) at / on the admin listener. Default true; false: only the JSON API.'),
      sessionIdleTimeout: duration(
        'A console session ends after this long without a call (stored in the credential store, shared by every worker and instance). Default 30m.',
      ).default('30m'),
    })
    .default({ listen: '127.0.0.1:9091', allowOnProxyRoutes: false, console: true, sessionIdleTimeout: '30m' }),
  metrics: z
    .strictObject({ listen: listenAddress('Metrics and health address. Default "127.0.0.1:9090".').default('127.0.0.1:9090') })
    .default({ listen: '127.0.0.1:9090' }),
  store: z
    .strictObject({
      url: nonEmpty(
        '"sqlite:PATH" (relative to the config file) or "postgres://user:password@host:5432/db?sslmode=verify-full&sslrootcert=PATH". Default "sqlite:data/portcullis.db".',
      ).default('sqlite:data/portcullis.db'),
      poolSize: z.number().int().min(1).max(1000).default(10).describe('PostgreSQL: connections per gateway process. Default 10.'),
      queryTimeout: duration(
        'PostgreSQL: bound on each query and on waiting for a pooled connection; past it a request is refused with 503 auth.store_unavailable. Default 2s.',
      ).default('2s'),
      migrate: z
        .boolean()
        .default(true)
        .describe(
          'Apply missing schema migrations at start. false: migrations run only through `portcullis store migrate`, and start refuses a store that is behind.',
        ),
    })
    .default({ url: 'sqlite:data/portcullis.db', poolSize: 10, queryTimeout: '2s', migrate: true }),
  cache: cacheSchema.default({ maxEntries: 100_000, ttl: '60s', negativeTtl: '5s', negativeMaxEntries: 10_000, maxStaleness: '1s' }),
  tokens: z
    .strictObject({
      defaultExpiry: duration('Expiry given to tokens created without --expires-in. Omitted: no expiry.').optional(),
    })
    .default({}),
  oauth: z
    .strictObject({
      issuer: nonEmpty('`iss` of access tokens Portcullis issues.').default('https://portcullis.local'),
      audience: nonEmpty('`aud` of access tokens Portcullis issues.').default('portcullis'),
      tokenTtl: duration('Lifetime of issued access tokens. Default 1h.').default('1h'),
      leeway: duration('Clock skew tolerated on exp/nbf. Default 30s.').default('30s'),
      keyEncryptionKey: nonEmpty(
        'Key-encryption key of the signing keys at rest: 32 random bytes in base64 (openssl rand -base64 32), given through the environment: "${PORTCULLIS_KEK}". Omitted: keys are stored in the clear.',
      ).optional(),
      previousKeyEncryptionKeys: z
        .array(nonEmpty('A previous key-encryption key (same format).'))
        .default([])
        .describe('Earlier key-encryption keys, accepted to open keys sealed before a KEK rotation until `portcullis keys rekey` has run.'),
      allowPlaintextSigningKeys: z
        .boolean()
        .default(false)
        .describe(
          'Allows a PostgreSQL store without oauth.keyEncryptionKey (signing keys in the clear, readable by anyone who can read the database). Default false.',
        ),
      rateLimit: rateLimitSchema
        .optional()
        .describe(
          'Access tokens each OAuth client may obtain from the token endpoint: a bucket of `burst` requests, refilled at `requests` per `per`, counted per client id once the client authenticated; past it 429 rate.limited. rateLimits.credentials overrides do not apply to it. Omitted: no limit.',
        ),
    })
    .default({
      issuer: 'https://portcullis.local',
      audience: 'portcullis',
      tokenTtl: '1h',
      leeway: '30s',
      previousKeyEncryptionKeys: [],
      allowPlaintextSigningKeys: false,
    }),
  jwt: z
    .strictObject({ issuers: z.array(externalIssuerSchema).default([]) })
    .default({ issuers: [] })
    .describe('External identity providers whose JWTs are accepted.'),
  log: z
    .strictObject({
      level: z.enum(LOG_LEVELS).default('info'),
      queryValues: z.array(z.string()).default([]).describe('Query parameters whose values are logged; others are logged by name only.'),
      bufferBytes: z
        .number()
        .int()
        .min(16_384)
        .max(1_073_741_824)
        .default(4_194_304)
        .describe(
          'Bytes of log lines held for a reader of stdout that does not keep up; beyond it lines are dropped and counted in portcullis_log_lines_dropped_total. Default 4194304 (4 MiB).',
        ),
    })
    .default({ level: 'info', queryValues: [], bufferBytes: 4_194_304 }),
  throttle: z
    .strictObject({
      failures: z
        .number()
        .int()
        .min(1)
        .max(1_000_000)
        .default(20)
        .describe(
          'Failed authentications a client address may have within `window`; past it, its requests whose credential is not cached as valid get 429 auth.too_many_failures before the store is asked. Default 20.',
        ),
      window: duration(
        'How long failures are remembered, from the first one: the address is let through again when it ends. Default 1m.',
      ).default('1m'),
      maxAddresses: z
        .number()
        .int()
        .min(1)
        .max(10_000_000)
        .default(100_000)
        .describe(
          'Client addresses (IPv6: /64 networks) whose failures are remembered; the least recently failing are forgotten first. Default 100000.',
        ),
    })
    .optional()
    .describe('Failed-attempt throttling per client address (the peer, or the address a trusted proxy forwarded for). Omitted: off.'),
  rateLimits: z
    .strictObject({
      maxKeys: z
        .number()
        .int()
        .min(1)
        .max(10_000_000)
        .default(100_000)
        .describe(
          'Rate-limit buckets kept (one per route and credential or client address); the least recently used are dropped first, and a dropped bucket starts full again. Default 100000.',
        ),
      credentials: z
        .record(
          z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, { error: 'expected a token id (tok_…) or an OAuth client id (cli_…)' }),
          rateLimitSchema,
        )
        .default({})
        .describe(
          "Per-credential limits that replace the route's `rateLimit` on every route that has one: keyed by API token id (tok_…) or OAuth client id (cli_…; its access tokens share it).",
        ),
    })
    .default({ maxKeys: 100_000, credentials: {} })
    .describe('Where rate-limit state is kept, and per-credential overrides.'),
  routes: z.array(routeSchema).min(1, { error: 'expected at least one route' }).describe('Routes, matched most-specific first.'),
});

/** The configuration file after validation and defaults, before compilation. */
export type RawConfig = z.output<typeof configSchema>;
export type RawRoute = z.output<typeof routeSchema>;
export type Scope = (typeof SCOPES)[number];
export type RouteAccess = (typeof ROUTE_ACCESS)[number];
export type CredentialScheme = (typeof CREDENTIAL_SCHEMES)[number];
export type RouteMode = (typeof ROUTE_MODES)[number];
export type RawDeprecation = z.output<typeof deprecationSchema>;
