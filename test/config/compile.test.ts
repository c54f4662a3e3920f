/** What a valid file compiles to: defaults, resolved paths, milliseconds, route policies, freezing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from '../../src/config/index.js';
import { loadYaml, problems, selfSigned, tempDir, y } from './helpers.js';

function compile(dir: string, yaml: string, env: NodeJS.ProcessEnv = {}): GatewayConfig {
  const result = loadYaml(dir, yaml, env);
  assert.deepEqual(problems(result), []);
  assert.ok(result.ok);
  return result.config;
}

const ONE_ROUTE = y('routes:', '  - name: r', '    match: { path: /r }', '    upstream: https://backend.internal');

test('defaults are applied', (t) => {
  const dir = tempDir(t);
  const config = compile(dir, ONE_ROUTE);
  assert.equal(config.file, path.join(dir, 'portcullis.yaml'));
  assert.deepEqual(config.listen, { host: '0.0.0.0', port: 8443 });
  assert.equal(config.tls, undefined);
  assert.deepEqual(config.trustedProxies.entries, []);
  assert.deepEqual(config.limits, {
    maxHeaderBytes: 16_384,
    headersTimeoutMs: 10_000,
    shutdownGraceMs: 30_000,
    shutdownDelayMs: 5_000,
    requestTimeoutMs: 60_000,
    bodyReadTimeoutMs: 10_000,
    maxConnectionsPerClient: 256,
    maxInFlightPerClient: 64,
    upstreamQueueSize: 256,
    upstreamQueueTimeoutMs: 5_000,
    responseStallTimeoutMs: 30_000,
  });
  assert.deepEqual(config.admin, {
    listen: { host: '127.0.0.1', port: 9091 },
    tls: undefined,
    allowOnProxyRoutes: false,
    console: true,
    sessionIdleTimeoutMs: 1_800_000,
  });
  assert.deepEqual(config.metrics, { listen: { host: '127.0.0.1', port: 9090 } });
  assert.equal(config.store.url, `sqlite:${path.join(dir, 'data', 'portcullis.db')}`);
  assert.deepEqual(config.cache, {
    maxEntries: 100_000,
    ttlMs: 60_000,
    negativeTtlMs: 5_000,
    negativeMaxEntries: 10_000,
    maxStalenessMs: 1_000,
  });
  assert.deepEqual(config.tokens, { defaultExpiryMs: undefined });
  assert.deepEqual(config.oauth, {
    issuer: 'https://portcullis.local',
    audience: 'portcullis',
    tokenTtlMs: 3_600_000,
    leewayMs: 30_000,
    previousKeyEncryptionKeys: [],
    allowPlaintextSigningKeys: false,
  });
  assert.deepEqual(config.jwt, { issuers: [] });
  assert.deepEqual(config.log, { level: 'info', queryValues: [], bufferBytes: 4_194_304 });
  const route = config.routes[0];
  assert.ok(route);
  assert.equal(route.name, 'r');
  assert.equal(route.index, 0);
  assert.deepEqual(route.host, { kind: 'any' });
  assert.equal(route.pathPrefix, '/r');
  assert.equal(route.methods, undefined);
  assert.equal(route.auth, 'required');
  assert.equal(route.access, 'read-only');
  assert.deepEqual([...route.credentials], ['bearer', 'basic']);
  assert.deepEqual(route.requiredHeaders, []);
  assert.deepEqual(route.requiredQuery, []);
  assert.equal(route.timeoutMs, 30_000);
  assert.deepEqual(route.upstream, {
    origin: 'https://backend.internal:443',
    hostname: 'backend.internal',
    port: 443,
    servername: 'backend.internal',
    hostHeader: 'backend.internal',
    basePath: '',
    ca: undefined,
  });
});

test('upstream URLs compile to targets', async (t) => {
  const dir = tempDir(t);
  const table: readonly {
    upstream: string;
    origin: string;
    hostname: string;
    port: number;
    servername: string;
    hostHeader: string;
    basePath: string;
  }[] = [
    {
      upstream: 'https://Backend.Internal:8443/v2/',
      origin: 'https://backend.internal:8443',
      hostname: 'backend.internal',
      port: 8443,
      servername: 'backend.internal',
      hostHeader: 'backend.internal:8443',
      basePath: '/v2',
    },
    {
      upstream: 'https://backend.internal:443/a/b',
      origin: 'https://backend.internal:443',
      hostname: 'backend.internal',
      port: 443,
      servername: 'backend.internal',
      hostHeader: 'backend.internal',
      basePath: '/a/b',
    },
    {
      upstream: 'https://backend.internal/',
      origin: 'https://backend.internal:443',
      hostname: 'backend.internal',
      port: 443,
      servername: 'backend.internal',
      hostHeader: 'backend.internal',
      basePath: '',
    },
    {
      upstream: 'https://10.1.2.3:9443',
      origin: 'https://10.1.2.3:9443',
      hostname: '10.1.2.3',
      port: 9443,
      servername: '10.1.2.3',
      hostHeader: '10.1.2.3:9443',
      basePath: '',
    },
    {
      upstream: '"https://[::1]:8443/api"',
      origin: 'https://[::1]:8443',
      hostname: '::1',
      port: 8443,
      servername: '::1',
      hostHeader: '[::1]:8443',
      basePath: '/api',
    },
    {
      upstream: '"https://[2001:db8::1]"',
      origin: 'https://[2001:db8::1]:443',
      hostname: '2001:db8::1',
      port: 443,
      servername: '2001:db8::1',
      hostHeader: '[2001:db8::1]',
      basePath: '',
    },
    {
      upstream: 'wss://ws.internal/socket',
      origin: 'https://ws.internal:443',
      hostname: 'ws.internal',
      port: 443,
      servername: 'ws.internal',
      hostHeader: 'ws.internal',
      basePath: '/socket',
    },
  ];
  for (const row of table) {
    await t.test(row.upstream, () => {
      const config = compile(dir, y('routes:', '  - name: r', '    match: { path: /r }', `    upstream: ${row.upstream}`));
      const { upstream: _written, ...expected } = row;
      assert.deepEqual(config.routes[0]?.upstream, { ...expected, ca: undefined });
    });
  }
});

test('routes compile to policies: host kinds, prefixes, methods, credentials, requirements', (t) => {
  const dir = tempDir(t);
  const config = compile(
    dir,
    y(
      'routes:',
      '  - name: exact',
      '    match: { host: API.Example.com, path: /Profiles/, methods: [get, Post, GET] }',
      '    upstream: https://backend.internal',
      '    auth: off',
      '    access: read-write',
      '    credentials: [basic]',
      '    require: { headers: [X-Request-Id, x-request-id], query: [serviceProvider] }',
      '    timeout: 1500ms',
      '  - name: wildcard',
      '    match: { host: "*.Example.COM", path: / }',
      '    upstream: https://backend.internal',
      '  - name: any',
      '    match: { path: /a/b }',
      '    upstream: https://backend.internal',
    ),
  );
  const [exact, wildcard, any] = config.routes;
  assert.ok(exact && wildcard && any);
  assert.deepEqual(exact.host, { kind: 'exact', host: 'api.example.com' });
  assert.equal(exact.pathPrefix, '/Profiles');
  assert.deepEqual([...(exact.methods ?? [])], ['GET', 'POST']);
  assert.equal(exact.auth, 'off');
  assert.equal(exact.access, 'read-write');
  assert.deepEqual([...exact.credentials], ['basic']);
  assert.deepEqual(exact.requiredHeaders, ['x-request-id']);
  assert.deepEqual(exact.requiredQuery, ['serviceProvider']);
  assert.equal(exact.timeoutMs, 1500);
  assert.deepEqual(wildcard.host, { kind: 'wildcard', suffix: '.example.com' });
  assert.equal(wildcard.pathPrefix, '');
  assert.equal(wildcard.index, 1);
  assert.deepEqual(any.host, { kind: 'any' });
  assert.equal(any.pathPrefix, '/a/b');
});

test('settings compile: listeners, store URLs, durations, proxies', async (t) => {
  const dir = tempDir(t);
  const config = compile(
    dir,
    y(
      'listen: "8443"',
      'admin: { listen: "[::1]:0" }',
      'metrics: { listen: "LocalHost:9100" }',
      'trustedProxies: [10.0.0.0/8, "FD00::/8", 192.0.2.1]',
      'limits: { headersTimeout: 2s, shutdownGrace: 0s }',
      'cache: { ttl: 5m, negativeTtl: 500ms }',
      'tokens: { defaultExpiry: 30d }',
      'oauth: { tokenTtl: 15m, leeway: 0s }',
      ONE_ROUTE,
    ),
  );
  assert.deepEqual(config.listen, { host: '0.0.0.0', port: 8443 });
  assert.deepEqual(config.admin.listen, { host: '::1', port: 0 });
  assert.deepEqual(config.metrics.listen, { host: 'localhost', port: 9100 });
  assert.deepEqual(config.trustedProxies.entries, ['10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
  for (const address of ['10.0.0.1', '10.255.255.255', 'fd00::1', 'fd12:3456::1', '192.0.2.1'])
    assert.equal(config.trustedProxies.has(address), true, address);
  for (const address of ['11.0.0.1', '192.0.2.2', 'fe80::1', '127.0.0.1', '::1'])
    assert.equal(config.trustedProxies.has(address), false, address);
  assert.equal(config.limits.headersTimeoutMs, 2000);
  assert.equal(config.limits.shutdownGraceMs, 0);
  assert.equal(config.cache.ttlMs, 300_000);
  assert.equal(config.cache.negativeTtlMs, 500);
  assert.equal(config.tokens.defaultExpiryMs, 2_592_000_000);
  assert.equal(config.oauth.tokenTtlMs, 900_000);
  assert.equal(config.oauth.leewayMs, 0);

  const stores: readonly [string, string][] = [
    ['sqlite:portcullis.db', `sqlite:${path.join(dir, 'portcullis.db')}`],
    ['sqlite:../elsewhere/p.db', `sqlite:${path.resolve(dir, '../elsewhere/p.db')}`],
    ['sqlite:/var/lib/portcullis/p.db', 'sqlite:/var/lib/portcullis/p.db'],
    ['sqlite::memory:', 'sqlite::memory:'],
    ['postgres://gw:pw@db:5432/portcullis?sslmode=verify-full', 'postgres://gw:pw@db:5432/portcullis?sslmode=verify-full'],
    ['postgresql://gw@db/portcullis?sslmode=require', 'postgresql://gw@db/portcullis?sslmode=require'],
    ['postgres://gw@localhost/portcullis', 'postgres://gw@localhost/portcullis'],
    // A relative sslrootcert is relative to the config file, like every other path.
    [
      'postgres://gw:pw@db/p?sslmode=verify-full&sslrootcert=pg-ca.pem',
      `postgres://gw:pw@db/p?sslmode=verify-full&sslrootcert=${encodeURIComponent(path.join(dir, 'pg-ca.pem'))}`,
    ],
  ];
  writeFileSync(path.join(dir, 'pg-ca.pem'), 'not read at compile time');
  for (const [written, compiled] of stores) {
    await t.test(written, () => assert.equal(compile(dir, y(`store: { url: "${written}" }`, ONE_ROUTE)).store.url, compiled));
  }
});

test('${VAR} is substituted in string values; $${ is a literal ${', (t) => {
  const dir = tempDir(t);
  const config = compile(
    dir,
    y(
      'routes:',
      '  - name: r',
      '    match: { path: "/${PREFIX}" }',
      '    upstream: https://${BACKEND_HOST}:${BACKEND_PORT}/v1',
      '    require: { query: ["$${literal}", "cost$"] }',
      '    timeout: ${TIMEOUT}',
    ),
    { PREFIX: 'profiles', BACKEND_HOST: 'profiles.internal', BACKEND_PORT: '8443', TIMEOUT: '45s' },
  );
  const route = config.routes[0];
  assert.ok(route);
  assert.equal(route.pathPrefix, '/profiles');
  assert.equal(route.upstream.origin, 'https://profiles.internal:8443');
  assert.equal(route.upstream.basePath, '/v1');
  assert.equal(route.timeoutMs, 45_000);
  assert.deepEqual(route.requiredQuery, ['${literal}', 'cost$']);
});

test('a variable set to the empty string substitutes as empty (and is then validated)', (t) => {
  const dir = tempDir(t);
  const result = loadYaml(dir, y('routes:', '  - name: r', '    match: { path: /r }', '    upstream: "${UPSTREAM}"'), { UPSTREAM: '' });
  assert.deepEqual(problems(result), ['4:15: routes[0].upstream: expected a non-empty string']);
});

/** Every object reachable from `value` that is not frozen, by path; sets must also refuse `add`. */
function unfrozen(value: unknown, where = 'config', seen = new Set<unknown>()): string[] {
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  const found = Object.isFrozen(value) ? [] : [where];
  if (value instanceof Set) {
    assert.throws(() => (value as Set<unknown>).add('x'), TypeError, `${where} refuses add`);
    return [...found, ...[...value].flatMap((item, i) => unfrozen(item, `${where}[${i}]`, seen))];
  }
  return [...found, ...Object.entries(value).flatMap(([key, child]) => unfrozen(child, `${where}.${key}`, seen))];
}

