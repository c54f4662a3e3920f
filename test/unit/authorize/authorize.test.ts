import assert from 'node:assert/strict';
import { METHODS } from 'node:http';
import { test } from 'node:test';
import { authorize, isWrite, READ_ONLY_ALLOW } from '../../../src/authorize/index.js';
import { GatewayError } from '../../../src/errors.js';
import type { Principal, Scope } from '../../../src/types.js';
import { routePolicy } from '../../support/route-policy.js';

const principal = (scope: Scope): Principal => ({ kind: 'api_token', scheme: 'bearer', subject: 's', scope, credentialId: 'c' });

function outcome(access: 'read-only' | 'read-write', method: string, who: Principal | undefined, adminOnProxyRoutes = false): string {
  try {
    authorize(routePolicy({ access }), method, who, adminOnProxyRoutes);
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
    'read-only': { none: ['allow', 'route.read_only'], 'read-only': ['allow', 'route.read_only'], 'read-write': ['allow', 'route.read_only'], admin: ['auth.admin_credential', 'auth.admin_credential'] },
    'read-write': { none: ['allow', 'allow'], 'read-only': ['allow', 'auth.insufficient_scope'], 'read-write': ['allow', 'allow'], admin: ['auth.admin_credential', 'auth.admin_credential'] },
  };
  for (const access of ['read-only', 'read-write'] as const) {
    for (const [name, p] of Object.entries(who)) {
      for (const read of ['GET', 'HEAD', 'OPTIONS']) assert.equal(outcome(access, read, p), expected[access]?.[name]?.[0], `${access} ${name} ${read}`);
      for (const write of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'TRACE', 'QUERY']) assert.equal(outcome(access, write, p), expected[access]?.[name]?.[1], `${access} ${name} ${write}`);
    }
  }
});

test('route.read_only carries Allow; auth.insufficient_scope carries an RFC 6750 challenge for the route\'s schemes', () => {
  try {
    authorize(routePolicy({ access: 'read-only' }), 'DELETE', undefined);
    assert.fail('refused');
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    assert.deepEqual(error.headers, { allow: READ_ONLY_ALLOW });
  }
  try {
    authorize(routePolicy({ access: 'read-write', credentials: ['bearer'] }), 'POST', principal('read-only'));
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

test('admin.allowOnProxyRoutes: an admin credential is then read-write on proxy routes', () => {
  const admin = principal('admin');
  assert.equal(outcome('read-write', 'GET', admin, true), 'allow');
  assert.equal(outcome('read-write', 'DELETE', admin, true), 'allow');
  assert.equal(outcome('read-only', 'DELETE', admin, true), 'route.read_only');
});
