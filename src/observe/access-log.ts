/**
 * The access log: one JSON line per request on the proxy listener, written when the
 * response closes (so refused and aborted requests are logged too), through the process's pino
 * logger. docs/logging.md lists the fields; a test compares the two.
 *
 * Never logged: headers (Authorization, Cookie, …), query parameter values other than those
 * listed in `log.queryValues`, request or response bodies. As defence in depth, anything in the
 * path or in a query parameter name shaped like a Portcullis secret (`pcl_…`, `pcs_…`) or a JWT
 * is masked: a client that pastes a token into a URL must not put it into the log.
 */
import type { Socket } from 'node:net';
import type { TrustedProxies } from '../config/types.js';
import { compileTrustedProxies } from '../config/trusted-proxies.js';
import { unmappedAddress } from '../limit/address-key.js';
import { clientAddressBehind } from '../limit/client-address.js';
import type { RequestContext } from '../types.js';
import { lineSinkOf, loggerBindings, type Logger } from './logger.js';
import { NO_ROUTE } from './labels.js';

/** One access-log line (pino adds `level`, `time` and the logger's base fields). */
export interface AccessLine {
  readonly event: 'http.access';
  /** X-Request-Id: the client's when sane, else generated. */
  readonly requestId: string;
  /** Route name, or `none`. */
  readonly route: string;
  readonly method: string;
  /** Path and query parameter names (values only for `log.queryValues`). */
  readonly path: string;
  /** Status code sent; 499 when the client left before a response. */
  readonly status: number;
  /** Arrival to response close, in milliseconds (µs precision). */
  readonly durationMs: number;
  /** Upstream request sent to upstream response headers, in milliseconds; null when not forwarded. */
  readonly upstreamMs: number | null;
  /** Id of the credential that authenticated the request (token id, client id, `jti`); never a secret. */
  readonly credentialId: string | null;
  /** `ok` or the error code (docs/errors.md) the request ended with. */
  readonly decision: string;
  /** On a route in shadow mode: the code the request would have been refused with; else null. */
  readonly shadow: string | null;
  /** Bytes read from the client connection for this request (head and body). */
  readonly bytesIn: number;
  /** Bytes written to the client connection for this request (head and body). */
  readonly bytesOut: number;
  /**
   * The address the request came from, as rate limits and the failure throttle see it: the peer,
   * or behind a trusted proxy the address it forwarded for. IPv4-mapped IPv6 shown as IPv4; null
   * when the connection had none.
   */
  readonly clientAddress: string | null;
}

export interface AccessLog {
  /** Logs a request whose response closed at `endedAt` (process.hrtime.bigint()). */
  write(ctx: RequestContext, status: number, endedAt: bigint): void;
  /** Sets the query parameters whose values are logged (`log.queryValues`). */
  setQueryValues(names: readonly string[]): void;
  /** Sets the proxies whose `X-Forwarded-For` names the client (`trustedProxies`). */
  setTrustedProxies(trusted: TrustedProxies): void;
}

/** Longest path logged, in characters; longer ones are cut and marked with `…`. */
export const MAX_LOGGED_PATH = 2048;
/** Most query parameters logged per request; more are summarised by `&…`. */
export const MAX_LOGGED_PARAMS = 64;
/** Longest query parameter name logged; a longer one is masked. */
export const MAX_LOGGED_PARAM_NAME = 64;
/** Longest allow-listed query value logged; longer ones are cut and marked with `…`. */
export const MAX_LOGGED_VALUE = 256;

const SECRET_SHAPES = /pc[ls]_[0-9A-Za-z]{8,}|eyJ[0-9A-Za-z_-]{8,}(?:\.[0-9A-Za-z_-]*){1,2}/g;
const SECRET_HINT = /pc[ls]_|eyJ/;
export const MASK = '[redacted]';