test('the compiled configuration is deeply frozen', (t) => {
  const dir = tempDir(t);
  selfSigned(dir, 'ca');
  const config = compile(
    dir,
    y(
      'tls: { cert: ca.pem, key: ca-key.pem }',
      'trustedProxies: [10.0.0.0/8]',
      'log: { queryValues: [page] }',
      'jwt:',
      '  issuers:',
      '    - { issuer: https://idp.example, jwksUrl: https://idp.example/jwks, audience: api, jwksCa: ca.pem }',
      'routes:',
      '  - name: r',
      '    match: { path: /r, host: api.example, methods: [GET] }',
      '    upstream: https://backend.internal',
      '    upstreamCa: ca.pem',
      '    require: { headers: [X-Tenant], query: [v] }',
      '  - name: s',
      '    match: { path: /s }',
      '    upstream: https://backend.internal',
    ),
  );
  assert.deepEqual(unfrozen(config), []);
  const route = config.routes[0];
  assert.ok(route);
  assert.throws(() => (route.methods as Set<string>).add('POST'), TypeError);
  assert.throws(() => (route.credentials as Set<string>).delete('basic'), TypeError);
  assert.throws(() => (route.credentials as Set<string>).clear(), TypeError);
  assert.ok(route.methods?.has('GET'));
  assert.equal(route.methods?.has('POST'), false);
  assert.throws(() => {
    (config as { listen: unknown }).listen = null;
  }, TypeError);
  assert.throws(() => {
    (route as { upstream: unknown }).upstream = null;
  }, TypeError);
  assert.throws(() => {
    (route.upstream as { basePath: string }).basePath = '/x';
  }, TypeError);
});

