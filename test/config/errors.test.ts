/**
 * Every kind of configuration mistake, table-driven: the YAML as written, and the exact
 * `line:col: path: message` lines `portcullis check` prints for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadYaml, problems, tempDir, y } from './helpers.js';

/** YAML from lines, so the table shows line numbers plainly. */
/** A valid route list (lines 1-4) to put after or before the line under test. */
const ROUTE = ['routes:', '  - name: r', '    match: { path: /r }', '    upstream: https://backend.internal'] as const;

interface Case {
  readonly name: string;
  readonly yaml: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly expected: readonly string[];
}

const TYPES: readonly Case[] = [
  {
    name: 'number where a string is expected',
    yaml: y('listen: 8443', ...ROUTE),
    expected: ['1:9: listen: expected a string; got 8443 (write it in quotes: "8443")'],
  },
  {
    name: 'string where a number is expected',
    yaml: y('cache: { maxEntries: lots }', ...ROUTE),
    expected: ['1:22: cache.maxEntries: expected a number; got "lots"'],
  },
  {
    name: 'fraction where an integer is expected',
    yaml: y('cache: { maxEntries: 0.5 }', ...ROUTE),
    expected: ['1:22: cache.maxEntries: expected an integer; got 0.5'],
  },
  {
    name: 'number below its minimum',
    yaml: y('limits: { maxHeaderBytes: 10 }', ...ROUTE),
    expected: ['1:27: limits.maxHeaderBytes: expected a number >= 1024; got 10'],
  },
  {
    name: 'number above its maximum',
    yaml: y('cache: { maxEntries: 20000000 }', ...ROUTE),
    expected: ['1:22: cache.maxEntries: expected a number <= 10000000; got 20000000'],
  },
  { name: 'mapping where a list is expected', yaml: y('routes: { name: r }'), expected: ['1:9: routes: expected a list; got a mapping'] },
  { name: 'empty route list', yaml: y('routes: []'), expected: ['1:9: routes: expected at least one route'] },
  {
    name: 'no routes key at all',
    yaml: y('listen: "127.0.0.1:8443"'),
    expected: ['1:1: routes: missing required key "routes"; expected a list'],
  },
  { name: 'not a mapping at the root', yaml: y('- a', '- b'), expected: ['1:1: (root): expected a mapping; got a list'] },
  {
    name: 'empty file',
    yaml: '# nothing\n',
    expected: ['1:1: (root): the configuration is empty; expected a mapping with at least a "routes" list'],
  },
  {
    name: 'string where a mapping is expected',
    yaml: y('routes:', '  - name: r', '    match: /r', '    upstream: https://backend.internal'),
    expected: ['3:12: routes[0].match: expected a mapping; got "/r"'],
  },
  {
    name: 'value outside an enum',
    yaml: y(...ROUTE, '    auth: maybe'),
    expected: ['5:11: routes[0].auth: expected one of required, off; got "maybe"'],
  },
  {
    name: 'enum typo gets a suggestion',
    yaml: y(...ROUTE, '    access: read-wrte'),
    expected: ['5:13: routes[0].access: expected one of read-only, read-write; got "read-wrte"; did you mean "read-write"?'],
  },
  {
    name: 'list item outside an enum',
    yaml: y(...ROUTE, '    credentials: [bearer, token]'),
    expected: ['5:27: routes[0].credentials[1]: expected one of bearer, basic; got "token"'],
  },
  {
    name: 'boolean where an enum is expected',
    yaml: y(...ROUTE, '    auth: false'),
    expected: ['5:11: routes[0].auth: expected one of required, off; got false'],
  },
  {
    name: 'empty methods list',
    yaml: y('routes:', '  - name: r', '    match: { path: /r, methods: [] }', '    upstream: https://backend.internal'),
    expected: ['3:33: routes[0].match.methods: expected at least 1 item; got an empty list'],
  },
  {
    name: 'method that is not a token',
    yaml: y('routes:', '  - name: r', '    match: { path: /r, methods: ["GE T"] }', '    upstream: https://backend.internal'),
    expected: ['3:34: routes[0].match.methods[0]: expected an HTTP method token such as GET; got "GE T"'],
  },
  {
    name: 'route name with spaces',
    yaml: y('routes:', '  - name: my route', '    match: { path: /r }', '    upstream: https://backend.internal'),
    expected: ['2:11: routes[0].name: expected 1-64 characters of letters, digits, "_", "." or "-"; got "my route"'],
  },
  {
    name: 'host with a port',
    yaml: y('routes:', '  - name: r', '    match: { path: /r, host: "api.example.com:443" }', '    upstream: https://backend.internal'),
    expected: ['3:30: routes[0].match.host: expected a host name such as api.example.com or *.example.com; got "api.example.com:443"'],
  },
  {
    name: 'path without leading slash',
    yaml: y('routes:', '  - name: r', '    match: { path: r }', '    upstream: https://backend.internal'),
    expected: ['3:20: routes[0].match.path: expected a path starting with "/" without query, fragment, spaces or backslashes; got "r"'],
  },
  {
    name: 'empty value',
    yaml: y('routes:', '  - name: r', '    match: { path: /r }', '    upstream:'),
    expected: ['4:5: routes[0].upstream: expected a string; got an empty value'],
  },
  {
    name: 'missing required key points at its mapping',
    yaml: y('routes:', '  - name: r', '    match: { path: /r }'),
    expected: ['2:5: routes[0].upstream: missing required key "upstream"; expected a string'],
  },
  {
    name: 'enum at the top level',
    yaml: y('log: { level: loud }', ...ROUTE),
    expected: ['1:15: log.level: expected one of fatal, error, warn, info, debug, trace, silent; got "loud"'],
  },
];

