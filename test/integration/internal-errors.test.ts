/**
 * An unexpected failure is answered `internal.error` (never its message), and
 * its cause — message and stack, masked of anything shaped like a secret — is logged against the
 * request id the client got.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loggedError } from '../../src/observe/internal-errors.js';
import type { Authenticate } from '../../src/types.js';
import { send } from '../support/client.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { startRecordingUpstream } from '../support/upstream.js';

const SECRET_TOKEN = 'pcl_abcdefgh12345678secret';
const DATABASE_URL = 'postgres://portcullis:hunter2@db.internal:5432/pcl';

test('an unexpected error in a stage: the client gets internal.error and a request id; the log has the cause against that id', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const lines: string[] = [];
  // The authenticate stage fails the way a bug would: a plain Error, async and sync.
  const failing: Authenticate = (_route, req) => {
    if (req.url?.includes('async') === true)
      return Promise.reject(new TypeError(`cannot read properties of undefined (near ${DATABASE_URL})`));
    throw new RangeError(`index out of range while reading ${SECRET_TOKEN}`);
  };
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: api
    match: { path: /api }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
`),
    { UPSTREAM: upstream.origin },
    { authenticate: failing, logLines: lines },
  );

  for (const [path, name, original] of [
    ['/api/sync', 'RangeError', 'index out of range while reading'],
    ['/api/async', 'TypeError', 'cannot read properties of undefined'],
  ] as const) {
    const answer = await send(gw.url, { path, headers: { authorization: 'Bearer whatever', 'x-request-id': `req-${name}` } });
    assert.equal(answer.status, 500);
    const body = answer.json<{ code: string; requestId: string; detail?: string }>();
    assert.equal(body.code, 'internal.error');
    assert.equal(body.requestId, `req-${name}`);
    assert.equal(answer.headers['x-request-id'], `req-${name}`);
    assert.ok(!answer.body.includes(original), 'the original message never reaches the client');

    const logged = lines
      .map(
        (line) =>
          JSON.parse(line) as {
            event?: string;
            requestId?: string;
            level?: number;
            error?: { name: string; message: string; stack?: string };
          },
      )
      .find((line) => line.event === 'request.internal_error' && line.requestId === `req-${name}`);
    assert.ok(logged !== undefined, `a request.internal_error line for req-${name}: ${lines.join('')}`);
    assert.equal(logged.level, 50);
    assert.equal(logged.error?.name, name);
    assert.ok(logged.error?.message.includes(original), logged.error?.message);
    assert.ok(logged.error?.stack?.includes(original), 'the stack is kept');
  }
  // Upstream view: nothing arrived.
  assert.equal(upstream.arrived.length, 0);
  // No secret in any log line.
  const all = lines.join('');
  assert.ok(!all.includes(SECRET_TOKEN) && !all.includes('hunter2'), 'secrets are masked in the logged cause');
  assert.ok(all.includes('postgres://[redacted]@db.internal'));
});

test('loggedError masks secret shapes and URL user-info, and copes with non-errors', () => {
  const error = new Error(`failed for ${SECRET_TOKEN} at ${DATABASE_URL} with eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl`);
  const logged = loggedError(error);
  assert.equal(logged.name, 'Error');
  assert.ok(!JSON.stringify(logged).includes('hunter2'));
  assert.ok(!JSON.stringify(logged).includes(SECRET_TOKEN));
  assert.ok(!JSON.stringify(logged).includes('eyJzdWIiOiJ4In0'));
  assert.match(logged.message, /^failed for \[redacted\] at postgres:\/\/\[redacted\]@db\.internal:5432\/pcl with \[redacted\]$/);
  assert.deepEqual(loggedError('plain string'), { name: 'string', message: 'plain string' });
});
