/**
 * The runtime configuration: what `compile.ts` produces from a validated file. Everything here
 * is resolved (paths absolute, durations in milliseconds, files read) and frozen; nothing on the
 * request path validates or parses configuration again.
 */
import type { CredentialScheme, RouteAccess, RouteMode, Scope } from './schema.js';

export type { CredentialScheme, RouteAccess, RouteMode, Scope };

/**
 * A deprecation with a sunset, as configured (`routes[].deprecated`, `jwt.issuers[].deprecated`)
 * or stored on a token or client. Times in epoch milliseconds.
 */
export interface Deprecation {
  /** When the deprecation took (or takes) effect: the `Deprecation` header. */
  readonly sinceMs: number;
  /** From this instant on the credential is refused (auth.credential_sunset): the `Sunset` header before. */
  readonly sunsetMs: number;
  /** Migration documentation, sent as `Link: <url>; rel="deprecation"`; undefined for none. */
  readonly link: string | undefined;
}

/** A `host:port` to bind. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** How a route matches the Host header. */
export type HostMatch =
  | { readonly kind: 'any' }
  | { readonly kind: 'exact'; readonly host: string }
  /** `*.example.com`: `suffix` is `.example.com`; matches exactly one more label. */
  | { readonly kind: 'wildcard'; readonly suffix: string };

/** Where a route forwards to. Only https (and wss for upgrades) ever reaches here. */
export interface UpstreamTarget {
  /** `https://host:port`, the pool key. */
  readonly origin: string;
  readonly hostname: string;
  readonly port: number;
  /** TLS server name (SNI and certificate check): the upstream's host, never the client's. */
  readonly servername: string;
  /** `Host` header sent upstream: `hostname` (IPv6 in brackets), with `:port` unless 443. */
  readonly hostHeader: string;
  /** Base path without trailing slash (`''` for none); request paths are appended to it. */
  readonly basePath: string;
  /** Extra PEM trust roots (`upstreamCa`), added to the system roots. */
  readonly ca: string | undefined;
}

/** `rateLimit`: a bucket of `burst` requests refilled at `requests` per `perMs`. */
export interface RateLimitPolicy {
  readonly requests: number;
  /** Whole seconds, in milliseconds (1 s to 1 d). */
  readonly perMs: number;
  readonly burst: number;
}

/** `throttle`: failed-attempt throttling per client address. */
export interface ThrottleSettings {
  readonly failures: number;
  readonly windowMs: number;
  readonly maxAddresses: number;
}

/** `rateLimits`: the bound on buckets and the per-credential overrides (keyed by token or client id). */
export interface RateLimitSettings {
  readonly maxKeys: number;
  readonly credentials: Readonly<Record<string, RateLimitPolicy>>;
}

/** A route after compilation (`routes[]` of docs/configuration.md). */
export interface RoutePolicy {
  readonly name: string;
  /** Position in the file, for messages. */
  readonly index: number;
  readonly host: HostMatch;
  /** Normalised prefix without trailing slash; `''` means the root `/`. */
  readonly pathPrefix: string;
  /** Upper-case methods, or undefined for every method. */
  readonly methods: ReadonlySet<string> | undefined;
  readonly upstream: UpstreamTarget;
  readonly auth: 'required' | 'off';
  readonly access: RouteAccess;
  readonly credentials: ReadonlySet<CredentialScheme>;
  /** Lower-case header names. */
  readonly requiredHeaders: readonly string[];
  readonly requiredQuery: readonly string[];
  /** `require.match`: lower-case header name → the credential identity it must equal. */
  readonly identityMatch: ReadonlyArray<readonly [header: string, field: 'account' | 'orgId' | 'technicalAccountId']>;
  readonly timeoutMs: number;
  /** `read-write`: an upgrade is a write (route and credential must be read-write). `read-only`: read credentials may open it; the backend enforces that. */
  readonly websocket: RouteAccess;
  /** Reads (GET, HEAD, OPTIONS) may carry a body under a read-only route or credential. */
  readonly readsWithBody: boolean;
  /** `rateLimit`; undefined: no limit on this route. */
  readonly rateLimit?: RateLimitPolicy | undefined;
  /** `shadow`: authentication and authorization refusals are recorded, not answered (src/rollout/shadow.ts). */
  readonly mode: RouteMode;
  /** Credential schemes deprecated on this route (`deprecated`); empty for none. */
  readonly deprecated: Readonly<Partial<Record<CredentialScheme, Deprecation>>>;
}

export interface CacheSettings {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly negativeTtlMs: number;
  readonly negativeMaxEntries: number;
  /**
   * `cache.maxStaleness`: how long the change feed may go unconfirmed before cached
   * credentials are refused (src/credentials/change-feed.ts). Omitted: 1000 ms.
   */
  readonly maxStalenessMs?: number;
}