const KEYS: readonly Case[] = [
  {
    name: 'unknown key with did-you-mean',
    yaml: y('routes:', '  - name: r', '    match: { path: /r }', '    upstreem: https://backend.internal'),
    expected: [
      '2:5: routes[0].upstream: missing required key "upstream"; expected a string',
      '4:5: routes[0].upstreem: unknown key "upstreem"; did you mean "upstream"?',
    ],
  },
  {
    name: 'unknown key in a flow mapping',
    yaml: y('routes:', '  - name: r', '    match: { path: /r, hots: api.example.com }', '    upstream: https://backend.internal'),
    expected: ['3:24: routes[0].match.hots: unknown key "hots"; did you mean "host"?'],
  },
  {
    name: 'unknown top-level key with did-you-mean',
    yaml: y('listne: "127.0.0.1:8443"', ...ROUTE),
    expected: ['1:1: listne: unknown key "listne"; did you mean "listen"?'],
  },
  {
    name: 'unknown key far from everything',
    yaml: y(...ROUTE, '    colour: blue'),
    expected: [
      '5:5: routes[0].colour: unknown key "colour"; expected one of: name, match, upstream, upstreamCa, auth, access, credentials, require, websocket, readsWithBody, timeout, rateLimit, mode, deprecated',
    ],
  },
  {
    name: 'unknown key that weakens nothing silently',
    yaml: y(...ROUTE, '    require: { header: [x-request-id] }'),
    expected: ['5:16: routes[0].require.header: unknown key "header"; did you mean "headers"?'],
  },
];

