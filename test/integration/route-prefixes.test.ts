/**
 * Route prefixes written with escapes or UTF-8 protect what they name: before,
 * `/%c3%a9quipes`, `/société` and `/%7Estaff` passed `check` yet no request could match them, so
 * requests fell through to the `auth: off` route at `/`. Raw request lines, both views.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertProblem, fromRaw } from '../support/problem.js';
import { exchange } from '../support/raw-http.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { createStubAuthenticator } from '../support/stub-auth.js';
import { rawBytes } from '../support/vectors.js';
import { startRecordingUpstream } from '../support/upstream.js';

test('prefixes written with escapes or UTF-8 are matched by every spelling of a request for them; the open route never sees those', async (t) => {
  const [guarded, open] = await Promise.all([startRecordingUpstream(), startRecordingUpstream()]);
  t.after(() => guarded.close());
  t.after(() => open.close());
  const routes =
    ['/%c3%a9quipes', '/société', '/%7Estaff']
      .map(
        (path, i) => `
  - name: guarded-${i}
    match: { path: "${path}" }
    upstream: "\${GUARDED}"
    upstreamCa: "\${CA}"`,
      )
      .join('') +
    `
  - name: open
    match: { path: / }
    upstream: "\${OPEN}"
    upstreamCa: "\${CA}"
    auth: "off"`;
  const gw = await startTestGateway(
    t,
    gatewayYaml(routes),
    { GUARDED: guarded.origin, OPEN: open.origin },
    { authenticate: createStubAuthenticator() },
  );
  const targets = ['/%c3%a9quipes', '/%C3%A9quipes/x', '/soci%C3%A9t%C3%A9', '/soci%c3%a9t%c3%a9/x', '/~staff', '/%7Estaff/x', '/%7estaff'];
  for (const target of targets) {
    const result = await exchange(gw.port, rawBytes(`GET ${target} HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`));
    const response = result.responses[0];
    assert.ok(response, target);
    assertProblem(fromRaw(response), 'auth.missing_credentials', target);
  }
  assert.equal(open.arrived.length, 0, 'nothing fell through to the auth: off route');
  assert.equal(guarded.arrived.length, 0);
  const authorised = await exchange(
    gw.port,
    rawBytes('GET /soci%c3%a9t%c3%a9/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ro-token\r\nConnection: close\r\n\r\n'),
  );
  assert.equal(authorised.responses[0]?.status, 200);
  assert.equal(guarded.received.at(-1)?.url, '/soci%C3%A9t%C3%A9/x');
  assert.equal(open.arrived.length, 0);
});
