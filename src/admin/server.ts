/**
 * The admin API (docs/http.md "The admin API") on its own listener: the CLI's operations as JSON
 * over HTTP, for callers holding a token of scope `admin`, or an account owner's token for its own
 * account's tokens (owner-policy.ts). Errors are problem+json with the codes of docs/errors.md;
 * the OpenAPI description is served at `GET /openapi.json` without authentication.
 *
 * The same listener serves the web console at `/` (docs/console.md): its static files, and its
 * sessions under `/console/session`. A call authenticated by the session cookie instead of
 * `Authorization` gets the same Principal, after the cross-site checks of console/sessions.ts.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { RoutePolicy } from '../config/types.js';
import { isStoreError } from '../credentials/index.js';
import { GatewayError } from '../errors.js';
import { readBody } from '../listen/read-body.js';
import { requestIdOf } from '../listen/request-id.js';
import { unmappedAddress } from '../limit/address-key.js';
import { asGatewayError, sendProblem } from '../listen/send-problem.js';
import type { Authenticate, Principal } from '../types.js';
import { challengesFor } from '../authenticate/challenges.js';
import { checkOwnSunset } from '../rollout/deprecation.js';
import { ADMIN_OPENAPI } from './openapi.js';
import { type AdminOperations, InvalidInputError, readInput, RefusedOperationError, requireScope } from './operations.js';
import { type AuditActor, credentialActor } from '../credentials/audit.js';
import type { ReportInternalError } from '../observe/internal-errors.js';
import type { PresentedCredentialVerifier } from '../authenticate/verifier.js';
import { type ConsoleSessions, requireSameOrigin } from '../console/sessions.js';
import { type ConsoleFiles, HARDENING_HEADERS, sendStatic } from '../console/static-files.js';
import { OWNER_RULES, ownerForbidden, type OwnerLookups, type OwnerRule } from './owner-policy.js';
import { routeJson, type RouteJson } from './routes-json.js';

const BODY_LIMIT = 64 * 1024;

/** The admin listener's own policy: Bearer tokens only, every call authenticated. */
const ADMIN_ROUTE: RoutePolicy = {
  name: 'admin',
  index: -1,
  host: { kind: 'any' },
  pathPrefix: '',
  methods: undefined,
  upstream: { origin: '', hostname: '', port: 0, servername: '', hostHeader: '', basePath: '', ca: undefined },
  auth: 'required',
  access: 'read-write',
  credentials: new Set(['bearer'] as const),
  requiredHeaders: [],
  requiredQuery: [],
  identityMatch: [],
  timeoutMs: 0,
  websocket: 'read-write',
  readsWithBody: false,
  mode: 'enforce',
  deprecated: {},
};

type Body = Record<string, unknown>;
/** `actor`: the caller, recorded with every change (docs/audit.md). */
type Handler = (ops: AdminOperations, params: string[], body: Body, query: URLSearchParams, actor: AuditActor) => Promise<object>;

interface Endpoint {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  readonly status: number;
  readonly handle: Handler;
  /** Whether (and how narrowed) an account owner may call it; absent: admins only. */
  readonly owner?: OwnerRule;
}