const YAML_AND_ENV: readonly Case[] = [
  {
    name: 'duplicate YAML key',
    yaml: y('routes:', '  - name: r', '    match: { path: /r }', '    upstream: https://backend.internal', '    name: s'),
    expected: ['5:5: routes[0].name: duplicate key "name"; a key may appear only once in a mapping'],
  },
  {
    name: 'duplicate top-level key',
    yaml: y(...ROUTE, 'listen: "127.0.0.1:1"', 'listen: "127.0.0.1:2"'),
    expected: ['6:1: listen: duplicate key "listen"; a key may appear only once in a mapping'],
  },
  {
    name: 'YAML syntax error: text after a quoted value',
    yaml: y('listen: "127.0.0.1:8443" x', ...ROUTE),
    expected: ['1:26: (root): YAML syntax error: Unexpected scalar at node end'],
  },
  {
    name: 'YAML syntax error: a mapping inside a one-line mapping',
    yaml: y(...ROUTE, '    auth: off: true'),
    expected: ['5:11: (root): YAML syntax error: Nested mappings are not allowed in compact mappings'],
  },
  {
    name: 'YAML syntax error: tab indentation',
    yaml: y('routes:', '\t- name: r'),
    expected: ['2:1: (root): YAML syntax error: Tabs are not allowed as indentation'],
  },
  {
    name: 'alias without its anchor',
    yaml: y(...ROUTE, '    auth: *mode'),
    expected: ['5:11: routes[0].auth: unknown alias "*mode"; an alias needs its anchor ("&mode") defined before it'],
  },
  {
    name: 'several YAML documents',
    yaml: y(...ROUTE, '---', 'listen: "1"'),
    expected: ['5:1: (root): YAML syntax error: the file holds several documents ("---"); expected exactly one'],
  },
  {
    name: 'unset ${VAR}',
    yaml: y('routes:', '  - name: r', '    match: { path: /r }', '    upstream: https://${BACKEND_HOST}:8443'),
    expected: [
      '4:23: routes[0].upstream: environment variable BACKEND_HOST is not set (an unset variable is an error, not an empty string)',
    ],
  },
  {
    name: 'unset ${VAR} in a quoted string, twice',
    yaml: y(...ROUTE, '    upstreamCa: "${CA_DIR}/${CA_FILE}"'),
    expected: [
      '5:18: routes[0].upstreamCa: environment variable CA_DIR is not set (an unset variable is an error, not an empty string)',
      '5:28: routes[0].upstreamCa: environment variable CA_FILE is not set (an unset variable is an error, not an empty string)',
    ],
  },
  {
    name: 'invalid variable name',
    yaml: y(...ROUTE, '    timeout: ${1X}'),
    expected: [
      '5:14: routes[0].timeout: invalid variable name "1X" in "${1X}"; expected letters, digits and "_", not starting with a digit (write $${ for a literal "${")',
    ],
  },
  {
    name: 'unterminated ${',
    yaml: y(...ROUTE, '    timeout: ${TIMEOUT'),
    expected: ['5:14: routes[0].timeout: unterminated "${"; expected ${NAME} (write $${ for a literal "${")'],
  },
  {
    name: 'a set ${VAR} is substituted before validation',
    yaml: y(...ROUTE, '    timeout: ${TIMEOUT}'),
    env: { TIMEOUT: 'soon' },
    expected: ['5:14: routes[0].timeout: expected a duration such as 500ms, 30s, 5m, 1h or 30d; got "soon"'],
  },
];

const DURATIONS: readonly Case[] = [
  {
    name: 'duration with a space',
    yaml: y(...ROUTE, '    timeout: 30 s'),
    expected: ['5:14: routes[0].timeout: expected a duration such as 500ms, 30s, 5m, 1h or 30d; got "30 s"'],
  },
  {
    name: 'duration as a bare number',
    yaml: y(...ROUTE, '    timeout: 30'),
    expected: ['5:14: routes[0].timeout: expected a string; got 30 (write it in quotes: "30")'],
  },
  {
    name: 'duration with an unknown unit',
    yaml: y('cache: { ttl: 1w }', ...ROUTE),
    expected: ['1:15: cache.ttl: expected a duration such as 500ms, 30s, 5m, 1h or 30d; got "1w"'],
  },
  {
    name: 'zero timeout',
    yaml: y(...ROUTE, '    timeout: 0s'),
    expected: ['5:14: routes[0].timeout: expected a duration greater than 0; got "0s"'],
  },
  {
    name: 'timeout beyond what a timer can hold',
    yaml: y(...ROUTE, '    timeout: 30d'),
    expected: ['5:14: routes[0].timeout: expected at most 24d (the longest timer Node.js supports); got "30d"'],
  },
  {
    name: 'zero cache ttl',
    yaml: y('cache: { ttl: 0ms }', ...ROUTE),
    expected: ['1:15: cache.ttl: expected a duration greater than 0; got "0ms"'],
  },
  {
    name: 'duration too large for a number',
    yaml: y('tokens: { defaultExpiry: 99999999999999999d }', ...ROUTE),
    expected: ['1:26: tokens.defaultExpiry: duration "99999999999999999d" is too large'],
  },
];

