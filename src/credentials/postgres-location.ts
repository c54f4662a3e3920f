/**
 * `store.url` for PostgreSQL: `postgres://user:password@host:5432/database?sslmode=…&sslrootcert=…`
 * (also `postgresql://`). Parsed here, once, into what the driver needs; everything said about a
 * location (messages, logs, `check`, `--json`) uses {@link describePostgres} or
 * {@link maskStoreUrl}, never the URL itself: it may hold a password.
 *
 * `sslmode` follows libpq's names: `verify-full` (TLS, the chain checked against `sslrootcert`
 * and the host name against the certificate: the setting for production), `verify-ca` (chain
 * only), `require` (encrypted, server not authenticated), `disable` (plain TCP: loopback and
 * development only). Omitted: `disable` on a loopback host, refused elsewhere, so a plain
 * connection across a network is always an explicit choice.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import type { ConnectionOptions } from 'node:tls';

export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface PostgresLocation {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** Never printed. */
  readonly password: string | undefined;
  readonly sslmode: SslMode;
  /** Absolute path of the CA bundle, or undefined (the system's CAs). */
  readonly sslrootcert: string | undefined;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);
const KNOWN_PARAMETERS = new Set(['sslmode', 'sslrootcert']);

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url);

/**
 * Parses a postgres URL. Throws a TypeError whose message never contains the URL. A relative
 * `sslrootcert` must have been resolved already (the configuration does it against the config
 * file's directory; see {@link resolveSslRootCert}).
 */
export function parsePostgresUrl(text: string): PostgresLocation {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError('store.url is not a valid postgres:// URL; expected "postgres://user:password@host:5432/database"');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new TypeError('store.url must start with postgres:// or postgresql://');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') throw new TypeError('store.url: a postgres URL needs a host');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/'))
    throw new TypeError('store.url: a postgres URL needs a database name, as in postgres://user@host:5432/portcullis');
  const user = decodeURIComponent(url.username);
  if (user === '') throw new TypeError('store.url: a postgres URL needs a user name, as in postgres://portcullis@host:5432/portcullis');
  for (const key of url.searchParams.keys()) {
    if (!KNOWN_PARAMETERS.has(key)) throw new TypeError(`store.url: unknown parameter "${key}" (known: sslmode, sslrootcert)`);
  }
  const mode = url.searchParams.get('sslmode');
  let sslmode: SslMode;
  if (mode === null) {
    if (!LOOPBACK.has(host)) {
      throw new TypeError(
        `store.url: say how to reach ${host} — add sslmode=verify-full&sslrootcert=… (recommended), ` +
          'sslmode=require, or sslmode=disable for a plain connection (development only)',
      );
    }
    sslmode = 'disable';
  } else if ((SSL_MODES as readonly string[]).includes(mode)) {
    sslmode = mode as SslMode;
  } else {
    throw new TypeError(`store.url: sslmode must be one of ${SSL_MODES.join(', ')}`);
  }
  const sslrootcert = url.searchParams.get('sslrootcert') ?? undefined;
  if (sslrootcert !== undefined && !isAbsolute(sslrootcert)) {
    throw new TypeError('store.url: sslrootcert must be an absolute path (the configuration resolves relative ones)');
  }
  if (sslrootcert !== undefined && (sslmode === 'disable' || sslmode === 'require')) {
    throw new TypeError(`store.url: sslrootcert is only used with sslmode=verify-ca or verify-full (got sslmode=${sslmode})`);
  }
  const port = url.port === '' ? 5432 : Number(url.port);
  return { host, port, database, user, password: url.password === '' ? undefined : decodeURIComponent(url.password), sslmode, sslrootcert };
}

/** The URL with a relative `sslrootcert` made absolute against `baseDir`; otherwise unchanged. */
export function resolveSslRootCert(text: string, resolve: (path: string) => string): string {
  const url = new URL(text);
  const cert = url.searchParams.get('sslrootcert');
  if (cert === null || isAbsolute(cert)) return text;
  url.searchParams.set('sslrootcert', resolve(cert));
  return url.toString();
}

/** `postgres://user:***@host:port/db?…`: safe to print. Non-postgres URLs are returned unchanged. */
export function maskStoreUrl(text: string): string {
  if (!isPostgresUrl(text)) return text;
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    // Not parseable: hide everything between the scheme and an '@' that could be a password.
    return text.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** `PostgreSQL at host:port/database (user u)`: what messages name. */
export function describePostgres(location: PostgresLocation): string {
  const host = location.host.includes(':') ? `[${location.host}]` : location.host;
  return `PostgreSQL at ${host}:${location.port}/${location.database} (user "${location.user}")`;
}

/** The driver's TLS options for the location's sslmode, or false for a plain connection. */
export function tlsOptionsOf(location: PostgresLocation): ConnectionOptions | false {
  switch (location.sslmode) {
    case 'disable':
      return false;
    // libpq's `require`: encrypted, the server not authenticated.
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full': {
      const ca = location.sslrootcert === undefined ? undefined : readCa(location.sslrootcert);
      return {
        rejectUnauthorized: true,
        ...(ca === undefined ? {} : { ca }),
        // SNI takes names only; the identity check below still compares an IP address.
        ...(isIP(location.host) === 0 ? { servername: location.host } : {}),
        ...(location.sslmode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
      };
    }
  }
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new TypeError(`store.url: cannot read sslrootcert ${file} (${code})`, { cause: error });
  }
}