const ID = '([^/]+)';
const ENDPOINTS: readonly Endpoint[] = [
  { method: 'GET', pattern: /^\/v1\/accounts$/, status: 200, handle: (ops) => ops.accountsList() },
  {
    method: 'POST',
    pattern: /^\/v1\/accounts$/,
    status: 201,
    handle: (ops, _p, b, _q, a) => ops.accountsCreate(a, typeof b.name === 'string' ? b.name : '', requireScope(b.scope)),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/accounts/${ID}/scope$`),
    status: 200,
    handle: (ops, [name], b, _q, a) => ops.accountsSetScope(a, name ?? '', requireScope(b.scope)),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/accounts/${ID}/disable$`),
    status: 200,
    handle: (ops, [name], _b, _q, a) => ops.accountsDisable(a, name ?? ''),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/accounts/${ID}/enable$`),
    status: 200,
    handle: (ops, [name], _b, _q, a) => ops.accountsEnable(a, name ?? ''),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/tokens$/,
    status: 200,
    handle: (ops, _p, _b, q) => ops.tokensList(q.get('account') ?? undefined),
    owner: OWNER_RULES.tokensList,
  },
  {
    method: 'POST',
    pattern: /^\/v1\/tokens$/,
    status: 201,
    handle: (ops, _p, b, _q, a) => ops.tokensCreate(a, readInput.tokenCreate(b)),
    owner: OWNER_RULES.tokensCreate,
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/tokens/${ID}/revoke$`),
    status: 200,
    handle: (ops, [id], _b, _q, a) => ops.tokensRevoke(a, id ?? ''),
    owner: OWNER_RULES.tokensRevoke,
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/tokens/${ID}/rotate$`),
    status: 200,
    handle: (ops, [id], b, _q, a) => ops.tokensRotate(a, id ?? '', readInput.graceMs(b)),
    owner: OWNER_RULES.tokensRotate,
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/tokens/${ID}/deprecate$`),
    status: 200,
    handle: (ops, [id], b, _q, a) => ops.tokensDeprecate(a, id ?? '', readInput.deprecation(b)),
  },
  { method: 'GET', pattern: /^\/v1\/clients$/, status: 200, handle: (ops) => ops.clientsList() },
  {
    method: 'POST',
    pattern: /^\/v1\/clients$/,
    status: 201,
    handle: (ops, _p, b, _q, a) => ops.clientsCreate(a, readInput.clientCreate(b)),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/clients/${ID}/revoke$`),
    status: 200,
    handle: (ops, [id], _b, _q, a) => ops.clientsRevoke(a, id ?? ''),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/clients/${ID}/rotate-secret$`),
    status: 200,
    handle: (ops, [id], b, _q, a) => ops.clientsRotateSecret(a, id ?? '', readInput.graceMs(b)),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/clients/${ID}/deprecate$`),
    status: 200,
    handle: (ops, [id], b, _q, a) => ops.clientsDeprecate(a, id ?? '', readInput.deprecation(b)),
  },
  { method: 'GET', pattern: /^\/v1\/deprecations$/, status: 200, handle: (ops) => ops.deprecationsList() },
  { method: 'GET', pattern: /^\/v1\/signing-keys$/, status: 200, handle: (ops) => ops.signingKeysList() },
  { method: 'POST', pattern: /^\/v1\/signing-keys\/rotate$/, status: 200, handle: (ops, _p, _b, _q, a) => ops.signingKeysRotate(a) },
  {
    method: 'GET',
    pattern: /^\/v1\/audit$/,
    status: 200,
    handle: async (ops, _p, _b, q) => ({
      entries: await ops.auditList({
        since: single(q, 'since'),
        limit: single(q, 'limit'),
        actor: single(q, 'actor'),
        action: single(q, 'action'),
      }),
    }),
  },
];

/** A query parameter given at most once (a repeated one is ambiguous: refused). */
function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw new GatewayError('admin.invalid_request', `The query parameter ${name} is given more than once.`);
  return values[0];
}

/**
 * The caller's address for the audit trail: the TCP peer of the admin listener (it does not
 * honour X-Forwarded-For: `trustedProxies` applies to the proxy listener only). An IPv4 peer on a
 * dual-stack socket is shown as IPv4.
 */
function peerAddressOf(req: IncomingMessage): string | null {
  const address = req.socket.remoteAddress;
  if (address === undefined || address === '') return null;
  return unmappedAddress(address);
}

function sendJson(res: ServerResponse, status: number, value: unknown, requestId: string, extra: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...HARDENING_HEADERS,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    ...extra,
  });
  res.end(body);
}

/** Store failures and input errors as admin API codes; messages name ids, never secrets. */
function translate(error: unknown): GatewayError {
  if (error instanceof InvalidInputError) return new GatewayError('admin.invalid_request', error.message);
  if (error instanceof RefusedOperationError) return new GatewayError('admin.conflict', error.message);
  if (isStoreError(error)) {
    switch (error.reason) {
      case 'not_found':
        return new GatewayError('admin.not_found', error.message);
      case 'conflict':
      case 'revoked':
      case 'disabled':
        return new GatewayError('admin.conflict', error.message);
      case 'invalid_argument':
        return new GatewayError('admin.invalid_request', error.message);
      default:
        return new GatewayError('auth.store_unavailable', 'The credential store cannot be reached.');
    }
  }
  return asGatewayError(error);
}

async function parseJsonBody(req: IncomingMessage, timeoutMs: number): Promise<Body> {
  const raw = await readBody(req, BODY_LIMIT, timeoutMs);
  if (raw.length === 0) return {};
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new GatewayError('admin.invalid_request', 'The body must be application/json.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new GatewayError('admin.invalid_request', 'The body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError('admin.invalid_request', 'The body must be a JSON object.');
  }
  return parsed as Body;
}

/** Path and query of the request target, split by hand: a URL parser would read `//host/…` as an authority. */
function parseAdminTarget(target: string): { readonly pathname: string; readonly searchParams: URLSearchParams } {
  const query = target.indexOf('?');
  return {
    pathname: query === -1 ? target : target.slice(0, query),
    searchParams: new URLSearchParams(query === -1 ? '' : target.slice(query + 1)),
  };
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new GatewayError('admin.invalid_request', 'A path parameter has an invalid percent-encoding.');
  }
}

