/**
 * Bearer JWTs of external identity providers (`jwt.issuers`): verified against the
 * provider's JWKS, fetched over HTTPS with jose's createRemoteJWKSet.
 *
 * JWKS fetching (docs/oauth.md "External issuers"):
 *   - TLS always verified: the system roots plus `jwksCa` (an undici Agent per issuer, passed to
 *     jose through `customFetch`); redirects are not followed; a body over 1 MiB or one that is
 *     not a JWKS counts as a failed refresh;
 *   - keys are kept until replaced (`cacheMaxAge: Infinity`) and refreshed in the background
 *     every 5 minutes, so a provider that is down never stalls requests whose keys are cached:
 *     a failed refresh keeps the previous keys;
 *   - a token whose `kid` is unknown triggers a refetch, at most once per 30 s cooldown after a
 *     successful fetch, each fetch bounded by a 2 s timeout;
 *   - each fetch is reported (`onJwksRefresh(issuerIndex, 'ok' | 'error')`) for metrics.
 *
 * Verification: asymmetric algorithms only (RS*, PS*, ES*, EdDSA — never `none` or HS*),
 * `iss` and `aud` as configured, `exp` required, `exp`/`nbf` with `oauth.leeway`. `typ` is not
 * required (providers differ); `aud` keeps ID tokens of other clients out.
 *
 * Scope mapping: the configured claim (space-separated string or array). A value listed in
 * `readWriteValues` grants read-write, else one in `readOnlyValues` read-only; a token with
 * neither is refused with 403 `auth.insufficient_scope` (it proves who the caller is, but grants
 * nothing Portcullis knows).
 */
import { createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type FetchImplementation, type JWTPayload, type RemoteJWKSet } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import type { ExternalIssuer } from '../config/types.js';
import type { Scope } from '../credentials/index.js';
import { GatewayError } from '../errors.js';
import type { Principal } from '../types.js';
import { transient, type VerifiedJwt } from './jwt-cache.js';

/** Algorithms accepted from external issuers: asymmetric signatures only. */
export const EXTERNAL_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** Tuning of JWKS fetching; the defaults are documented in the module comment. */
export interface JwksTuning {
  /** Timeout of one JWKS fetch, in ms. Default 2000. */
  readonly timeoutMs?: number;
  /** Least time between a successful fetch and a refetch caused by an unknown kid, in ms. Default 30000. */
  readonly cooldownMs?: number;
  /** Background refresh period, in ms. Default 300000 (5 min). */
  readonly refreshIntervalMs?: number;
}

/** Largest JWKS body accepted, in bytes. */
export const MAX_JWKS_BYTES = 1024 * 1024;

/** The verifiers of every configured external issuer. */
export interface ExternalIssuers {
  /** The index in `jwt.issuers` of the issuer whose `iss` is `iss`, or -1. */
  indexOf(iss: string): number;
  /** Verifies a token of issuer `index`. Rejects GatewayError. */
  verify(index: number, token: string): Promise<VerifiedJwt>;
  /** Fetches every JWKS now (in the background; failures are reported, not thrown). */
  refreshAll(): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link createExternalIssuers}. */
export interface ExternalIssuersOptions {
  readonly issuers: readonly ExternalIssuer[];
  readonly leewayMs: number;
  readonly tuning?: JwksTuning;
  readonly onJwksRefresh?: (issuerIndex: number, result: 'ok' | 'error') => void;
  readonly now?: () => number;
}

/** What a subject or credential id forwarded in X-Portcullis-* headers may be. */
const FORWARDABLE = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;

async function readLimited(response: Response | Awaited<ReturnType<typeof undiciFetch>>): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_JWKS_BYTES) throw new Error('JWKS too large');
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body !== null) {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > MAX_JWKS_BYTES) throw new Error('JWKS too large');
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isJwks(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys);
}

