/**
 * Per-client limits count an IPv6 client by its /64 (docs/configuration.md, "Slow clients"):
 * addresses of one /64 share the limits; IPv4 addresses, and IPv6 names of one IPv4 host, count
 * alone. The key is the rate limits' and the throttle's (limit/address-key.ts, its own tests).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClientLimits } from '../../src/listen/client-limits.js';

test('requests in flight from many addresses of one IPv6 /64 share one limit; another /64 has its own', () => {
  const limits = createClientLimits(
    () => ({ maxConnectionsPerClient: 10, maxInFlightPerClient: 2 }),
    () => false,
  );
  assert.equal(limits.admit('2001:db8:1:2::1'), undefined);
  assert.equal(limits.admit('2001:db8:1:2::2'), undefined);
  assert.equal(limits.admit('2001:db8:1:2:ffff::3')?.code, 'client.too_many_requests');
  assert.equal(limits.admit('2001:db8:1:3::1'), undefined);
  limits.release('2001:db8:1:2::2');
  assert.equal(limits.admit('2001:db8:1:2::9'), undefined);
  // IPv4 addresses are not grouped.
  assert.equal(limits.admit('192.0.2.1'), undefined);
  assert.equal(limits.admit('192.0.2.1'), undefined);
  assert.equal(limits.admit('192.0.2.2'), undefined);
});
