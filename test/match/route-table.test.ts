import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoutePolicy } from '../../src/config/types.js';
import { buildRouteTable } from '../../src/match/route-table.js';
import { routePolicy } from '../support/route-policy.js';

function table(routes: readonly RoutePolicy[]) {
  const built = buildRouteTable(routes);
  assert.deepEqual(built.conflicts, []);
  return built.table;
}

test('most specific wins: exact host over wildcard over none, then the longest prefix, then a method-listing route', () => {
  const routes = {
    exact: routePolicy({ name: 'exact', host: 'api.example.com', path: '/items' }),
    wildcard: routePolicy({ name: 'wildcard', host: '*.example.com', path: '/items' }),
    any: routePolicy({ name: 'any', path: '/items' }),
    exactLong: routePolicy({ name: 'exact-long', host: 'api.example.com', path: '/items/special' }),
    anyDeeper: routePolicy({ name: 'any-deeper', path: '/items/special/deeper' }),
    mGet: routePolicy({ name: 'm-get', path: '/m', methods: ['GET'] }),
    mAny: routePolicy({ name: 'm-any', path: '/m' }),
    mPostExact: routePolicy({ name: 'm-post-exact', host: 'api.example.com', path: '/m', methods: ['POST'] }),
    root: routePolicy({ name: 'root', host: 'root.test', path: '/' }),
  };
  const t = table(Object.values(routes));
  const cases: readonly (readonly [string, string, string, string | undefined])[] = [
    ['api.example.com', 'GET', '/items', 'exact'],
    ['api.example.com', 'GET', '/items/x/y', 'exact'],
    ['www.example.com', 'GET', '/items', 'wildcard'],
    ['a.b.example.com', 'GET', '/items', 'any'],
    ['example.com', 'GET', '/items', 'any'],
    ['other.test', 'GET', '/items', 'any'],
    ['api.example.com', 'GET', '/items/special', 'exact-long'],
    ['api.example.com', 'GET', '/items/special/deeper/x', 'exact-long'],
    ['other.test', 'GET', '/items/special/deeper/x', 'any-deeper'],
    ['other.test', 'GET', '/items/specialx', 'any'],
    ['other.test', 'GET', '/itemsx', undefined],
    ['other.test', 'GET', '/', undefined],
    ['other.test', 'GET', '/m', 'm-get'],
    ['other.test', 'HEAD', '/m', 'm-get'],
    ['other.test', 'OPTIONS', '/m', 'm-any'],
    ['other.test', 'POST', '/m/x', 'm-any'],
    ['api.example.com', 'POST', '/m', 'm-post-exact'],
    ['api.example.com', 'GET', '/m', 'm-get'],
    ['root.test', 'GET', '/', 'root'],
    ['root.test', 'GET', '/anything/at/all', 'root'],
    ['root.test', 'GET', '/items', 'root'],
  ];
  for (const [host, method, path, expected] of cases) {
    assert.equal(t.match(host, method, path)?.name, expected, `${method} ${host}${path}`);
  }
});

test('a route listing GET takes HEAD, unless a route lists HEAD itself: HEAD never slips to a laxer methodless route', () => {
  const getOnly = routePolicy({ name: 'get-only', path: '/r', methods: ['GET'], auth: 'required' });
  const lax = routePolicy({ name: 'lax', path: '/r', auth: 'off' });
  const t1 = table([getOnly, lax]);
  assert.equal(t1.match('h', 'HEAD', '/r/x')?.name, 'get-only');
  assert.equal(t1.match('h', 'POST', '/r/x')?.name, 'lax');
  const headOnly = routePolicy({ name: 'head-only', path: '/r', methods: ['HEAD'] });
  const t2 = table([routePolicy({ name: 'get', path: '/r', methods: ['GET'] }), headOnly]);
  assert.equal(t2.match('h', 'HEAD', '/r')?.name, 'head-only');
  assert.equal(t2.match('h', 'GET', '/r')?.name, 'get');
  const t3 = table([routePolicy({ name: 'get', path: '/r', methods: ['GET'] })]);
  assert.equal(t3.match('h', 'HEAD', '/r')?.name, 'get');
});

test('prefixes match on a segment boundary: /profiles matches /profiles, /profiles/ and /profiles/x, not /profilesx', () => {
  const t = table([routePolicy({ name: 'profiles', path: '/profiles' })]);
  for (const path of ['/profiles', '/profiles/', '/profiles/x', '/profiles/x/', '/profiles/x/y'])
    assert.equal(t.match('h', 'GET', path)?.name, 'profiles', path);
  for (const path of ['/profilesx', '/profile', '/', '/x/profiles', '/PROFILES']) assert.equal(t.match('h', 'GET', path), undefined, path);
});

test("a . ends a prefix like a /: /admin.json is /admin's (Rails format, Spring suffix matching); a longer declared prefix still wins", () => {
  const t = table([
    routePolicy({ name: 'root', path: '/' }),
    routePolicy({ name: 'admin', path: '/admin' }),
    routePolicy({ name: 'admin-public', path: '/admin.public' }),
    routePolicy({ name: 'deep', path: '/v1/users' }),
  ]);
  const cases: readonly (readonly [string, string])[] = [
    ['/admin.json', 'admin'],
    ['/admin.', 'admin'],
    ['/admin.xml/x', 'admin'],
    ['/admin.tar.gz', 'admin'],
    ['/admin.public', 'admin-public'],
    ['/admin.public.json', 'admin-public'],
    ['/admin.public/x', 'admin-public'],
    ['/adminx.json', 'root'],
    ['/v1/users.json', 'deep'],
    ['/v1/users.json/7', 'deep'],
    ['/v1.json', 'root'],
    ['/.admin', 'root'],
  ];
  for (const [path, name] of cases) assert.equal(t.match('h.test', 'GET', path)?.name, name, path);
});

