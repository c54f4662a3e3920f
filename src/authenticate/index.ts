/**
 * The authenticate stage. Until a credential store is wired in, every route that requires
 * authentication is closed: no credentials → 401 auth.missing_credentials with the route's
 * challenges; anything presented → 401 auth.invalid_token.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';
import type { Authenticate, RoutePolicy } from '../types.js';
import { challengesFor } from './challenges.js';

export function createClosedAuthenticator(): Authenticate {
  return (route: RoutePolicy, req: IncomingMessage) => {
    if (req.headers.authorization === undefined) {
      throw new GatewayError('auth.missing_credentials', 'This route requires credentials.', {
        'www-authenticate': challengesFor(route.credentials),
      });
    }
    throw new GatewayError('auth.invalid_token', 'No credential store is configured.', {
      'www-authenticate': challengesFor(route.credentials, 'invalid_token'),
    });
  };
}
