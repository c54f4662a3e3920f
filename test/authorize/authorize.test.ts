import assert from 'node:assert/strict';
import { METHODS } from 'node:http';
import { test } from 'node:test';
import { authorize, isWrite, READ_ONLY_ALLOW } from '../../src/authorize/index.js';
import { GatewayError } from '../../src/errors.js';
import { fakeRequest } from '../support/fake-request.js';
import type { Principal, Scope } from '../../src/types.js';
import { routePolicy } from '../support/route-policy.js';

const principal = (scope: Scope): Principal => ({ kind: 'api_token', scheme: 'bearer', subject: 's', scope, credentialId: 'c' });

function outcome(access: 'read-only' | 'read-write', method: string, who: Principal | undefined, adminOnProxyRoutes = false): string {
  try {
    authorize(routePolicy({ access }), fakeRequest({ method }), who, adminOnProxyRoutes);
    return 'allow';
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    return error.code;
  }
}

test('GET, HEAD and OPTIONS read; every other method writes', () => {
  for (const method of METHODS) assert.equal(isWrite(method), !['GET', 'HEAD', 'OPTIONS'].includes(method), method);
  assert.equal(isWrite('get'), true, 'methods are case-sensitive: a lower-case get is not a read');
});

test('the decision matrix: route access × credential scope × read/write', () => {
  const who = { none: undefined, 'read-only': principal('read-only'), 'read-write': principal('read-write'), admin: principal('admin') };
  const expected: Record<string, Record<string, [string, string]>> = {
    'read-only': {
      none: ['allow', 'route.read_only'],
      'read-only': ['allow', 'route.read_only'],
      'read-write': ['allow', 'route.read_only'],
      admin: ['auth.admin_credential', 'auth.admin_credential'],
    },
    'read-write': {
      none: ['allow', 'allow'],
      'read-only': ['allow', 'auth.insufficient_scope'],
      'read-write': ['allow', 'allow'],
      admin: ['auth.admin_credential', 'auth.admin_credential'],
    },
  };
  for (const access of ['read-only', 'read-write'] as const) {
    for (const [name, p] of Object.entries(who)) {
      for (const read of ['GET', 'HEAD', 'OPTIONS'])
        assert.equal(outcome(access, read, p), expected[access]?.[name]?.[0], `${access} ${name} ${read}`);
      for (const write of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'TRACE', 'QUERY'])
        assert.equal(outcome(access, write, p), expected[access]?.[name]?.[1], `${access} ${name} ${write}`);
    }
  }
});

test("route.read_only carries Allow; auth.insufficient_scope carries an RFC 6750 challenge for the route's schemes", () => {
  try {
    authorize(routePolicy({ access: 'read-only' }), fakeRequest({ method: 'DELETE' }), undefined);
    assert.fail('refused');
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    assert.deepEqual(error.headers, { allow: READ_ONLY_ALLOW });
  }
  try {
    authorize(routePolicy({ access: 'read-write', credentials: ['bearer'] }), fakeRequest({ method: 'POST' }), principal('read-only'));
    assert.fail('refused');
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    assert.deepEqual(error.headers, { 'www-authenticate': 'Bearer realm="portcullis", error="insufficient_scope", scope="read-write"' });
  }
});

test('a scope this code does not know never writes (the check names the scopes that may)', () => {
  for (const scope of ['', 'READ-WRITE', 'write', 'constructor', '__proto__']) {
    assert.equal(outcome('read-write', 'GET', principal(scope as Scope)), 'allow', scope);
    assert.equal(outcome('read-write', 'POST', principal(scope as Scope)), 'auth.insufficient_scope', scope);
  }
});

function decide(
  route: Parameters<typeof routePolicy>[0],
  req: Parameters<typeof fakeRequest>[0],
  who: Principal | undefined,
  upgrade = false,
): string {
  const request = fakeRequest(req);
  if (upgrade) Object.assign(request, { upgrade: true });
  try {
    authorize(routePolicy(route), request, who);
    return 'allow';
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    return error.code;
  }
}

test('a WebSocket upgrade is a write unless the route says websocket: read-only', () => {
  const ro = principal('read-only');
  const rw = principal('read-write');
  assert.equal(decide({ access: 'read-only' }, {}, rw, true), 'route.read_only');
  assert.equal(decide({ access: 'read-only' }, {}, undefined, true), 'route.read_only');
  assert.equal(decide({ access: 'read-write' }, {}, ro, true), 'auth.insufficient_scope');
  assert.equal(decide({ access: 'read-write' }, {}, rw, true), 'allow');
  assert.equal(decide({ access: 'read-only', websocket: 'read-only' }, {}, ro, true), 'allow');
  assert.equal(decide({ access: 'read-only', websocket: 'read-only' }, {}, undefined, true), 'allow');
  assert.equal(decide({ access: 'read-only' }, {}, ro, false), 'allow', 'the same GET without the upgrade is a read');
});

test('a body on a read: refused under a read-only route or credential unless readsWithBody; a form body always', () => {
  const ro = principal('read-only');
  const rw = principal('read-write');
  const body = { headers: [['Content-Length', '5']] as const };
  for (const method of ['GET', 'HEAD', 'OPTIONS']) {
    assert.equal(decide({ access: 'read-only' }, { method, ...body }, rw), 'request.body_on_read', method);
    assert.equal(decide({ access: 'read-only' }, { method, ...body }, undefined), 'request.body_on_read', method);
    assert.equal(decide({ access: 'read-write' }, { method, ...body }, ro), 'request.body_on_read', method);
    assert.equal(decide({ access: 'read-write' }, { method, ...body }, rw), 'allow', method);
    assert.equal(decide({ access: 'read-only', readsWithBody: true }, { method, ...body }, ro), 'allow', method);
    assert.equal(
      decide({ access: 'read-only' }, { method, headers: [['Content-Length', '0']] }, ro),
      'allow',
      `${method} with an empty body`,
    );
    for (const type of [
      'application/x-www-form-urlencoded',
      'Multipart/Form-Data; boundary=x',
      ' application/x-www-form-urlencoded;charset=utf-8',
    ]) {
      assert.equal(
        decide(
          { access: 'read-write', readsWithBody: true },
          {
            method,
            headers: [
              ['Content-Length', '5'],
              ['Content-Type', type],
            ],
          },
          rw,
        ),
        'request.body_on_read',
        `${method} ${type}`,
      );
    }
  }
  assert.equal(
    decide(
      { access: 'read-write' },
      {
        method: 'POST',
        headers: [
          ['Content-Length', '5'],
          ['Content-Type', 'application/x-www-form-urlencoded'],
        ],
      },
      rw,
    ),
    'allow',
    "a form body on a write is the backend's business",
  );
});

test('admin.allowOnProxyRoutes: an admin credential is then read-write on proxy routes', () => {
  const admin = principal('admin');
  assert.equal(outcome('read-write', 'GET', admin, true), 'allow');
  assert.equal(outcome('read-write', 'DELETE', admin, true), 'allow');
  assert.equal(outcome('read-only', 'DELETE', admin, true), 'route.read_only');
});
