/**
 * A gateway for console tests: in-process, with a real HTTPS upstream behind a read-write route
 * (`/api`), and an admin token created in its store. Calls to the admin listener speak real HTTP.
 */
import type { TestContext } from 'node:test';
import type { IssuedToken } from '../../src/credentials/store.js';
import { sharedCerts } from './certs.js';
import { type Answer, send } from './client.js';
import { startTestGateway, type TestGateway } from './gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from './upstream.js';

export interface ConsoleGateway {
  readonly gw: TestGateway;
  readonly upstream: RecordingUpstream;
  /** `http://127.0.0.1:PORT` of the admin listener (the console's origin). */
  readonly adminUrl: string;
  /** The proxy listener. */
  readonly proxyUrl: string;
  /** A token of scope admin (its secret). */
  readonly adminToken: string;
  /** Creates a token straight in the store (test setup, not the thing under test). */
  token(input: { label: string; scope: 'read-only' | 'read-write' | 'admin'; account?: string; owner?: boolean }): Promise<IssuedToken>;
  /** Sends to the admin listener. */
  admin(path: string, options?: { method?: string; headers?: Record<string, string | string[]>; body?: string }): Promise<Answer>;
  /** GET or POST through the proxy to `/api/…` with a Bearer token. */
  proxy(method: 'GET' | 'POST', token: string): Promise<Answer>;
}

export async function startConsoleGateway(t: TestContext, adminExtra = '', options: { logLines?: string[] } = {}): Promise<ConsoleGateway> {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const yaml = `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0"${adminExtra} }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./portcullis.db" }
log: { level: silent }
routes:
  - name: api
    match: { path: /api }
    upstream: "${upstream.origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    access: read-write
  - name: status
    match: { path: /status }
    upstream: "${upstream.origin}/health"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    auth: "off"
    access: read-only
`;
  const gw = await startTestGateway(t, yaml, {}, options.logLines === undefined ? {} : { logLines: options.logLines });
  const adminPort = gw.gateway.adminAddress?.port;
  if (adminPort === undefined) throw new Error('the gateway serves no admin listener');
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const store = gw.services.store;
  const adminToken = (await store.tokens.create({ label: 'console-admin', scope: 'admin' })).token;
  return {
    gw,
    upstream,
    adminUrl,
    proxyUrl: gw.url,
    adminToken,
    token: (input) => store.tokens.create(input),
    admin: (path, opts = {}) => send(adminUrl, { path, ...opts }),
    proxy: (method, token) =>
      send(gw.url, {
        method,
        path: '/api/items',
        headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        ...(method === 'POST' ? { body: '{}' } : {}),
      }),
  };
}

/** Signs in over the API as the page does; returns the cookie pair and the CSRF token. */
export async function signInByApi(c: ConsoleGateway, credential: string): Promise<{ cookie: string; csrf: string; answer: Answer }> {
  const answer = await c.admin('/console/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: c.adminUrl, 'sec-fetch-site': 'same-origin' },
    body: JSON.stringify({ credential }),
  });
  const setCookie = answer.headers['set-cookie']?.[0] ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  const csrf = answer.status === 201 ? answer.json<{ csrfToken: string }>().csrfToken : '';
  return { cookie, csrf, answer };
}

/** Headers of a same-origin console call with the session. */
export function sessionHeaders(c: ConsoleGateway, s: { cookie: string; csrf: string }, json = false): Record<string, string> {
  return {
    cookie: s.cookie,
    'x-csrf-token': s.csrf,
    origin: c.adminUrl,
    'sec-fetch-site': 'same-origin',
    ...(json ? { 'content-type': 'application/json' } : {}),
  };
}