/** Masks substrings shaped like Portcullis secrets or JWTs. */
export function maskSecretShapes(text: string): string {
  return SECRET_HINT.test(text) ? text.replace(SECRET_SHAPES, MASK) : text;
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function decodedName(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/**
 * The logged form of a query string (`?a=1&b=2`, or `''`): parameter names only, in order, with
 * the value kept for names in `allowed` (compared after percent-decoding).
 */
export function loggedQuery(search: string, allowed: ReadonlySet<string>): string {
  if (search.length <= 1) return '';
  const parts = search.slice(1).split('&');
  let out = '';
  let count = 0;
  for (const part of parts) {
    if (part.length === 0) continue;
    if (count === MAX_LOGGED_PARAMS) {
      out += '&…';
      break;
    }
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    const shown = name.length > MAX_LOGGED_PARAM_NAME ? MASK : maskSecretShapes(name);
    out += count === 0 ? '?' : '&';
    out += shown;
    if (eq !== -1 && allowed.size > 0 && allowed.has(decodedName(name)))
      out += `=${cut(maskSecretShapes(part.slice(eq + 1)), MAX_LOGGED_VALUE)}`;
    count++;
  }
  return out;
}

/** The logged path: the normalised path when the target was accepted, else the raw one; plus loggedQuery. */
export function loggedPath(ctx: RequestContext, allowed: ReadonlySet<string>): string {
  let path = ctx.path;
  let search = ctx.search;
  if (path === '') {
    // Refused before the target was parsed (framing, invalid path): log what was sent, but
    // never an absolute-form target, whose authority may carry user:password.
    const raw = ctx.req.url ?? '';
    if (raw.charCodeAt(0) !== 0x2f /* / */) return raw === '*' ? '*' : '-';
    const q = raw.indexOf('?');
    path = q === -1 ? raw : raw.slice(0, q);
    search = q === -1 ? '' : raw.slice(q);
  }
  return cut(maskSecretShapes(path), MAX_LOGGED_PATH) + loggedQuery(search, allowed);
}

/** Per-connection byte counters at the end of the previous request on the same connection. */
interface ByteMark {
  read: number;
  written: number;
}

/** A number as JSON writes it: `null` for NaN, ±Infinity and null (a socket counter can be undefined). */
function jsonNumber(value: number | null): string {
  return value !== null && Number.isFinite(value) ? String(value) : 'null';
}

/**
 * A whole number of microseconds as JSON writes that many milliseconds
 * (`String(us / 1000)`: `1234` → `1.234`, `1500` → `1.5`, `2000` → `2`), without formatting a
 * double: that conversion was the access line's largest single cost.
 */
export function millisecondsText(microseconds: number): string {
  // Below 10^15 µs (31 years) a double holds every such value to the µs, so both agree.
  if (!Number.isInteger(microseconds) || microseconds < 0 || microseconds >= 1e15) return jsonNumber(microseconds / 1000);
  const whole = Math.floor(microseconds / 1000);
  let fraction = microseconds - whole * 1000;
  if (fraction === 0) return String(whole);
  let digits = 3;
  while (fraction % 10 === 0) {
    fraction /= 10;
    digits--;
  }
  const text = String(fraction);
  return `${whole}.${text.length < digits ? '0'.repeat(digits - text.length) + text : text}`;
}

const NO_TRUSTED_PROXIES = compileTrustedProxies([]);

/** pino's numeric level for `info`: access lines are info lines. */
const INFO_LEVEL = 30;

/** `Date#toISOString` of the current millisecond, computed once per millisecond. */
function isoClock(): () => string {
  let lastMs = -1;
  let lastIso = '';
  return () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastIso = new Date(now).toISOString();
    }
    return lastIso;
  };
}

export function createAccessLog(logger: Logger, queryValues: readonly string[]): AccessLog {
  // The line is built here, as text, from fixed fields (none can hold a header object) and
  // written to the logger's own stream, so it keeps its place among the logger's other lines.
  // It has exactly the shape pino gives `logger.child({ event }).info(fields)` — level, time,
  // the logger's base fields, event, then the fields — at a fraction of the cost of pino's object
  // walk, time formatting and redaction (docs/decisions/0030-figures-behind-code-choices.md).
  const writeLine = lineSinkOf(logger);
  const bindings = loggerBindings(logger);
  const head = `{"level":${INFO_LEVEL},"time":"`;
  const afterTime = `"${bindings},"event":"http.access","requestId":`;
  const now = isoClock();
  let allowed: ReadonlySet<string> = new Set(queryValues);
  let trusted: TrustedProxies = NO_TRUSTED_PROXIES;
  const marks = new WeakMap<Socket, ByteMark>();
  const enabled = (): boolean => logger.levelVal <= INFO_LEVEL;

  return {
    setQueryValues(names) {
      allowed = new Set(names);
    },
    setTrustedProxies(next) {
      trusted = next;
    },
    write(ctx, status, endedAt) {
      if (!enabled()) return;
      // The socket counters include this request's head and body; on a keep-alive connection
      // the previous request's counts are subtracted.
      const socket = ctx.socket;
      let bytesIn = 0;
      let bytesOut = 0;
      if (socket !== null) {
        const read = socket.bytesRead;
        const written = socket.bytesWritten;
        const mark = marks.get(socket);
        bytesIn = read;
        bytesOut = written;
        if (mark === undefined) {
          marks.set(socket, { read, written });
        } else {
          bytesIn -= mark.read;
          bytesOut -= mark.written;
          mark.read = read;
          mark.written = written;
        }
      }
      const { upstreamStartedAt, upstreamHeadersAt } = ctx;
      const durationMs = millisecondsText(Math.round(Number(endedAt - ctx.startedAt) / 1_000));
      const upstreamMs =
        upstreamStartedAt !== undefined && upstreamHeadersAt !== undefined
          ? millisecondsText(Math.round(Number(upstreamHeadersAt - upstreamStartedAt) / 1_000))
          : 'null';
      const credentialId = ctx.principal?.credentialId ?? ctx.refusedCredentialId;
      const clientAddress = socket === null ? '' : unmappedAddress(clientAddressBehind(socket.remoteAddress ?? '', ctx.req, trusted));
      // Field order and spelling: AccessLine (docs/logging.md).
      writeLine(
        `${head}${now()}${afterTime}${JSON.stringify(ctx.id)},"route":${JSON.stringify(ctx.route?.name ?? NO_ROUTE)}` +
          `,"method":${JSON.stringify(ctx.req.method ?? '')},"path":${JSON.stringify(loggedPath(ctx, allowed))}` +
          `,"status":${jsonNumber(status)},"durationMs":${durationMs},"upstreamMs":${upstreamMs}` +
          `,"credentialId":${credentialId === undefined ? 'null' : JSON.stringify(credentialId)}` +
          `,"decision":${JSON.stringify(ctx.decision)},"shadow":${ctx.shadow === undefined ? 'null' : JSON.stringify(ctx.shadow)},"bytesIn":${jsonNumber(bytesIn)},"bytesOut":${jsonNumber(bytesOut)}` +
          `,"clientAddress":${clientAddress === '' ? 'null' : JSON.stringify(clientAddress)}}\n`,
      );
    },
  };
}