test('a configured trailing slash does not change the prefix', () => {
  const t = table([routePolicy({ name: 'slash', path: '/a/b/' })]);
  assert.equal(t.match('h', 'GET', '/a/b')?.name, 'slash');
  assert.equal(t.match('h', 'GET', '/a/bc'), undefined);
});

test('a wildcard host matches exactly one label', () => {
  const t = table([routePolicy({ name: 'wild', host: '*.example.com', path: '/' })]);
  assert.equal(t.match('a.example.com', 'GET', '/')?.name, 'wild');
  assert.equal(t.match('a-b.example.com', 'GET', '/x')?.name, 'wild');
  for (const host of ['example.com', 'a.b.example.com', 'aexample.com', 'a.example.com.evil', 'a.example.co', '.example.com']) {
    assert.equal(t.match(host, 'GET', '/'), undefined, host);
  }
});

test('conflicts: two routes with the same host, prefix and method are reported', () => {
  const a = routePolicy({ name: 'a', path: '/x' });
  const b = routePolicy({ name: 'b', path: '/x/' });
  const c = routePolicy({ name: 'c', path: '/y', methods: ['GET', 'POST'] });
  const d = routePolicy({ name: 'd', path: '/y', methods: ['post'] });
  const e = routePolicy({ name: 'e', host: 'h.test', path: '/x' });
  const f = routePolicy({ name: 'f', host: '*.test', path: '/x' });
  const { conflicts } = buildRouteTable([a, b, c, d, e, f]);
  assert.deepEqual(
    conflicts.map((x) => [x.first.name, x.second.name, x.method]),
    [
      ['a', 'b', undefined],
      ['c', 'd', 'POST'],
    ],
  );
});

/** The rule of docs/configuration.md written plainly, to check the table against. */
function reference(routes: readonly RoutePolicy[], host: string, method: string, path: string): RoutePolicy | undefined {
  const hostRank = (r: RoutePolicy): number => {
    if (r.host.kind === 'exact') return r.host.host === host ? 3 : 0;
    if (r.host.kind === 'wildcard') {
      const dot = host.indexOf('.');
      return dot > 0 && host.slice(dot) === r.host.suffix ? 2 : 0;
    }
    return 1;
  };
  const candidates = routes.filter(
    (r) =>
      hostRank(r) > 0 &&
      (r.pathPrefix === '' || path === r.pathPrefix || path.startsWith(`${r.pathPrefix}/`) || path.startsWith(`${r.pathPrefix}.`)) &&
      (r.methods === undefined || r.methods.has(method) || (method === 'HEAD' && r.methods.has('GET'))),
  );
  // A route listing the method itself, then one listing GET for a HEAD, then one listing none.
  const methodRank = (r: RoutePolicy): number => (r.methods === undefined ? 0 : r.methods.has(method) ? 2 : 1);
  candidates.sort((x, y) => hostRank(y) - hostRank(x) || y.pathPrefix.length - x.pathPrefix.length || methodRank(y) - methodRank(x));
  return candidates[0];
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('2,000 generated routes: the table picks what the plain rule picks for 20,000 generated requests', () => {
  const random = prng(20_261_122);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const labels = ['api', 'www', 'a', 'b', 'svc-1', 'svc-2'];
  const domains = ['example.com', 'example.org', 'internal'];
  const segments = ['v1', 'v2', 'items', 'profiles', 'x', 'admin', 'a', 'admin.json', 'a.b.c', 'a.b', 'v1.', '.x'];
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
  const randomPath = (depth: number): string => '/' + Array.from({ length: depth }, () => pick(segments)).join('/');
  const routes: RoutePolicy[] = [];
  const seen = new Set<string>();
  while (routes.length < 2_000) {
    const hostKind = random();
    const host = hostKind < 0.4 ? `${pick(labels)}.${pick(domains)}` : hostKind < 0.7 ? `*.${pick(domains)}` : undefined;
    const path = random() < 0.05 ? '/' : randomPath(1 + Math.floor(random() * 4));
    const routeMethods = random() < 0.5 ? undefined : [...new Set([pick(methods), pick(methods)])];
    const keys = (routeMethods ?? ['*']).map((m) => `${host ?? '*'} ${path} ${m}`);
    if (keys.some((k) => seen.has(k))) continue;
    keys.forEach((k) => seen.add(k));
    routes.push(
      routePolicy({ name: `r${routes.length}`, ...(host ? { host } : {}), path, ...(routeMethods ? { methods: routeMethods } : {}) }),
    );
  }
  const t = table(routes);
  for (let i = 0; i < 20_000; i++) {
    const host = random() < 0.8 ? `${pick(labels)}.${pick(domains)}` : `${pick(labels)}.${pick(labels)}.${pick(domains)}`;
    const method = pick(methods);
    let path = randomPath(Math.floor(random() * 6));
    if (path === '/' && random() < 0.5) path = `/${pick(segments)}x`;
    if (random() < 0.1) path += '/';
    const expected = reference(routes, host, method, path);
    const got = t.match(host, method, path);
    if (got !== expected)
      assert.fail(`${method} ${host}${path}: table ${got?.name} (${got?.pathPrefix}), rule ${expected?.name} (${expected?.pathPrefix})`);
  }
});
