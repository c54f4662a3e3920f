/**
 * `GET /.well-known/oauth-authorization-server` (RFC 8414): where a client finds the endpoints.
 *
 * URLs are built from `oauth.issuer`, which should therefore be the public base URL of the proxy
 * listener (e.g. `https://gw.example.com`); the document is served at the root well-known path
 * whatever the issuer's path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SCOPES } from '../credentials/index.js';
import { OWN_ANSWER_HEADERS } from '../listen/own-answer-headers.js';
import { ACCESS_TOKEN_ALGORITHMS } from './signing-keys.js';

/** Paths of the OAuth endpoints on the proxy listener. */
export const OAUTH_PATHS = {
  token: '/oauth2/token',
  introspect: '/oauth2/introspect',
  revoke: '/oauth2/revoke',
  jwks: '/.well-known/jwks.json',
  metadata: '/.well-known/oauth-authorization-server',
} as const;

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;

/** The RFC 8414 metadata for `issuer`. */
export function authorizationServerMetadata(issuer: string): Record<string, unknown> {
  const base = issuer.replace(/\/+$/, '');
  return {
    issuer,
    token_endpoint: base + OAUTH_PATHS.token,
    jwks_uri: base + OAUTH_PATHS.jwks,
    introspection_endpoint: base + OAUTH_PATHS.introspect,
    revocation_endpoint: base + OAUTH_PATHS.revoke,
    grant_types_supported: ['client_credentials'],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    introspection_endpoint_auth_methods_supported: [...AUTH_METHODS, 'bearer'],
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    scopes_supported: SCOPES,
    access_token_signing_alg_values_supported: ACCESS_TOKEN_ALGORITHMS,
  };
}

/** Answers a GET or HEAD of the metadata. */
export function sendMetadata(req: IncomingMessage, res: ServerResponse, issuer: string, requestId: string): void {
  const body = JSON.stringify(authorizationServerMetadata(issuer));
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'public, max-age=300',
    'x-request-id': requestId,
    ...OWN_ANSWER_HEADERS,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
