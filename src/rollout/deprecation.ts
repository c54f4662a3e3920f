/**
 * Deprecation with a sunset (docs/credentials.md "Deprecation and sunset"). A credential may be
 * deprecated three ways: itself (a token or an OAuth client, in the store; its Portcullis access
 * tokens follow their client), its scheme on the route (`routes[].deprecated.basic`), or its
 * external issuer (`jwt.issuers[].deprecated`). When several apply, the one with the earliest
 * sunset speaks for the request.
 *
 * Checked after authentication on every request, against the clock, whatever answered it (the
 * credential cache, the JWT cache): a cached credential is refused from its sunset on like any
 * other. Before the sunset the request goes on and the response carries the headers of
 * deprecation-headers.ts.
 */
import { challengesFor } from '../authenticate/challenges.js';
import type { Deprecation, GatewayConfig } from '../config/types.js';
import { aboutCredential, GatewayError } from '../errors.js';
import type { Principal, RequestContext, RoutePolicy } from '../types.js';
import { sunsetHeaders } from './deprecation-headers.js';

/** What was deprecated: the label `kind` of portcullis_deprecated_credential_requests_total. */
export const DEPRECATION_KINDS = ['token', 'client', 'scheme', 'issuer'] as const;
export type DeprecationKind = (typeof DEPRECATION_KINDS)[number];

/** The deprecation that applies to one request. */
export interface DeprecationNotice extends Deprecation {
  readonly kind: DeprecationKind;
}

const issuerTables = new WeakMap<GatewayConfig, ReadonlyMap<string, Deprecation>>();

/** Deprecated external issuers of `config`, by `iss`; built once per configuration. */
function deprecatedIssuers(config: GatewayConfig): ReadonlyMap<string, Deprecation> {
  let table = issuerTables.get(config);
  if (table === undefined) {
    const built = new Map<string, Deprecation>();
    for (const issuer of config.jwt.issuers) if (issuer.deprecated !== undefined) built.set(issuer.issuer, issuer.deprecated);
    table = built;
    issuerTables.set(config, table);
  }
  return table;
}

function earlier(
  current: DeprecationNotice | undefined,
  candidate: Deprecation | undefined,
  kind: DeprecationKind,
): DeprecationNotice | undefined {
  if (candidate === undefined) return current;
  if (current !== undefined && current.sunsetMs <= candidate.sunsetMs) return current;
  return { sinceMs: candidate.sinceMs, sunsetMs: candidate.sunsetMs, link: candidate.link, kind };
}

/** The deprecation with the earliest sunset among those that apply to `principal` on `route`, or undefined. */
export function deprecationOf(route: RoutePolicy, principal: Principal, config: GatewayConfig): DeprecationNotice | undefined {
  let notice: DeprecationNotice | undefined;
  if (principal.deprecation !== undefined)
    notice = earlier(notice, principal.deprecation, principal.kind === 'api_token' ? 'token' : 'client');
  notice = earlier(notice, route.deprecated[principal.scheme], 'scheme');
  if (principal.kind === 'external_jwt' && principal.issuer !== undefined && config.jwt.issuers.length > 0) {
    notice = earlier(notice, deprecatedIssuers(config).get(principal.issuer), 'issuer');
  }
  return notice;
}

const WHAT: Readonly<Record<DeprecationKind, string>> = {
  token: 'This API token',
  client: 'This OAuth client',
  scheme: 'This credential scheme on this route',
  issuer: 'This token issuer',
};

/**
 * Records the deprecation that applies (ctx.deprecation) and throws 401 auth.credential_sunset
 * from its sunset on. `now`: the clock in epoch ms (read only when a deprecation applies).
 */
export function checkDeprecation(
  ctx: RequestContext,
  route: RoutePolicy,
  principal: Principal,
  config: GatewayConfig,
  now: () => number,
): void {
  const notice = deprecationOf(route, principal, config);
  if (notice === undefined) return;
  ctx.deprecation = notice;
  if (now() < notice.sunsetMs) return;
  const headers = {
    'www-authenticate': challengesFor(route.credentials, principal.scheme === 'bearer' ? 'invalid_token' : undefined),
    ...sunsetHeaders(notice.sunsetMs, notice.link),
  };
  const error = new GatewayError(
    'auth.credential_sunset',
    `${WHAT[notice.kind]} reached its sunset at ${new Date(notice.sunsetMs).toISOString()}.`,
    headers,
  );
  throw aboutCredential(error, principal.credentialId);
}

/**
 * The check of a credential's own deprecation (a token's, or an OAuth client's that its access
 * tokens carry) where no route applies: the admin API and token introspection. The verifier
 * refuses API tokens and client secrets past their sunset itself, but an access token carries its
 * client's deprecation and is refused only here and by checkDeprecation.
 */
export function checkOwnSunset(principal: Principal, now: number, headers: Record<string, string> = {}): void {
  const own = principal.deprecation;
  if (own === undefined || now < own.sunsetMs) return;
  const kind = principal.kind === 'api_token' ? 'token' : 'client';
  const error = new GatewayError('auth.credential_sunset', `${WHAT[kind]} reached its sunset at ${new Date(own.sunsetMs).toISOString()}.`, {
    ...headers,
    ...sunsetHeaders(own.sunsetMs, own.link),
  });
  throw aboutCredential(error, principal.credentialId);
}