test('routes naming the same upstream and CA file share one target; another CA file gets its own', (t) => {
  const dir = tempDir(t);
  selfSigned(dir, 'ca');
  selfSigned(dir, 'other');
  const route = (name: string, upstream: string, ca?: string): string[] => [
    `  - name: ${name}`,
    `    match: { path: /${name} }`,
    `    upstream: ${upstream}`,
    ...(ca ? [`    upstreamCa: ${ca}`] : []),
  ];
  const config = compile(
    dir,
    y(
      'routes:',
      ...route('a', 'https://backend.internal'),
      ...route('b', 'https://backend.internal'),
      ...route('c', 'https://backend.internal', 'ca.pem'),
      ...route('d', 'https://backend.internal', 'ca.pem'),
      ...route('e', 'https://backend.internal', 'other.pem'),
      ...route('f', 'https://backend.internal/v2'),
    ),
  );
  const [a, b, c, d, e, f] = config.routes.map((r) => r.upstream);
  assert.equal(a, b);
  assert.equal(c, d);
  assert.notEqual(a, c);
  assert.notEqual(c, e);
  assert.notEqual(a, f);
  assert.equal(a?.ca, undefined);
  assert.match(c?.ca ?? '', /BEGIN CERTIFICATE/);
  assert.notEqual(c?.ca, e?.ca);
  assert.equal(f?.basePath, '/v2');
});