/** `oauth.*`: the Portcullis authorization server. */
export interface OAuthSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly tokenTtlMs: number;
  readonly leewayMs: number;
  /** `oauth.keyEncryptionKey` (base64, a secret: never log it); undefined: keys in the clear. */
  readonly keyEncryptionKey?: string;
  /** `oauth.previousKeyEncryptionKeys`: KEKs that may still open keys sealed before a rotation. */
  readonly previousKeyEncryptionKeys?: readonly string[];
  /** `oauth.allowPlaintextSigningKeys`: a PostgreSQL store may hold the keys in the clear. */
  readonly allowPlaintextSigningKeys?: boolean;
  /** `oauth.rateLimit`: token requests per authenticated client; undefined: none. */
  readonly rateLimit?: RateLimitPolicy | undefined;
}

export interface ExternalIssuer {
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly audience: string;
  readonly scopeClaim: string;
  readonly readWriteValues: readonly string[];
  readonly readOnlyValues: readonly string[];
  readonly jwksCa: string | undefined;
  /** `deprecated`: its JWTs are announced as deprecated, then refused from the sunset on. */
  readonly deprecated?: Deprecation | undefined;
}

/** `limits` of the configuration (schema.ts describes each; durations in milliseconds). */
export interface Limits {
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly shutdownGraceMs: number;
  /** Whole request (head and body) on the proxy, admin and metrics listeners. */
  readonly requestTimeoutMs: number;
  /** Bodies Portcullis reads itself (OAuth endpoints, admin API). */
  readonly bodyReadTimeoutMs: number;
  readonly maxConnectionsPerClient: number;
  readonly maxInFlightPerClient: number;
  /** Requests per upstream waiting for a connection. */
  readonly upstreamQueueSize: number;
  readonly upstreamQueueTimeoutMs: number;
  /** Longest a client may leave a forwarded response undrained before both sides are cut. */
  readonly responseStallTimeoutMs: number;
  /** After SIGTERM: /readyz is 503 while requests are still served, for this long. */
  readonly shutdownDelayMs: number;
}

/** `trustedProxies`, compiled (trusted-proxies.ts). */
export interface TrustedProxies {
  /** The entries as written, lower-cased: IP addresses and CIDRs. */
  readonly entries: readonly string[];
  /** Whether a connection from `address` (an IPv4 or IPv6 address) comes from a trusted proxy. */
  has(address: string): boolean;
}

/** A listener's certificate chain and private key, as PEM text. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

export interface GatewayConfig {
  /** Absolute path of the file this came from. */
  readonly file: string;
  /** Absolute paths of the other files it named and that were read (certificates, keys, CA files). */
  readonly files: readonly string[];
  readonly listen: ListenAddress;
  readonly tls: TlsFiles | undefined;
  /** IPs / CIDRs whose X-Forwarded-* are trusted, and who are not held to the per-client limits. */
  readonly trustedProxies: TrustedProxies;
  /** `workers`: processes serving the listeners, or 'auto' (one per core); resolved at start (cluster/workers-count.ts). */
  readonly workers: number | 'auto';
  readonly limits: Limits;
  readonly admin: {
    readonly listen: ListenAddress;
    readonly tls: TlsFiles | undefined;
    /** Whether admin-scope credentials are accepted on proxy routes (default false). */
    readonly allowOnProxyRoutes: boolean;
    /** Whether the web console is served at `/` (default true). */
    readonly console: boolean;
    /** Console sessions end after this long without a call, in ms (default 30 min). */
    readonly sessionIdleTimeoutMs: number;
  };
  readonly metrics: { readonly listen: ListenAddress };
  /** `sqlite:` URLs carry an absolute path; a postgres `sslrootcert` too. */
  readonly store: {
    readonly url: string;
    /** PostgreSQL pool size. */
    readonly poolSize: number;
    /** PostgreSQL query (and pool acquire) bound. */
    readonly queryTimeoutMs: number;
    /** Apply missing migrations at start. */
    readonly migrate: boolean;
  };
  readonly cache: CacheSettings;
  readonly tokens: { readonly defaultExpiryMs: number | undefined };
  readonly oauth: OAuthSettings;
  readonly jwt: { readonly issuers: readonly ExternalIssuer[] };
  readonly log: { readonly level: string; readonly queryValues: readonly string[]; readonly bufferBytes: number };
  /** `throttle`; undefined: off. */
  readonly throttle?: ThrottleSettings | undefined;
  /** `rateLimits`; undefined (hand-built configurations): the defaults, no overrides. */
  readonly rateLimits?: RateLimitSettings | undefined;
  readonly routes: readonly RoutePolicy[];
}
