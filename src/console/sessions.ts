/**
 * Console sessions (docs/console.md): a sign-in trades a credential for a random session id in an
 * `HttpOnly; SameSite=Strict` cookie. The store keeps only the SHA-256 of the id, shared by every
 * worker and instance; each use checks the idle time and the credential again (a revoked token,
 * a disabled account or a narrowed scope take effect on the next call), and yields the same
 * Principal a Bearer call with that token would.
 *
 * Cross-site requests are refused twice: a cookie-authenticated call must come from the
 * listener's own origin (`Origin`, `Sec-Fetch-Site`) AND carry the session's CSRF token in
 * `X-CSRF-Token`. The token is derived from the session id (a different hash than the stored
 * one), so it needs no storage and dies with the session.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { CredentialStore } from '../credentials/index.js';
import type { SessionRecord } from '../credentials/store.js';
import { narrowerScope } from '../credentials/scope.js';
import { hashSecret } from '../credentials/secrets.js';
import { GatewayError } from '../errors.js';
import type { Principal } from '../types.js';

/** The header a cookie-authenticated call carries its CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';

/** An opened or resumed session: who, and the CSRF token the page sends back. */
export interface ConsoleSession {
  readonly principal: Principal;
  readonly csrfToken: string;
}

export interface ConsoleSessionsOptions {
  /** Whether the admin listener serves TLS: the cookie is then `Secure` and `__Host-` prefixed. */
  readonly tls: boolean;
  /** `admin.sessionIdleTimeout` in ms, read on each call (reloads apply at once). */
  readonly idleMs: () => number;
  readonly now?: () => number;
}

export interface ConsoleSessions {
  /** The cookie's name (it depends on TLS). */
  readonly cookieName: string;
  /**
   * Opens a session for a principal verified with `secret`; returns it with the `Set-Cookie`
   * value. Only the token's current secret opens one (not a secret in its rotation grace), so a
   * rotation's grace also bounds every session the replaced secret opened.
   */
  open(principal: Principal, secret: string): Promise<ConsoleSession & { readonly setCookie: string }>;
  /** Whether the request carries a session cookie at all (then it must be a valid one). */
  hasCookie(req: IncomingMessage): boolean;
  /**
   * The session of a cookie-authenticated call, after the cross-site checks (`csrf`: whether the
   * call must carry the CSRF token; only reading the session itself does not). Throws
   * `console.cross_site` or `console.session_required`.
   */
  resume(req: IncomingMessage, csrf: boolean): Promise<ConsoleSession>;
  /** Ends the request's session on the server; returns the `Set-Cookie` value that clears it. */
  end(req: IncomingMessage): Promise<string>;
}

const SESSION_ID_BYTES = 32;
const SESSION_ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

function digest(label: string, id: string): Buffer {
  return createHash('sha256').update(label).update('\0').update(id).digest();
}

/** The store key: never the id itself, so a copy of the store opens no session. */
const idHashOf = (id: string): Buffer => digest('portcullis console session', id);
const csrfTokenOf = (id: string): string => digest('portcullis console csrf', id).toString('base64url');

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Every value of the named cookie in the request's `Cookie` header(s). */
function cookieValues(req: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] ?? '').toLowerCase() !== 'cookie') continue;
    for (const pair of (raw[i + 1] ?? '').split(';')) {
      const eq = pair.indexOf('=');
      if (eq !== -1 && pair.slice(0, eq).trim() === name) values.push(pair.slice(eq + 1).trim());
    }
  }
  return values;
}

function headerValues(req: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] ?? '').toLowerCase() === name) values.push(raw[i + 1] ?? '');
  return values;
}

const crossSite = (detail: string): GatewayError => new GatewayError('console.cross_site', detail);
const sessionRequired = (detail: string): GatewayError => new GatewayError('console.session_required', detail);

/**
 * Refuses a request a browser sent on behalf of another site: an `Origin` other than the
 * listener's own (as the browser addressed it: `Host`), or `Sec-Fetch-Site` other than
 * same-origin. Browsers always send `Origin` on a cross-origin POST; both headers are checked so
 * that either one suffices. Duplicates are refused: a proxy in between could pick either.
 */
export function requireSameOrigin(req: IncomingMessage, tls: boolean): void {
  const origins = headerValues(req, 'origin');
  const sites = headerValues(req, 'sec-fetch-site');
  const hosts = headerValues(req, 'host');
  if (origins.length > 1 || sites.length > 1 || hosts.length !== 1)
    throw crossSite('The request names its origin more than once, or has no single Host.');
  const origin = origins[0];
  if (origin !== undefined && origin !== `${tls ? 'https' : 'http'}://${hosts[0]}`) {
    throw crossSite('The request comes from another origin than the console.');
  }
  const site = sites[0];
  if (site !== undefined && site !== 'same-origin') throw crossSite('The browser says the request comes from another site.');
}

