/**
 * Parsers for the configuration's string values, shared by validation (which reports the
 * message) and compilation (which uses the value). Each returns a value or a message saying
 * what is wrong and what is expected, never both; none of them throws or does I/O.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { parsePostgresUrl, resolveSslRootCert } from '../credentials/postgres-location.js';
import { GatewayError } from '../errors.js';
import { normalisePath } from '../listen/request-target.js';
import type { HostMatch, ListenAddress, UpstreamTarget } from './types.js';

/** A parsed value, or why it could not be parsed. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(message: string): Parsed<T> => ({ ok: false, message });

/**
 * `host:port`, `[v6]:port` or a bare port (which binds every IPv4 interface, `0.0.0.0`).
 * Port 0 picks a free port.
 */
export function parseListen(text: string): Parsed<ListenAddress> {
  const match = /^(?:\[([^\]]*)\]:|([^:[\]]+):)?(\d+)$/.exec(text);
  if (match === null) return fail(`expected "host:port" such as "127.0.0.1:8443"; got ${JSON.stringify(text)}`);
  const [, v6, name, digits = ''] = match;
  const port = Number(digits);
  if (port > 65_535) return fail(`port ${port} is out of range; expected 0-65535 (0 picks a free port)`);
  if (v6 !== undefined) {
    if (isIP(v6) !== 6) return fail(`"[${v6}]" is not an IPv6 address`);
    return ok({ host: v6, port });
  }
  if (name === undefined) return ok({ host: '0.0.0.0', port });
  if (/^[\d.]+$/.test(name) && isIP(name) !== 4) return fail(`"${name}" is not an IPv4 address`);
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(name)) return fail(`"${name}" is not a host name or IP address`);
  return ok({ host: name.toLowerCase(), port });
}

/** True for the addresses that bind every interface. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0';
}

/** `10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`: an IP address with an optional prefix length in range. */
export function parseCidr(text: string): Parsed<string> {
  const [address = '', prefix, extra] = text.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return fail(`expected an IP address or CIDR such as 10.0.0.0/8; got ${JSON.stringify(text)}`);
  if (prefix !== undefined) {
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
      return fail(`prefix length /${prefix} is out of range for an IPv${family} address; expected 0-${max}`);
    }
  }
  return ok(text.toLowerCase());
}

/**
 * Reasons a path (route prefix or upstream base path) is refused: the same ambiguities the
 * request path guard refuses (docs/request-path.md), since a route written with them could never match.
 */
function pathProblem(text: string): string | undefined {
  if (/(^|\/)\.\.?(\/|$)/.test(text)) return 'must not contain "." or ".." segments';
  if (text.includes('//')) return 'must not contain an empty segment ("//")';
  if (text.includes('\\')) return 'must not contain a backslash';
  if (/%(2f|5c|2e|00)/i.test(text)) return 'must not percent-encode "/", "\\", "." or NUL (%2F, %5C, %2E, %00)';
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) return 'contains an invalid percent-encoding (expected "%" and two hex digits)';
  if (/[\u0000-\u0020\u007f]/.test(text)) return 'must not contain spaces or control characters';
  return undefined;
}

/** Characters outside printable ASCII, which a request path carries percent-encoded (UTF-8). */
const NON_ASCII = /[^\x00-\x7f]+/gu;

/**
 * A route's `match.path` as a prefix: normalised by the very function request paths go through
 * (listen/request-target.ts), so that every accepted prefix is one a request can match. Written
 * UTF-8 (`/société`) is percent-encoded as a client sends it, `%c3%a9` becomes `%C3%A9`, `%7E`
 * becomes `~`; what the request path guard refuses (`;`, dot segments, `//`, encoded `/`…) is
 * refused here with the guard's reason. The trailing slash is removed, `''` is the root `/`.
 */
