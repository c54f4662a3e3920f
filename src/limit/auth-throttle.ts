/**
 * Failed-attempt throttling in front of credential checks (docs/configuration.md `throttle`):
 * a client address past `throttle.failures` failed authentications within `throttle.window` is
 * answered 429 auth.too_many_failures with `Retry-After` BEFORE its credential reaches the
 * verifier, unless that credential is already verified and cached (a valid client behind the
 * same NAT keeps working, and costs no store read).
 *
 * Wrapped around the authenticate stage (proxy routes and the admin API share it, so failures on
 * one listener count on the other) and around the verifiers the token, introspection and
 * revocation endpoints check their callers with (client_secret guessing counts). What counts as a failure: a credential that was
 * presented and refused as unknown, wrong, expired or revoked (FAILURE_CODES). Not a missing
 * credential (a browser's first request), not a malformed header, not a store outage.
 */
import type { IncomingMessage } from 'node:http';
import { parseAuthorization } from '../authenticate/parse-authorization.js';
import type { PresentedCredentialVerifier } from '../authenticate/verifier.js';
import type { GatewayConfig, ThrottleSettings } from '../config/types.js';
import { GatewayError, type ErrorCode } from '../errors.js';
import type { Authenticate, Principal, PresentedCredential } from '../types.js';
import { clientKeyOf } from './client-address.js';
import { createFailureThrottle, type FailureThrottle } from './failure-throttle.js';

/** Refusals that count as a failed authentication. */
export const FAILURE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'auth.invalid_token',
  'auth.invalid_credentials',
  'auth.token_expired',
  'auth.token_revoked',
]);

export interface AuthThrottle {
  /** `authenticate` with the throttle in front (a no-op while `throttle` is not configured). */
  wrap(authenticate: Authenticate): Authenticate;
  /** `verifier` as seen from `req`'s client address (the token endpoint's client authentication). */
  verifierFor(req: IncomingMessage, verifier: PresentedCredentialVerifier): PresentedCredentialVerifier;
  /** Addresses whose failures are remembered. */
  size(): number;
  /** Applies a reloaded `throttle` and `trustedProxies`. */
  reload(config: GatewayConfig): void;
}

export interface AuthThrottleOptions {
  /** Whether a presented credential is verified and cached as valid (memory only). */
  readonly cached: (presented: PresentedCredential) => boolean;
  /** Called once per request refused with auth.too_many_failures (metrics). */
  readonly onThrottled?: () => void;
  /**
   * An address reached `throttle.failures` in its window: its further attempts are refused for
   * `seconds`. Once per address and window (the log line operators block addresses from).
   */
  readonly onThrottleStarted?: (address: string, seconds: number) => void;
  /** Workers serving this instance (see failure-throttle.ts). Default 1. */
  readonly share?: number;
  readonly now?: () => number;
}

const DETAIL = 'Too many failed authentications from this address; try again later.';

function isFailure(error: unknown): boolean {
  return error instanceof GatewayError && FAILURE_CODES.has(error.code);
}

/** The credential in `req`'s Authorization header, if it parses. */
function presentedIn(req: IncomingMessage): PresentedCredential | undefined {
  try {
    const parsed = parseAuthorization(req.rawHeaders);
    return parsed.kind === 'credential' ? parsed.credential : undefined;
  } catch {
    return undefined;
  }
}

export function createAuthThrottle(config: GatewayConfig, options: AuthThrottleOptions): AuthThrottle {
  let settings: ThrottleSettings | undefined = config.throttle;
  let trusted = config.trustedProxies;
  const throttleOptions = { share: options.share ?? 1, ...(options.now === undefined ? {} : { now: options.now }) };
  let table: FailureThrottle | undefined = settings === undefined ? undefined : createFailureThrottle(settings, throttleOptions);

  function refusal(wait: number): GatewayError {
    try {
      options.onThrottled?.();
    } catch {
      // Metrics never change an answer.
    }
    return new GatewayError('auth.too_many_failures', DETAIL, { 'retry-after': String(wait) });
  }

  function fail(failures: FailureThrottle, key: string, error: unknown): void {
    if (!isFailure(error) || !failures.failed(key)) return;
    try {
      options.onThrottleStarted?.(key, failures.retryAfter(key));
    } catch {
      // Logging never changes an answer.
    }
  }

  /** Runs `check` for `key`, counting a refusal it throws or rejects with. */
  function counted<T extends Principal | Promise<Principal>>(failures: FailureThrottle, key: string, check: () => T): T {
    let result: T;
    try {
      result = check();
    } catch (error) {
      fail(failures, key, error);
      throw error;
    }
    if (result instanceof Promise) {
      return result.catch((error: unknown) => {
        fail(failures, key, error);
        throw error;
      }) as T;
    }
    return result;
  }

  return {
    wrap(authenticate) {
      return (route, req) => {
        const failures = table;
        if (failures === undefined) return authenticate(route, req);
        const key = clientKeyOf(req, trusted);
        const wait = failures.retryAfter(key);
        if (wait > 0) {
          const presented = presentedIn(req);
          if (presented === undefined || !options.cached(presented)) throw refusal(wait);
        }
        return counted(failures, key, () => authenticate(route, req));
      };
    },
    verifierFor(req, verifier) {
      const failures = table;
      if (failures === undefined) return verifier;
      const key = clientKeyOf(req, trusted);
      return {
        verify(presented) {
          const wait = failures.retryAfter(key);
          if (wait > 0 && !options.cached(presented)) throw refusal(wait);
          return counted(failures, key, () => verifier.verify(presented));
        },
        cached: (presented) => options.cached(presented),
      };
    },
    size: () => table?.size() ?? 0,
    reload(next) {
      settings = next.throttle;
      trusted = next.trustedProxies;
      if (settings === undefined) table = undefined;
      else if (table === undefined) table = createFailureThrottle(settings, throttleOptions);
      else table.configure(settings);
    },
  };
}
