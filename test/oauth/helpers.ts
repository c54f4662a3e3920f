/**
 * Fixtures of the OAuth tests: a real gateway (real store, real services wiring) in front of the
 * recording HTTPS upstream, OAuth clients created in its store, token requests, and JWTs signed
 * with the gateway's own key (read from the store) for claim-by-claim tests.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { importJWK, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { CredentialStore, Scope } from '../../src/credentials/index.js';
import { send, type Answer } from '../support/client.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

/** A read-write route (/api) and a read-only one (/ro), both requiring credentials. */
export const OAUTH_ROUTES = `
  - name: api
    match: { path: /api }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    access: read-write
  - name: ro
    match: { path: /ro }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
`;

export const ISSUER = 'https://gw.portcullis.test';
export const AUDIENCE = 'portcullis-tests';
export const OAUTH_SETTINGS = `oauth: { issuer: "${ISSUER}", audience: "${AUDIENCE}", tokenTtl: 1h, leeway: 30s }`;

export interface OAuthFixture {
  readonly gw: TestGateway;
  readonly upstream: RecordingUpstream;
  readonly store: CredentialStore;
  /** The YAML the gateway runs with (written to `configFile` for the CLI). */
  readonly yaml: string;
  readonly configFile: string;
  readonly env: Record<string, string>;
}

/** Starts an upstream and a gateway with OAUTH_SETTINGS (plus `extra` YAML) and OAUTH_ROUTES. */
export async function startOAuthGateway(t: TestContext, extra = '', env: Record<string, string> = {}): Promise<OAuthFixture> {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const yaml = gatewayYaml(OAUTH_ROUTES, `${OAUTH_SETTINGS}\n${extra}`);
  const allEnv = { UPSTREAM: upstream.origin, ...env };
  const gw = await startTestGateway(t, yaml, allEnv);
  const configFile = join(gw.dir, 'portcullis.yaml');
  writeFileSync(configFile, yaml);
  return { gw, upstream, store: gw.services.store, yaml, configFile, env: allEnv };
}

export interface TestClient {
  readonly clientId: string;
  readonly secret: string;
}

/** Creates an OAuth client in the gateway's store. */
export async function createClient(store: CredentialStore, scope: Scope, orgId: string | null = null): Promise<TestClient> {
  const issued = await store.clients.create({
    name: `client ${scope}`,
    scope,
    orgId,
    technicalAccountId: orgId === null ? null : 'tech@techacct.example',
  });
  return { clientId: issued.record.clientId, secret: issued.clientSecret };
}

/** `Basic base64(form-urlencoded id ":" form-urlencoded secret)` (RFC 6749 §2.3.1). */
export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export const FORM = 'application/x-www-form-urlencoded';

/** POSTs a form to `path` (default the token endpoint). */
export function postForm(
  url: string,
  body: string,
  headers: Record<string, string | string[]> = {},
  path = '/oauth2/token',
): Promise<Answer> {
  return send(url, { method: 'POST', path, body, headers: { 'content-type': FORM, ...headers } });
}

/** The token response of a successful client_credentials request. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope: string;
}

/** Gets an access token with client_secret_basic; throws unless 200. */
export async function getToken(url: string, client: TestClient, scope?: string): Promise<string> {
  const body = `grant_type=client_credentials${scope === undefined ? '' : `&scope=${encodeURIComponent(scope)}`}`;
  const answer = await postForm(url, body, { authorization: basic(client.clientId, client.secret) });
  if (answer.status !== 200) throw new Error(`token request failed: ${answer.status} ${answer.body}`);
  return answer.json<TokenResponse>().access_token;
}

/** Signs `claims` with the store's active signing key (as the gateway would), header overridable. */
export async function signWithGatewayKey(
  store: CredentialStore,
  claims: JWTPayload,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  const active = (await store.signingKeys.list()).find((k) => k.retiredAt === null);
  if (active === undefined || active.privateJwk === null) throw new Error('no active signing key');
  const key = await importJWK(active.privateJwk, active.alg);
  return new SignJWT(claims).setProtectedHeader({ alg: active.alg, kid: active.kid, typ: 'at+jwt', ...header }).sign(key);
}

/** Valid claims for `client` (seconds since the epoch), overridable. */
export function claimsFor(client: TestClient, overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: client.clientId,
    client_id: client.clientId,
    scope: 'read-write',
    iat: now,
    exp: now + 600,
    jti: `test-${Math.random().toString(36).slice(2)}`,
    ...overrides,
  };
}

/** Decodes a JWT's header and payload without verifying (tests only). */
export function decode(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header = '', payload = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

/** GET (or another method) on a proxied route with a bearer token. */
export function callApi(url: string, token: string, options: { method?: string; path?: string } = {}): Promise<Answer> {
  return send(url, { method: options.method ?? 'GET', path: options.path ?? '/api/items', headers: { authorization: `Bearer ${token}` } });
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