/** Lines 1-3 of a route without its upstream. */
const NO_UPSTREAM = ['routes:', '  - name: r', '    match: { path: /r }'] as const;

const UPSTREAMS: readonly Case[] = [
  {
    name: 'http:// upstream',
    yaml: y(...NO_UPSTREAM, '    upstream: http://backend.internal'),
    expected: ['4:15: routes[0].upstream: upstream must be an https:// URL; got "http:" (Portcullis never talks plain HTTP to a backend)'],
  },
  {
    name: 'HTTP:// in capitals',
    yaml: y(...NO_UPSTREAM, '    upstream: HTTP://backend.internal'),
    expected: ['4:15: routes[0].upstream: upstream must be an https:// URL; got "http:" (Portcullis never talks plain HTTP to a backend)'],
  },
  {
    name: 'ws:// upstream',
    yaml: y(...NO_UPSTREAM, '    upstream: ws://backend.internal'),
    expected: [
      '4:15: routes[0].upstream: upstream must be an https:// URL; got "ws:" (Portcullis never talks plain HTTP to a backend; use wss:// for WebSocket upstreams)',
    ],
  },
  {
    name: 'ftp:// upstream',
    yaml: y(...NO_UPSTREAM, '    upstream: ftp://backend.internal'),
    expected: [
      '4:15: routes[0].upstream: upstream must be an https:// URL; got "ftp:" (only https:, and wss: for WebSocket upstreams, are accepted)',
    ],
  },
  {
    name: 'upstream without a scheme',
    yaml: y(...NO_UPSTREAM, '    upstream: backend.internal:8443'),
    expected: [
      '4:15: routes[0].upstream: upstream must be an https:// URL such as "https://backend.internal:8443"; got "backend.internal:8443", which has no scheme',
    ],
  },
  {
    name: 'malformed upstream URL',
    yaml: y(...NO_UPSTREAM, '    upstream: "https://backend.internal:99999"'),
    expected: ['4:15: routes[0].upstream: upstream is not a valid URL; got "https://backend.internal:99999"'],
  },
  {
    name: 'upstream with an empty host',
    yaml: y(...NO_UPSTREAM, '    upstream: "https:///v2"'),
    expected: ['4:15: routes[0].upstream: upstream has no host; got "https:///v2"'],
  },
  {
    name: 'upstream with a backslash',
    yaml: y(...NO_UPSTREAM, '    upstream: "https://backend.internal\\\\evil.example"'),
    expected: ['4:15: routes[0].upstream: upstream must not contain spaces or backslashes; got "https://backend.internal\\\\evil.example"'],
  },
  {
    name: 'upstream with spaces',
    yaml: y(...NO_UPSTREAM, '    upstream: "https://backend internal"'),
    expected: ['4:15: routes[0].upstream: upstream must not contain spaces or backslashes; got "https://backend internal"'],
  },
  {
    name: 'upstream with userinfo',
    yaml: y(...NO_UPSTREAM, '    upstream: https://svc:s3cret@backend.internal'),
    expected: [
      '4:15: routes[0].upstream: upstream must not contain user information ("user:password@"); credentials in a URL end up in logs',
    ],
  },
  {
    name: 'upstream with a query',
    yaml: y(...NO_UPSTREAM, '    upstream: https://backend.internal/v2?key=1'),
    expected: ['4:15: routes[0].upstream: upstream must not have a query or fragment; request queries are forwarded as they come'],
  },
  {
    name: 'upstream with a fragment',
    yaml: y(...NO_UPSTREAM, '    upstream: "https://backend.internal/v2#top"'),
    expected: ['4:15: routes[0].upstream: upstream must not have a query or fragment; request queries are forwarded as they come'],
  },
  {
    name: 'upstream with a dot segment',
    yaml: y(...NO_UPSTREAM, '    upstream: https://backend.internal/v2/../admin'),
    expected: ['4:15: routes[0].upstream: upstream path must not contain "." or ".." segments; got "/v2/../admin"'],
  },
  {
    name: 'upstream port 0',
    yaml: y(...NO_UPSTREAM, '    upstream: https://backend.internal:0'),
    expected: ['4:15: routes[0].upstream: upstream port 0 is not a port; expected 1-65535'],
  },
  {
    name: 'jwksUrl over http',
    yaml: y(...ROUTE, 'jwt:', '  issuers:', '    - { issuer: idp, audience: api, jwksUrl: "http://idp.example.com/jwks" }'),
    expected: ['7:46: jwt.issuers[0].jwksUrl: jwksUrl must be an https:// URL; got "http:"'],
  },
];

