/**
 * The admin API (SPEC §6) on its own listener: the CLI's operations as JSON over HTTP, for
 * callers holding a token of scope `admin`. Errors are problem+json with SPEC §3 codes; the
 * OpenAPI description is served at `GET /openapi.json` without authentication.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { RoutePolicy } from '../config/types.js';
import { isStoreError } from '../credentials/index.js';
import { GatewayError } from '../errors.js';
import { readBody } from '../listen/read-body.js';
import { requestIdOf } from '../listen/request-id.js';
import { asGatewayError, sendProblem } from '../listen/send-problem.js';
import type { Authenticate, Principal } from '../types.js';
import { challengesFor } from '../authenticate/challenges.js';
import { ADMIN_OPENAPI } from './openapi.js';
import { type AdminOperations, InvalidInputError, readInput, requireScope } from './operations.js';
import type { ReportInternalError } from '../observe/internal-errors.js';

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
};

type Body = Record<string, unknown>;
type Handler = (ops: AdminOperations, params: string[], body: Body, query: URLSearchParams) => Promise<object>;

interface Endpoint {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  readonly status: number;
  readonly handle: Handler;
}

const ID = '([^/]+)';
const ENDPOINTS: readonly Endpoint[] = [
  { method: 'GET', pattern: /^\/v1\/accounts$/, status: 200, handle: (ops) => ops.accountsList() },
  { method: 'POST', pattern: /^\/v1\/accounts$/, status: 201, handle: (ops, _p, b) => ops.accountsCreate(typeof b.name === 'string' ? b.name : '', requireScope(b.scope)) },
  { method: 'POST', pattern: new RegExp(`^/v1/accounts/${ID}/scope$`), status: 200, handle: (ops, [name], b) => ops.accountsSetScope(name ?? '', requireScope(b.scope)) },
  { method: 'POST', pattern: new RegExp(`^/v1/accounts/${ID}/disable$`), status: 200, handle: (ops, [name]) => ops.accountsDisable(name ?? '') },
  { method: 'POST', pattern: new RegExp(`^/v1/accounts/${ID}/enable$`), status: 200, handle: (ops, [name]) => ops.accountsEnable(name ?? '') },
  { method: 'GET', pattern: /^\/v1\/tokens$/, status: 200, handle: (ops, _p, _b, q) => ops.tokensList(q.get('account') ?? undefined) },
  { method: 'POST', pattern: /^\/v1\/tokens$/, status: 201, handle: (ops, _p, b) => ops.tokensCreate(readInput.tokenCreate(b)) },
  { method: 'POST', pattern: new RegExp(`^/v1/tokens/${ID}/revoke$`), status: 200, handle: (ops, [id]) => ops.tokensRevoke(id ?? '') },
  { method: 'POST', pattern: new RegExp(`^/v1/tokens/${ID}/rotate$`), status: 200, handle: (ops, [id], b) => ops.tokensRotate(id ?? '', readInput.graceMs(b)) },
  { method: 'GET', pattern: /^\/v1\/clients$/, status: 200, handle: (ops) => ops.clientsList() },
  { method: 'POST', pattern: /^\/v1\/clients$/, status: 201, handle: (ops, _p, b) => ops.clientsCreate(readInput.clientCreate(b)) },
  { method: 'POST', pattern: new RegExp(`^/v1/clients/${ID}/revoke$`), status: 200, handle: (ops, [id]) => ops.clientsRevoke(id ?? '') },
  { method: 'POST', pattern: new RegExp(`^/v1/clients/${ID}/rotate-secret$`), status: 200, handle: (ops, [id], b) => ops.clientsRotateSecret(id ?? '', readInput.graceMs(b)) },
];

function sendJson(res: ServerResponse, status: number, value: unknown, requestId: string): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
  });
  res.end(body);
}

/** Store failures and input errors as admin API codes; messages name ids, never secrets. */
function translate(error: unknown): GatewayError {
  if (error instanceof InvalidInputError) return new GatewayError('admin.invalid_request', error.message);
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

export interface AdminHandlerOptions {
  /** An unexpected failure answered `internal.error` (logged against the request id). */
  readonly onInternalError?: ReportInternalError;
  /** `limits.bodyReadTimeout`: longest a request body may take to arrive, in milliseconds. */
  readonly bodyReadTimeoutMs?: () => number;
}

export function createAdminHandler(ops: AdminOperations, authenticate: Authenticate, options: AdminHandlerOptions = {}): RequestListener {
  const requireAdmin = async (req: IncomingMessage): Promise<Principal> => {
    const principal = await authenticate(ADMIN_ROUTE, req);
    if (principal.scope !== 'admin') {
      throw new GatewayError('auth.insufficient_scope', 'The admin API needs a token of scope admin.', {
        'www-authenticate': challengesFor(ADMIN_ROUTE.credentials, 'insufficient_scope', 'admin'),
      });
    }
    return principal;
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
        const candidates = ENDPOINTS.filter((e) => e.pattern.test(url.pathname));
        if (candidates.length === 0) throw new GatewayError('admin.not_found', 'No such admin endpoint.');
        const endpoint = candidates.find((e) => e.method === req.method);
        if (endpoint === undefined) {
          throw new GatewayError('method.not_allowed', `Use ${candidates.map((e) => e.method).join(' or ')}.`, {
            allow: candidates.map((e) => e.method).join(', '),
          });
        }
        await requireAdmin(req);
        const params = (endpoint.pattern.exec(url.pathname) ?? []).slice(1).map(decodeParam);
        const body = endpoint.method === 'POST' ? await parseJsonBody(req, options.bodyReadTimeoutMs?.() ?? DEFAULT_BODY_READ_TIMEOUT_MS) : {};
        const result = await endpoint.handle(ops, params, body, url.searchParams);
        sendJson(res, endpoint.status, result, requestId);
      } catch (error) {
        const problem = translate(error);
        if (problem.code === 'internal.error') options.onInternalError?.(requestId, error);
        sendProblem(req, res, problem, requestId);
      }
    })();
  };
}