/** The fetch jose uses for one issuer: pinned trust roots, bounded body, reported outcome. */
function jwksFetch(agent: Agent, report: (result: 'ok' | 'error') => void): FetchImplementation {
  return async (url, init) => {
    try {
      const headers: Record<string, string> = {};
      init.headers.forEach((value, name) => {
        headers[name] = value;
      });
      const response = await undiciFetch(url, {
        method: init.method,
        headers,
        redirect: init.redirect,
        signal: init.signal,
        dispatcher: agent,
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`JWKS answered ${response.status}`);
      }
      const text = await readLimited(response);
      if (!isJwks(JSON.parse(text))) throw new Error('not a JWKS');
      report('ok');
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (error) {
      report('error');
      throw error;
    }
  };
}

function scopeOf(payload: JWTPayload, issuer: ExternalIssuer): Scope | undefined {
  const claim = payload[issuer.scopeClaim];
  const values =
    typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim.filter((v): v is string => typeof v === 'string') : [];
  if (values.some((v) => issuer.readWriteValues.includes(v))) return 'read-write';
  if (values.some((v) => issuer.readOnlyValues.includes(v))) return 'read-only';
  return undefined;
}

function credentialIdOf(payload: JWTPayload, token: string): string {
  if (typeof payload.jti === 'string' && FORWARDABLE.test(payload.jti) && payload.jti.length <= 128) return payload.jti;
  return `sha256:${createHash('sha256').update(token).digest('base64url').slice(0, 22)}`;
}

interface IssuerVerifier {
  readonly config: ExternalIssuer;
  readonly jwks: RemoteJWKSet;
  readonly agent: Agent;
}

/** Creates the verifiers; fetches nothing until refreshAll() or the first token. */
export function createExternalIssuers(options: ExternalIssuersOptions): ExternalIssuers {
  const now = options.now ?? Date.now;
  const tuning = options.tuning ?? {};
  const verifiers: IssuerVerifier[] = options.issuers.map((config, index) => {
    const agent = new Agent({
      connect: { rejectUnauthorized: true, ...(config.jwksCa === undefined ? {} : { ca: [...rootCertificates, config.jwksCa] }) },
      keepAliveTimeout: 10_000,
    });
    const report = (result: 'ok' | 'error'): void => {
      try {
        options.onJwksRefresh?.(index, result);
      } catch {
        // Metrics never change a decision.
      }
    };
    const jwks = createRemoteJWKSet(new URL(config.jwksUrl), {
      timeoutDuration: tuning.timeoutMs ?? 2_000,
      cooldownDuration: tuning.cooldownMs ?? 30_000,
      cacheMaxAge: Infinity,
      [customFetch]: jwksFetch(agent, report),
    });
    return { config, jwks, agent };
  });
  const byIssuer = new Map<string, number>();
  verifiers.forEach((v, i) => {
    if (!byIssuer.has(v.config.issuer)) byIssuer.set(v.config.issuer, i);
  });

  const refreshAll = async (): Promise<void> => {
    await Promise.all(verifiers.map((v) => v.jwks.reload().catch(() => undefined)));
  };
  const timer =
    verifiers.length === 0
      ? undefined
      : setInterval(() => {
          void refreshAll();
        }, tuning.refreshIntervalMs ?? 300_000);
  timer?.unref();

  return {
    indexOf: (iss) => byIssuer.get(iss) ?? -1,
    async verify(index, token) {
      const verifier = verifiers[index];
      if (verifier === undefined) throw new GatewayError('auth.invalid_token', 'The token is not valid.');
      const { config } = verifier;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, verifier.jwks, {
          algorithms: [...EXTERNAL_ALGORITHMS],
          issuer: config.issuer,
          audience: config.audience,
          clockTolerance: Math.floor(options.leewayMs / 1000),
          currentDate: new Date(now()),
          requiredClaims: ['iss', 'aud', 'exp', 'sub'],
        }));
      } catch (error) {
        if (error instanceof errors.JWTExpired) {
          const exp = typeof error.payload.exp === 'number' ? new Date(error.payload.exp * 1000).toISOString() : 'an earlier time';
          throw new GatewayError('auth.token_expired', `The token expired at ${exp}.`);
        }
        // The provider could not be reached for a key we do not have: do not remember the refusal.
        if (error instanceof errors.JWKSTimeout || (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC')) {
          throw transient(new GatewayError('auth.invalid_token', "The token issuer's keys cannot be fetched."));
        }
        if (error instanceof errors.JWKSNoMatchingKey) throw transient(new GatewayError('auth.invalid_token', 'The token is not valid.'));
        if (!(error instanceof errors.JOSEError))
          throw transient(new GatewayError('auth.invalid_token', "The token issuer's keys cannot be fetched."));
        throw new GatewayError('auth.invalid_token', 'The token is not valid.');
      }
      const { sub, exp } = payload;
      if (typeof sub !== 'string' || !FORWARDABLE.test(sub) || typeof exp !== 'number') {
        throw new GatewayError('auth.invalid_token', "The token's subject cannot be forwarded.");
      }
      const scope = scopeOf(payload, config);
      if (scope === undefined) {
        throw new GatewayError('auth.insufficient_scope', 'The token carries no scope that Portcullis maps to read-only or read-write.');
      }
      const principal: Principal = Object.freeze({
        kind: 'external_jwt',
        scheme: 'bearer',
        subject: sub,
        scope,
        credentialId: credentialIdOf(payload, token),
        issuer: config.issuer,
      });
      const expiresAt = exp * 1000;
      return {
        principal,
        expiresAt,
        validUntil: expiresAt + Math.floor(options.leewayMs / 1000) * 1000,
        clientId: null,
        jti: null,
        claims: null,
      };
    },
    refreshAll,
    async close() {
      if (timer !== undefined) clearInterval(timer);
      await Promise.all(verifiers.map((v) => v.agent.close().catch(() => v.agent.destroy())));
    },
  };
}