export function createConsoleSessions(store: CredentialStore, options: ConsoleSessionsOptions): ConsoleSessions {
  const now = options.now ?? Date.now;
  // __Host-: the browser accepts it only when Secure, for this host alone, with Path=/ (RFC 6265bis).
  const cookieName = options.tls ? '__Host-portcullis_session' : 'portcullis_session';
  const attributes = `Path=/; HttpOnly; SameSite=Strict${options.tls ? '; Secure' : ''}`;

  /** The principal a Bearer call with this token would get, from the store's current state. */
  async function principalOf(session: SessionRecord): Promise<Principal | undefined> {
    const token = await store.tokens.get(session.credentialId);
    if (token === undefined || token.revokedAt !== null) return undefined;
    if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now()) return undefined;
    // Past its sunset a Bearer call with the token is refused: so is its session.
    if (token.deprecation !== null && Date.parse(token.deprecation.sunset) <= now()) return undefined;
    // A session opened before the token's last rotation was opened with the replaced secret (open()
    // takes only the current one): it lives no longer than that secret's grace, so a rotation after
    // a leak also ends the thief's session. (After the grace the record shows no grace end.)
    if (token.rotatedAt !== null) {
      const graceEnd = Date.parse(token.previousSecretValidUntil ?? token.rotatedAt);
      if (session.createdAt <= graceEnd && graceEnd <= now()) return undefined;
    }
    let scope = token.scope;
    if (token.account !== null) {
      const account = await store.accounts.get(token.account);
      if (account === undefined || account.disabled) return undefined;
      scope = narrowerScope(scope, account.scope);
    }
    if (!token.owner && scope !== 'admin') return undefined;
    return Object.freeze({
      kind: 'api_token',
      scheme: 'bearer',
      subject: token.account ?? token.id,
      scope,
      credentialId: token.id,
      ...(token.account === null ? {} : { account: token.account }),
      ...(token.owner ? { owner: true as const } : {}),
    });
  }

  function sessionId(req: IncomingMessage): string {
    const values = cookieValues(req, cookieName);
    if (values.length === 0) throw sessionRequired('Sign in to the console.');
    // Two cookies of one name: one may have been planted by a sibling host; trust neither.
    if (values.length > 1) throw sessionRequired('The request carries more than one session cookie; sign in again.');
    const id = values[0] ?? '';
    if (!SESSION_ID_SHAPE.test(id)) throw sessionRequired('The session cookie is not one this console issued; sign in again.');
    return id;
  }

  return {
    cookieName,
    async open(principal, secret) {
      const record = await store.findTokenByHash(hashSecret(secret));
      if (record === undefined || record.id !== principal.credentialId || !Buffer.from(record.secretHash).equals(hashSecret(secret))) {
        throw sessionRequired('This secret was replaced by a rotation: sign in with the new one.');
      }
      const id = randomBytes(SESSION_ID_BYTES).toString('base64url');
      await store.sessions.open(idHashOf(id), principal.credentialId, now() - options.idleMs());
      return { principal, csrfToken: csrfTokenOf(id), setCookie: `${cookieName}=${id}; ${attributes}` };
    },
    hasCookie: (req) => cookieValues(req, cookieName).length > 0,
    async resume(req, csrf) {
      requireSameOrigin(req, options.tls);
      const id = sessionId(req);
      if (csrf) {
        const sent = headerValues(req, CSRF_HEADER);
        if (sent.length !== 1 || !sameText(sent[0] ?? '', csrfTokenOf(id))) {
          throw crossSite('The X-CSRF-Token header is missing or does not match the session.');
        }
      }
      const hash = idHashOf(id);
      const session = await store.sessions.use(hash, now() - options.idleMs());
      if (session === undefined) throw sessionRequired('The session has expired or was ended; sign in again.');
      const principal = await principalOf(session);
      if (principal === undefined) {
        await store.sessions.end(hash);
        throw sessionRequired('The credential this session was opened with no longer works; sign in again.');
      }
      return { principal, csrfToken: csrfTokenOf(id) };
    },
    async end(req) {
      const values = cookieValues(req, cookieName);
      for (const id of values) if (SESSION_ID_SHAPE.test(id)) await store.sessions.end(idHashOf(id));
      return `${cookieName}=; ${attributes}; Max-Age=0`;
    },
  };
}
