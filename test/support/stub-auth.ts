/**
 * A stand-in for the authenticate stage with two fixed bearer tokens, for tests of the layers
 * around it (header rules, authorization, upgrades) that need an authenticated caller. Anything
 * else behaves as the closed authenticator: no credentials → auth.missing_credentials, unknown
 * ones → auth.invalid_token. Tests of authentication itself use the real store.
 */
import type { IncomingMessage } from 'node:http';
import { challengesFor } from '../../src/authenticate/challenges.js';
import { GatewayError } from '../../src/errors.js';
import type { Authenticate, Principal, RoutePolicy } from '../../src/types.js';

export const STUB_PRINCIPALS = {
  'rw-token': { kind: 'api_token', scheme: 'bearer', subject: 'alice', scope: 'read-write', credentialId: 'tok_rw' },
  'ro-token': { kind: 'api_token', scheme: 'bearer', subject: 'bob', scope: 'read-only', credentialId: 'tok_ro' },
} as const satisfies Record<string, Principal>;

export type StubToken = keyof typeof STUB_PRINCIPALS;

export function createStubAuthenticator(extra: Readonly<Record<string, Principal>> = {}): Authenticate {
  const principals: Readonly<Record<string, Principal>> = { ...STUB_PRINCIPALS, ...extra };
  return (route: RoutePolicy, req: IncomingMessage) => {
    const header = req.headers.authorization;
    if (header === undefined || (!route.credentials.has('bearer') && header.startsWith('Bearer '))) {
      throw new GatewayError('auth.missing_credentials', 'This route requires credentials.', {
        'www-authenticate': challengesFor(route.credentials),
      });
    }
    const principal = header.startsWith('Bearer ') ? principals[header.slice(7)] : undefined;
    if (principal === undefined) {
      throw new GatewayError('auth.invalid_token', 'Unknown token.', {
        'www-authenticate': challengesFor(route.credentials, 'invalid_token'),
      });
    }
    return principal;
  };
}
