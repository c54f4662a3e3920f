/**
 * Types shared by the stages of the request pipeline (match → authenticate → authorize →
 * require → forward). Each stage's folder owns its logic; these are the values passed between.
 */
import type { Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CredentialScheme, Deprecation, GatewayConfig, RoutePolicy, Scope } from './config/types.js';

export type { CredentialScheme, Deprecation, GatewayConfig, RoutePolicy, Scope };

/** What kind of credential authenticated the caller. */
export type CredentialKind = 'api_token' | 'oauth_client' | 'access_token' | 'external_jwt';

/**
 * The authenticated caller. `credentialId` and `subject` are identifiers, never secrets: they
 * are forwarded upstream (X-Portcullis-*) and logged.
 */
export interface Principal {
  readonly kind: CredentialKind;
  readonly scheme: CredentialScheme;
  /** Who: the account name, the OAuth client id, or the JWT `sub`. */
  readonly subject: string;
  /** Effective scope: already narrowed by the owning account. */
  readonly scope: Scope;
  /** Which credential: token id, client id, or `jti`. */
  readonly credentialId: string;
  /** The `iss` of an external JWT (kind `external_jwt`); absent for Portcullis' own credentials. */
  readonly issuer?: string | undefined;
  /** The owning account of an API token (absent for a stand-alone token). */
  readonly account?: string | undefined;
  /** The OAuth client's organisation id (Basic client credentials and the access tokens it was issued). */
  readonly orgId?: string | undefined;
  /** The OAuth client's technical account id. */
  readonly technicalAccountId?: string | undefined;
  /**
   * An account owner's token: it manages the tokens of `account` through the console and the
   * admin API, and is refused on proxy routes (docs/credentials.md "Account owners").
   */
  readonly owner?: true | undefined;
  /**
   * The credential's own deprecation (a token or OAuth client marked deprecated in the store; an
   * access token carries its client's). Checked against the clock on every request.
   */
  readonly deprecation?: Deprecation | undefined;
}

/** A credential as presented in the Authorization header, parsed but not verified. */
export type PresentedCredential =
  | { readonly scheme: 'bearer'; readonly token: string }
  | { readonly scheme: 'basic'; readonly username: string; readonly password: string };

/**
 * The authenticate stage: resolves the caller for a route that requires authentication.
 * Answers synchronously on a cache hit; throws (or rejects with) a GatewayError otherwise.
 */
export type Authenticate = (route: RoutePolicy, req: IncomingMessage) => Principal | Promise<Principal>;

/** Per-request state the stages fill in order. */
export interface RequestContext {
  readonly id: string;
  readonly startedAt: bigint;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The client connection, kept here: Node detaches it from `req` once the response finished. */
  readonly socket: Socket | null;
  /** The raw request target's path (before `?`), as the upstream will see it. */
  path: string;
  /** The raw query string including `?`, or `''`. */
  search: string;
  route: RoutePolicy | undefined;
  principal: Principal | undefined;
  /** The id of a known credential that was refused (revoked, expired, disabled account), for the access log. */
  refusedCredentialId?: string;
  /** The error code the request ended with, for logs and metrics. */
  decision: string;
  /**
   * On a route in shadow mode: the code the request would have been refused with, had the route
   * enforced its policy (src/rollout/shadow.ts); undefined when it would have passed.
   */
  shadow?: string;
  /** The deprecation that applies to the request's credential (src/rollout/deprecation.ts), for headers and metrics. */
  deprecation?: Deprecation & { readonly kind: 'token' | 'client' | 'scheme' | 'issuer' };
  /** The unexpected failure behind an `internal.error` answer, logged when the request ends. */
  failure?: unknown;
  upstreamStartedAt: bigint | undefined;
  upstreamHeadersAt: bigint | undefined;
}