const SETTINGS: readonly Case[] = [
  {
    name: 'store URL of an unknown kind',
    yaml: y('store: { url: "mysql://u:p@db/portcullis" }', ...ROUTE),
    expected: ['1:15: store.url: expected "sqlite:PATH", "sqlite::memory:" or a postgres:// URL; got scheme "mysql:"'],
  },
  {
    name: 'store URL without a scheme',
    yaml: y('store: { url: data.db }', ...ROUTE),
    expected: ['1:15: store.url: expected "sqlite:PATH", "sqlite::memory:" or a postgres:// URL; got no scheme'],
  },
  {
    name: 'sqlite without a path',
    yaml: y('store: { url: "sqlite:" }', ...ROUTE),
    expected: ['1:15: store.url: "sqlite:" needs a file path, such as "sqlite:data/portcullis.db"'],
  },
  {
    name: 'sqlite with a URL-style //',
    yaml: y('store: { url: "sqlite:///var/lib/p.db" }', ...ROUTE),
    expected: ['1:15: store.url: write "sqlite:/absolute/path.db" or "sqlite:relative/path.db" (no "//" after "sqlite:")'],
  },
  {
    name: 'postgres URL that does not parse (password not echoed)',
    yaml: y('store: { url: "postgres://u:s3cret@db:port/x" }', ...ROUTE),
    expected: ['1:15: store.url: not a valid postgres:// URL; expected "postgres://user:password@host:5432/database"'],
  },
  {
    name: 'postgres URL to a remote host without sslmode (password not echoed)',
    yaml: y('store: { url: "postgres://u:s3cret@db.internal/x" }', ...ROUTE),
    expected: [
      '1:15: store.url: say how to reach db.internal — add sslmode=verify-full&sslrootcert=… (recommended), sslmode=require, or sslmode=disable for a plain connection (development only)',
    ],
  },
  {
    name: 'postgres URL with an unknown parameter',
    yaml: y('store: { url: "postgres://u:s3cret@localhost/x?password=s3cret" }', ...ROUTE),
    expected: ['1:15: store.url: unknown parameter "password" (known: sslmode, sslrootcert)'],
  },
  {
    name: 'postgres URL with an unknown sslmode',
    yaml: y('store: { url: "postgres://u:s3cret@localhost/x?sslmode=prefer" }', ...ROUTE),
    expected: ['1:15: store.url: sslmode must be one of disable, require, verify-ca, verify-full'],
  },
  {
    name: 'postgres URL without a user',
    yaml: y('store: { url: "postgres://localhost/x" }', ...ROUTE),
    expected: ['1:15: store.url: a postgres URL needs a user name, as in postgres://portcullis@host:5432/portcullis'],
  },
  {
    name: 'listen port out of range',
    yaml: y('listen: "127.0.0.1:70000"', ...ROUTE),
    expected: ['1:9: listen: port 70000 is out of range; expected 0-65535 (0 picks a free port)'],
  },
  {
    name: 'listen on a bad IPv4 address',
    yaml: y('listen: "300.0.0.1:8443"', ...ROUTE),
    expected: ['1:9: listen: "300.0.0.1" is not an IPv4 address'],
  },
  {
    name: 'listen on a bad IPv6 address',
    yaml: y('listen: "[1::2::3]:8443"', ...ROUTE),
    expected: ['1:9: listen: "[1::2::3]" is not an IPv6 address'],
  },
  {
    name: 'two listeners on one port',
    yaml: y('listen: "0.0.0.0:9090"', ...ROUTE),
    expected: ['1:9: listen: port 9090 is already used by metrics.listen (default "127.0.0.1:9090"); each listener needs its own port'],
  },
  {
    name: 'two written listeners on one port',
    yaml: y('listen: "127.0.0.1:8443"', 'admin: { listen: "8443" }', ...ROUTE),
    expected: ['2:18: admin.listen: port 8443 is already used by listen ("127.0.0.1:8443"); each listener needs its own port'],
  },
  {
    name: 'trusted proxy prefix out of range',
    yaml: y('trustedProxies: ["10.0.0.0/33", "fd00::/129", "10.0.0.1"]', ...ROUTE),
    expected: [
      '1:18: trustedProxies[0]: prefix length /33 is out of range for an IPv4 address; expected 0-32',
      '1:33: trustedProxies[1]: prefix length /129 is out of range for an IPv6 address; expected 0-128',
    ],
  },
  {
    name: 'trusted proxy that is not an IP',
    yaml: y('trustedProxies: [10.0.0.300]', ...ROUTE),
    expected: ['1:18: trustedProxies[0]: expected an IP address or CIDR such as 10.0.0.0/8; got "10.0.0.300"'],
  },
  {
    name: 'header name that is not a token',
    yaml: y(...ROUTE, '    require: { headers: ["x request id"] }'),
    expected: ['5:26: routes[0].require.headers[0]: expected a header name (letters, digits and !#$%&\'*+-.^_`|~); got "x request id"'],
  },
];