/** Used when no `bodyReadTimeoutMs` is given: the default of `limits.bodyReadTimeout`. */
const DEFAULT_BODY_READ_TIMEOUT_MS = 10_000;

/** The web console's parts, when the admin listener serves it (`admin.console`). */
export interface AdminConsole {
  readonly files: ConsoleFiles;
  readonly sessions: ConsoleSessions;
  /** Checks the credential given at sign-in (the gateway's own verifier, cache included). */
  readonly verifier: PresentedCredentialVerifier;
  /** The failed-attempt throttle's view of `verifier` for a request's client address (src/limit/auth-throttle.ts). */
  readonly throttle?: ((req: IncomingMessage, verifier: PresentedCredentialVerifier) => PresentedCredentialVerifier) | undefined;
}

export interface AdminHandlerOptions {
  /** Serves the console at `/` and accepts its session cookie. */
  readonly console?: AdminConsole;
  /** What the owner rules read (tokens and accounts by name), from the store. */
  readonly lookups?: OwnerLookups;
  /** The routes currently loaded, for `GET /v1/routes` (reloads apply at once). */
  readonly routes?: () => readonly RoutePolicy[];
  /** An unexpected failure answered `internal.error` (logged against the request id). */
  readonly onInternalError?: ReportInternalError;
  /** `limits.bodyReadTimeout`: longest a request body may take to arrive, in milliseconds. */
  readonly bodyReadTimeoutMs?: () => number;
}

/** The session as the page sees it: who is signed in, and the token its calls carry. */
function sessionJson(principal: Principal, csrfToken: string): object {
  return {
    credentialId: principal.credentialId,
    account: principal.account ?? null,
    scope: principal.scope,
    owner: principal.owner === true,
    csrfToken,
  };
}

function hasAuthorization(req: IncomingMessage): boolean {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] ?? '').toLowerCase() === 'authorization') return true;
  return false;
}

