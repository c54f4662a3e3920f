/**
 * A real OAuth 2.0 / OpenID Connect server for the external-issuer tests: panva's
 * `oidc-provider`, on HTTPS with the test CA's certificate, issuing JWT access tokens (RFC 9068)
 * to a client-credentials client through its resourceIndicators feature.
 *
 * Key rotation at the provider: `setKeys()` builds a new Provider with another key set on the
 * same issuer and HTTPS server (oidc-provider fixes its keys at construction), so tokens it
 * signed before stay verifiable only while their key stays published.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type Provider from 'oidc-provider';
import { sharedCerts } from '../support/certs.js';

/**
 * oidc-provider announces its development defaults (in-memory adapter) and, on Node 20, that it
 * prefers Node 22, through console.warn: keep those lines out of the test report.
 */
function quietProviderWarnings(): void {
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider ')) return;
    warn(...args);
  };
}

let providerClass: Promise<typeof Provider> | undefined;
function loadProvider(): Promise<typeof Provider> {
  if (providerClass === undefined) {
    quietProviderWarnings();
    providerClass = import('oidc-provider').then((module) => module.default);
  }
  return providerClass;
}

/** The audience (resource) the provider's access tokens are for. */
export const EXTERNAL_AUDIENCE = 'https://api.portcullis.test';
export const EXTERNAL_CLIENT = { id: 'partner-service', secret: 'partner-service-secret-0123456789abcdef' } as const;

export interface IdentityProvider {
  readonly issuer: string;
  readonly jwksUrl: string;
  /** JWK fetches served (answered or not). */
  readonly jwksRequests: () => number;
  /** A client-credentials access token for `scope`, signed with the first key of the set. */
  token(scope: string): Promise<string>;
  /** Replaces the key set (private JWKs with `kid`; the first one signs). */
  setKeys(keys: readonly JWK[]): void;
  /** Stops answering (requests hang), or answers again. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/** A new RS256 private JWK with `kid`. */
export async function rsaKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

function createProvider(ProviderClass: typeof Provider, issuer: string, keys: readonly JWK[]): Provider {
  const provider = new ProviderClass(issuer, {
    clients: [
      {
        client_id: EXTERNAL_CLIENT.id,
        client_secret: EXTERNAL_CLIENT.secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'api:read api:write other',
      },
    ],
    jwks: { keys: keys.map((k) => ({ ...k })) },
    scopes: ['api:read', 'api:write', 'other'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => EXTERNAL_AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'api:read api:write other',
          audience: EXTERNAL_AUDIENCE,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          // The first key of the set signs, as after a rotation at a real provider.
          jwt: { sign: { alg: 'RS256', kid: keys[0]?.kid } },
        }),
      },
    },
    ttl: { ClientCredentials: 300 },
  });
  // Silence the provider's development warnings and per-request error logs in test output.
  provider.on('server_error', () => undefined);
  return provider;
}

/** Starts the provider on 127.0.0.1 (HTTPS, test CA) with `keys`. */
export async function startIdentityProvider(keys: readonly JWK[]): Promise<IdentityProvider> {
  const ProviderClass = await loadProvider();
  const { leaf, ca } = sharedCerts();
  let handler: ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void) | undefined;
  let down = false;
  let jwksRequests = 0;
  const server = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    if (req.url === '/jwks') jwksRequests++;
    if (down) return; // accept, never answer: a provider that hangs
    handler?.(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const install = (next: readonly JWK[]): void => {
    // Koa's handler answers its own errors: the promise it returns never rejects.
    const callback = createProvider(ProviderClass, issuer, next).callback();
    handler = (req, res) => void callback(req, res);
  };
  install(keys);
  const agent = new https.Agent({ ca: ca.caCert });

  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    jwksRequests: () => jwksRequests,
    token(scope) {
      const body = new URLSearchParams({ grant_type: 'client_credentials', scope }).toString();
      return new Promise((resolve, reject) => {
        const req = https.request(
          `${issuer}/token`,
          {
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              authorization: `Basic ${Buffer.from(`${EXTERNAL_CLIENT.id}:${EXTERNAL_CLIENT.secret}`).toString('base64')}`,
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('end', () => {
              if (res.statusCode !== 200) reject(new Error(`token request: ${res.statusCode} ${text}`));
              else resolve((JSON.parse(text) as { access_token: string }).access_token);
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    setKeys: install,
    setDown(value) {
      down = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
