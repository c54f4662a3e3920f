/**
 * `oauth.rateLimit`: how many access tokens each OAuth client may obtain from the token endpoint.
 * Counted per client id once the client authenticated (a wrong secret is the failure throttle's
 * business, limit/auth-throttle.ts), by the routes' limiter (limit/rate-limits.ts) under the name
 * `oauth:token`, which RateLimit-Policy and `portcullis_rate_limited_total` carry. Minting is
 * what it bounds: each token costs a signature, and a client that asks for a new one per call
 * would otherwise turn the gateway into a signing service. `rateLimits.credentials` overrides are
 * left out: they size a client's API traffic, not how often it needs a token.
 */
import type { IncomingMessage } from 'node:http';
import type { GatewayConfig } from '../config/types.js';
import { createRateLimits, type LimitedRoute, type RateLimitOptions } from '../limit/rate-limits.js';
import { TOKEN_ENDPOINT_ROUTE } from '../observe/labels.js';
import type { Principal } from '../types.js';

export interface TokenRateLimit {
  /** Counts a token request of this authenticated client; throws 429 rate.limited past the limit. */
  admit(client: Principal, req: IncomingMessage): void;
  /** Applies a reloaded `oauth.rateLimit` (and `rateLimits.maxKeys`, `trustedProxies`). */
  reload(config: GatewayConfig): void;
}

function withoutOverrides(config: GatewayConfig): GatewayConfig {
  return { ...config, rateLimits: { maxKeys: config.rateLimits?.maxKeys ?? 100_000, credentials: {} } };
}

function limitedRoute(config: GatewayConfig): LimitedRoute | undefined {
  const policy = config.oauth.rateLimit;
  return policy === undefined ? undefined : { name: TOKEN_ENDPOINT_ROUTE, rateLimit: policy };
}

export function createTokenRateLimit(config: GatewayConfig, options: RateLimitOptions = {}): TokenRateLimit {
  const limits = createRateLimits(withoutOverrides(config), options);
  let route = limitedRoute(config);
  let trusted = config.trustedProxies;
  return {
    admit(client, req) {
      if (route !== undefined) limits.admit(route, client, req, trusted);
    },
    reload(next) {
      limits.reload(withoutOverrides(next));
      route = limitedRoute(next);
      trusted = next.trustedProxies;
    },
  };
}