export function createAdminHandler(ops: AdminOperations, authenticate: Authenticate, options: AdminHandlerOptions = {}): RequestListener {
  const consoleParts = options.console;
  const tls = (req: IncomingMessage): boolean => 'encrypted' in req.socket && req.socket.encrypted === true;
  const bodyTimeout = (): number => options.bodyReadTimeoutMs?.() ?? DEFAULT_BODY_READ_TIMEOUT_MS;

  /** Bearer (or Basic) as before; without Authorization, the console session cookie. */
  const principalOf = async (req: IncomingMessage): Promise<Principal> => {
    if (consoleParts !== undefined && !hasAuthorization(req) && consoleParts.sessions.hasCookie(req)) {
      const principal = (await consoleParts.sessions.resume(req, true)).principal;
      checkOwnSunset(principal, Date.now());
      return principal;
    }
    const principal = await authenticate(ADMIN_ROUTE, req);
    // An access token carries its client's deprecation: past the sunset it is refused here too.
    checkOwnSunset(principal, Date.now(), { 'www-authenticate': challengesFor(ADMIN_ROUTE.credentials, 'invalid_token') });
    return principal;
  };

  /** Admins may call everything; an owner what its rule lets through (narrowed in place). */
  const allow = async (
    principal: Principal,
    endpoint: Endpoint,
    call: { params: string[]; body: Body; query: URLSearchParams },
  ): Promise<void> => {
    if (principal.owner === true && principal.account !== undefined) {
      if (endpoint.owner === undefined || options.lookups === undefined) {
        throw ownerForbidden('An account owner manages its own tokens only; this is an admin operation.');
      }
      await endpoint.owner({ ...principal, account: principal.account }, call, options.lookups);
      return;
    }
    if (principal.scope !== 'admin') {
      throw new GatewayError('auth.insufficient_scope', 'The admin API needs a token of scope admin.', {
        'www-authenticate': challengesFor(ADMIN_ROUTE.credentials, 'insufficient_scope', 'admin'),
      });
    }
  };

  /** The console's own endpoints; true when `req` was one of them. */
  const serveConsole = async (req: IncomingMessage, res: ServerResponse, pathname: string, requestId: string): Promise<boolean> => {
    if (consoleParts === undefined) return false;
    const method = req.method ?? '';
    const file = method === 'GET' || method === 'HEAD' ? consoleParts.files.lookup(pathname) : undefined;
    if (file !== undefined) {
      sendStatic(res, file, requestId, method === 'HEAD');
      return true;
    }
    if (pathname === '/console/session') {
      if (method === 'GET') {
        const session = await consoleParts.sessions.resume(req, false);
        sendJson(res, 200, sessionJson(session.principal, session.csrfToken), requestId);
        return true;
      }
      if (method !== 'POST') throw new GatewayError('method.not_allowed', 'Use GET or POST.', { allow: 'GET, POST' });
      requireSameOrigin(req, tls(req));
      const body = await parseJsonBody(req, bodyTimeout());
      const credential = body.credential;
      if (typeof credential !== 'string' || credential.trim() === '')
        throw new GatewayError('admin.invalid_request', 'credential is required');
      // Behind the failure throttle as the Authorization header is: sign-in is no way around it.
      const verifier = consoleParts.throttle?.(req, consoleParts.verifier) ?? consoleParts.verifier;
      const principal = await verifier.verify({ scheme: 'bearer', token: credential.trim() });
      if (principal.kind !== 'api_token' || (principal.scope !== 'admin' && principal.owner !== true)) {
        throw new GatewayError('auth.insufficient_scope', "The console needs an admin token or an account owner's token.");
      }
      const opened = await consoleParts.sessions.open(principal, credential.trim());
      sendJson(res, 201, sessionJson(opened.principal, opened.csrfToken), requestId, { 'set-cookie': opened.setCookie });
      return true;
    }
    if (pathname === '/console/sign-out') {
      if (method !== 'POST') throw new GatewayError('method.not_allowed', 'Use POST.', { allow: 'POST' });
      requireSameOrigin(req, tls(req));
      const clear = await consoleParts.sessions.end(req);
      sendJson(res, 200, { signedOut: true }, requestId, { 'set-cookie': clear });
      return true;
    }
    return false;
  };

  return (req, res) => {
    const requestId = requestIdOf(req);
    void (async () => {
      try {
        const url = parseAdminTarget(req.url ?? '/');
        if (req.method === 'GET' && url.pathname === '/openapi.json') {
          sendJson(res, 200, ADMIN_OPENAPI, requestId);
          return;
        }
        if (await serveConsole(req, res, url.pathname, requestId)) return;
        if (req.method === 'GET' && url.pathname === '/v1/routes' && options.routes !== undefined) {
          const endpoint: Endpoint = { method: 'GET', pattern: /^\/v1\/routes$/, status: 200, handle: () => Promise.resolve({}) };
          await allow(await principalOf(req), endpoint, { params: [], body: {}, query: url.searchParams });
          const routes: RouteJson[] = options.routes().map(routeJson);
          sendJson(res, 200, { routes }, requestId);
          return;
        }
        const candidates = ENDPOINTS.filter((e) => e.pattern.test(url.pathname));
        if (candidates.length === 0) throw new GatewayError('admin.not_found', 'No such admin endpoint.');
        const endpoint = candidates.find((e) => e.method === req.method);
        if (endpoint === undefined) {
          throw new GatewayError('method.not_allowed', `Use ${candidates.map((e) => e.method).join(' or ')}.`, {
            allow: candidates.map((e) => e.method).join(', '),
          });
        }
        const params = (endpoint.pattern.exec(url.pathname) ?? []).slice(1).map(decodeParam);
        // Authenticated before the body is read, as always; the owner rules then see the body.
        const principal = await principalOf(req);
        const body = endpoint.method === 'POST' ? await parseJsonBody(req, bodyTimeout()) : {};
        await allow(principal, endpoint, { params, body, query: url.searchParams });
        const actor = credentialActor(principal.credentialId, peerAddressOf(req));
        const result = await endpoint.handle(ops, params, body, url.searchParams, actor);
        sendJson(res, endpoint.status, result, requestId);
      } catch (error) {
        const problem = translate(error);
        if (problem.code === 'internal.error') options.onInternalError?.(requestId, error);
        // Refusals carry the hardening headers of every other answer of this listener.
        sendProblem(req, res, problem, requestId, HARDENING_HEADERS);
      }
    })();
  };
}
