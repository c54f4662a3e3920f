import assert from 'node:assert/strict';
import test from 'node:test';
import type { UpstreamTarget } from '../../src/config/types.js';
import { trustContextOf, upgradeAgentOf } from '../../src/forward/upstream-trust.js';
import { createTestCa } from '../support/certs.js';

function target(origin: string, ca: string | undefined): UpstreamTarget {
  const url = new URL(origin);
  return { origin, hostname: url.hostname, port: Number(url.port), servername: url.hostname, hostHeader: url.host, basePath: '', ca };
}

test('one trust store per CA text, shared across upstreams and configurations; none without a CA', (t) => {
  const first = createTestCa();
  const second = createTestCa();
  t.after(() => {
    first.cleanup();
    second.cleanup();
  });
  const a = target('https://a.test:8443', first.caCert);
  const b = target('https://b.test:9443', first.caCert);
  const reloaded = target('https://a.test:8443', first.caCert);
  const other = target('https://a.test:8443', second.caCert);

  const context = trustContextOf(a);
  assert.ok(context);
  assert.equal(trustContextOf(b), context, 'another upstream naming the same CA');
  assert.equal(trustContextOf(reloaded), context, 'the same upstream after a reload');
  assert.notEqual(trustContextOf(other), context, 'a different CA is different trust');
  assert.equal(trustContextOf(target('https://c.test', undefined)), undefined);

  const agent = upgradeAgentOf(a);
  assert.ok(agent);
  assert.equal(upgradeAgentOf(b), agent);
  assert.notEqual(upgradeAgentOf(other), agent);
  assert.equal(upgradeAgentOf(target('https://c.test', undefined)), undefined);
});