const ROUTES: readonly Case[] = [
  {
    name: 'reserved route name',
    yaml: y('routes:', '  - name: none', '    match: { path: /r }', '    upstream: https://backend.internal'),
    expected: [
      '2:11: routes[0].name: route name "none" is reserved (metrics label requests that matched no route with it); choose another name',
    ],
  },
  {
    name: 'duplicate route names',
    yaml: y(...ROUTE, '  - name: r', '    match: { path: /s }', '    upstream: https://backend.internal'),
    expected: [
      '5:11: routes[1].name: duplicate route name "r"; already used by routes[0] (names label metrics and logs, so they must be unique)',
    ],
  },
  {
    name: 'identical matches',
    yaml: y(...ROUTE, '  - name: s', '    match: { path: /r/ }', '    upstream: https://other.internal'),
    expected: [
      '6:12: routes[1].match: route "s" has the same match as routes[0] "r" (any host, path /r, every method); a request could go to either, so make one more specific or merge them',
    ],
  },
  {
    name: 'identical matches with methods in another order and case',
    yaml: y(
      'routes:',
      '  - name: a',
      '    match: { host: API.example.com, path: /x, methods: [get, POST] }',
      '    upstream: https://backend.internal',
      '  - name: b',
      '    match: { host: api.example.com, path: /x, methods: [POST, GET, GET] }',
      '    upstream: https://backend.internal',
    ),
    expected: [
      '6:12: routes[1].match: route "b" has the same match as routes[0] "a" (host api.example.com, path /x, methods GET, POST); a request could go to either, so make one more specific or merge them',
    ],
  },
  {
    name: 'overlapping method lists',
    yaml: y(
      'routes:',
      '  - name: a',
      '    match: { path: /x, methods: [GET, HEAD] }',
      '    upstream: https://backend.internal',
      '  - name: b',
      '    match: { path: /x, methods: [GET, POST] }',
      '    upstream: https://backend.internal',
    ),
    expected: [
      '6:12: routes[1].match: route "b" and routes[0] "a" both take GET on the same host and path; a request could go to either, so make one more specific or merge them',
    ],
  },
  {
    name: 'path with a dot segment',
    yaml: y('routes:', '  - name: r', '    match: { path: /api/../admin }', '    upstream: https://backend.internal'),
    expected: ['3:20: routes[0].match.path: path must not contain "." or ".." segments; got "/api/../admin"'],
  },
  {
    name: 'path ending in a dot segment',
    yaml: y('routes:', '  - name: r', '    match: { path: /api/. }', '    upstream: https://backend.internal'),
    expected: ['3:20: routes[0].match.path: path must not contain "." or ".." segments; got "/api/."'],
  },
  {
    name: 'path with an empty segment',
    yaml: y('routes:', '  - name: r', '    match: { path: /api//v1 }', '    upstream: https://backend.internal'),
    expected: ['3:20: routes[0].match.path: path must not contain an empty segment ("//"); got "/api//v1"'],
  },
  {
    name: 'path with an encoded slash',
    yaml: y('routes:', '  - name: r', '    match: { path: /api%2Fv1 }', '    upstream: https://backend.internal'),
    expected: ['3:20: routes[0].match.path: path must not percent-encode "/", "\\", "." or NUL (%2F, %5C, %2E, %00); got "/api%2Fv1"'],
  },
  {
    name: 'path with an encoded dot',
    yaml: y('routes:', '  - name: r', '    match: { path: /api/%2e%2e/x }', '    upstream: https://backend.internal'),
    expected: ['3:20: routes[0].match.path: path must not percent-encode "/", "\\", "." or NUL (%2F, %5C, %2E, %00); got "/api/%2e%2e/x"'],
  },
  {
    name: 'path with a broken percent-encoding',
    yaml: y('routes:', '  - name: r', '    match: { path: /api%zz }', '    upstream: https://backend.internal'),
    expected: ['3:20: routes[0].match.path: path contains an invalid percent-encoding (expected "%" and two hex digits); got "/api%zz"'],
  },
  {
    name: 'path with a backslash',
    yaml: y('routes:', '  - name: r', '    match: { path: "/api\\\\x" }', '    upstream: https://backend.internal'),
    expected: [
      '3:20: routes[0].match.path: expected a path starting with "/" without query, fragment, spaces or backslashes; got "/api\\\\x"',
    ],
  },
];