export function normalisePathPrefix(text: string): Parsed<string> {
  if (!text.startsWith('/')) return fail(`path must start with "/"; got ${JSON.stringify(text)}`);
  if (/[?#]/.test(text)) return fail(`path must not contain a query or fragment; got ${JSON.stringify(text)}`);
  const problem = pathProblem(text);
  if (problem !== undefined) return fail(`path ${problem}; got ${JSON.stringify(text)}`);
  let normalised: string;
  try {
    normalised = normalisePath(text.replace(NON_ASCII, (chars) => encodeURIComponent(chars)));
  } catch (error) {
    // encodeURIComponent throws URIError on a lone surrogate: no request could spell it either.
    if (!(error instanceof GatewayError)) return fail(`path is not valid Unicode text; got ${JSON.stringify(text)}`);
    return fail(
      `path could never match a request, since requests spelling it are refused (${error.detail ?? error.code}); got ${JSON.stringify(text)}`,
    );
  }
  return ok(normalised.endsWith('/') ? normalised.slice(0, -1) : normalised);
}

/** `api.example.com` → exact; `*.example.com` → wildcard with suffix `.example.com`; none → any. */
export function parseHostMatch(text: string | undefined): HostMatch {
  if (text === undefined) return { kind: 'any' };
  const host = text.toLowerCase().replace(/\.$/, '');
  return host.startsWith('*.') ? { kind: 'wildcard', suffix: host.slice(1) } : { kind: 'exact', host };
}

/** An upstream without its CA (that comes from a file). */
export type UpstreamAddress = Omit<UpstreamTarget, 'ca'>;

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const PLAIN_WHY: Readonly<Record<string, string>> = {
  'http:': 'Portcullis never talks plain HTTP to a backend',
  'ws:': 'Portcullis never talks plain HTTP to a backend; use wss:// for WebSocket upstreams',
};

/**
 * An upstream base URL: https only (wss accepted and treated as https), no
 * credentials, query or fragment; its path is kept as a base path without trailing slash.
 */
export function parseUpstream(text: string): Parsed<UpstreamAddress> {
  if (/[\s\\]/.test(text)) return fail(`upstream must not contain spaces or backslashes; got ${JSON.stringify(text)}`);
  const scheme = SCHEME.exec(text);
  if (scheme === null) {
    return fail(
      `upstream must be an https:// URL such as "https://backend.internal:8443"; got ${JSON.stringify(text)}, which has no scheme`,
    );
  }
  const protocol = `${(scheme[1] ?? '').toLowerCase()}:`;
  if (protocol !== 'https:' && protocol !== 'wss:') {
    const why = PLAIN_WHY[protocol] ?? 'only https:, and wss: for WebSocket upstreams, are accepted';
    return fail(`upstream must be an https:// URL; got ${JSON.stringify(protocol)} (${why})`);
  }
  // WHATWG URL parsing reads "https:///v2" as host "v2"; refuse an empty authority first.
  const [authority = ''] = /^[^/?#]*/.exec(text.slice(scheme[0].length)) ?? [];
  if (authority === '') return fail(`upstream has no host; got ${JSON.stringify(text)}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`upstream is not a valid URL; got ${JSON.stringify(text)}`);
  }
  if (url.username !== '' || url.password !== '') {
    return fail('upstream must not contain user information ("user:password@"); credentials in a URL end up in logs');
  }
  if (/[?#]/.test(text)) return fail('upstream must not have a query or fragment; request queries are forwarded as they come');
  const port = url.port === '' ? 443 : Number(url.port);
  if (port === 0) return fail('upstream port 0 is not a port; expected 1-65535');
  const rawPath = text.slice(scheme[0].length + authority.length);
  const problem = pathProblem(rawPath);
  if (problem !== undefined) return fail(`upstream path ${problem}; got ${JSON.stringify(rawPath)}`);
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const basePath = url.pathname.replace(/\/+$/, '');
  const hostHeader = port === 443 ? url.hostname : `${url.hostname}:${port}`;
  return ok({ origin: `https://${url.hostname}:${port}`, hostname, port, servername: hostname, hostHeader, basePath });
}

/** A parsed `store.url`. */
export type StoreLocation =
  { readonly kind: 'sqlite'; /** a path, or ':memory:' */ readonly file: string } | { readonly kind: 'postgres'; readonly url: string };

/**
 * `sqlite:PATH` (relative paths resolve against `baseDir`, the config file's directory),
 * `sqlite::memory:`, or `postgres://…` / `postgresql://…`. Messages never echo the URL, which
 * may hold a password.
 */
export function parseStoreUrl(text: string, baseDir: string): Parsed<StoreLocation> {
  if (text.startsWith('sqlite:')) {
    const file = text.slice('sqlite:'.length);
    if (file === ':memory:') return ok({ kind: 'sqlite', file });
    if (file === '') return fail('"sqlite:" needs a file path, such as "sqlite:data/portcullis.db"');
    if (file.startsWith('//')) return fail('write "sqlite:/absolute/path.db" or "sqlite:relative/path.db" (no "//" after "sqlite:")');
    return ok({ kind: 'sqlite', file: path.resolve(baseDir, file) });
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (!/^[A-Za-z]+:\/\//.test(text) || !URL.canParse(text)) {
      return fail(`not a valid ${scheme}:// URL; expected "${scheme}://user:password@host:5432/database"`);
    }
    // A relative sslrootcert is relative to the config file, as every other path.
    const url = resolveSslRootCert(text, (file) => path.resolve(baseDir, file));
    try {
      const location = parsePostgresUrl(url);
      if (location.sslrootcert !== undefined && !existsSync(location.sslrootcert)) {
        return fail(`sslrootcert ${location.sslrootcert} does not exist`);
      }
    } catch (error) {
      return fail((error as Error).message.replace(/^store\.url: /, ''));
    }
    return ok({ kind: 'postgres', url });
  }
  const got = scheme === undefined ? 'no scheme' : `scheme "${scheme}:"`;
  return fail(`expected "sqlite:PATH", "sqlite::memory:" or a postgres:// URL; got ${got}`);
}

/** `store.url` as the runtime sees it: sqlite paths absolute. */
export function storeUrlOf(location: StoreLocation): string {
  return location.kind === 'sqlite' ? `sqlite:${location.file}` : location.url;
}

/** An https URL with no credentials (JWKS endpoints). */
export function parseHttpsUrl(text: string, what: string): Parsed<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`${what} is not a valid URL; expected an https:// URL`);
  }
  if (url.protocol !== 'https:') return fail(`${what} must be an https:// URL; got ${JSON.stringify(url.protocol)}`);
  if (url.username !== '' || url.password !== '') return fail(`${what} must not contain user information ("user:password@")`);
  return ok(url);
}

/** RFC 9110 token: header names and methods. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