test('loading twice gives independent results (schema defaults are not shared and frozen)', (t) => {
  const dir = tempDir(t);
  const first = compile(dir, ONE_ROUTE);
  const second = compile(dir, ONE_ROUTE);
  assert.notEqual(first.trustedProxies, second.trustedProxies);
  assert.deepEqual(first, second);
});

test('require.match compiles to lower-case header names bound to an identity; misuse is named', (t) => {
  const dir = tempDir(t);
  const route = (extra: string) => `routes:\n  - name: r\n    match: { path: /r }\n    upstream: "https://backend.internal"\n${extra}`;
  const loaded = loadYaml(dir, route('    require: { match: { X-Tenant: account, x-org: orgId } }\n'));
  assert.ok(loaded.ok, problems(loaded).join('\n'));
  assert.deepEqual(loaded.config.routes[0]?.identityMatch, [
    ['x-tenant', 'account'],
    ['x-org', 'orgId'],
  ]);
  const bad = [
    [route('    auth: "off"\n    require: { match: { X-Tenant: account } }\n'), /require\.match.*needs auth: required/],
    [route('    require: { match: { X-Portcullis_Account: account } }\n'), /X-Portcullis-\* headers are set by Portcullis/],
    [route('    require: { match: { "bad header": account } }\n'), /expected a header name/],
    [route('    require: { match: { X-Tenant: tenant } }\n'), /account.*orgId.*technicalAccountId/],
  ] as const;
  for (const [yaml, message] of bad) {
    const result = loadYaml(dir, yaml);
    assert.equal(result.ok, false, yaml);
    assert.match(problems(result).join('\n'), message);
  }
});