function runTable(title: string, cases: readonly Case[]): void {
  test(title, async (t) => {
    const dir = tempDir(t);
    for (const c of cases) {
      await t.test(c.name, () => {
        assert.deepEqual(problems(loadYaml(dir, c.yaml, c.env)), c.expected);
      });
    }
  });
}

runTable('values of the wrong type or shape', TYPES);
runTable('unknown keys', KEYS);
runTable('YAML errors and ${VAR}', YAML_AND_ENV);
runTable('durations', DURATIONS);
runTable('upstream and other URLs', UPSTREAMS);
runTable('listeners, store, proxies, headers', SETTINGS);
runTable('routes', ROUTES);

test('several problems are reported at once, each located', (t) => {
  const dir = tempDir(t);
  const result = loadYaml(
    dir,
    y(
      'listen: 8443', // 1 type
      'cache: { ttl: 0s, maxEntries: -1 }', // 2 range, minimum
      'routes:',
      '  - name: a',
      '    match: { path: /a/../b, methods: [] }', // 5 dot segment, empty methods
      '    upstream: http://backend.internal', // 6 http
      '    auth: maybe', // 7 enum
      '  - name: a', // 8 duplicate name
      '    match: { path: /c }',
      '    upstream: https://backend.internal',
      '    upstreamCA: ca.pem', // 11 unknown key
    ),
  );
  assert.equal(result.ok, false);
  if (result.ok) return;
  const lines = problems(result);
  assert.equal(result.issues.length, 9, lines.join('\n'));
  for (const issue of result.issues) {
    assert.ok(issue.line >= 1 && issue.column >= 1, `${issue.path} is located`);
    assert.match(issue.file, /portcullis\.yaml$/);
  }
  assert.deepEqual(
    result.issues.map((i) => `${i.line}:${i.column} ${i.path}`),
    [
      '1:9 listen',
      '2:15 cache.ttl',
      '2:31 cache.maxEntries',
      '5:20 routes[0].match.path',
      '5:38 routes[0].match.methods',
      '6:15 routes[0].upstream',
      '7:11 routes[0].auth',
      '8:11 routes[1].name',
      '11:5 routes[1].upstreamCA',
    ],
  );
  assert.equal(lines[8], '11:5: routes[1].upstreamCA: unknown key "upstreamCA"; did you mean "upstreamCa"?');
});
