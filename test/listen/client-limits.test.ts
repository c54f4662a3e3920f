/**
 * Per-client limits count an IPv6 client by its /64 (docs/configuration.md, "Slow clients"):
 * addresses of one /64 share the limits; IPv4 and IPv4-mapped addresses count alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientKey, createClientLimits } from '../../src/listen/client-limits.js';

test('clientKey: an IPv6 address is keyed by its /64, whatever its spelling; IPv4 as it is', () => {
  assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientKey('2001:db8:0:0:1::'), '2001:db8:0:0::/64');
  assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
  assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('::ffff:192.0.2.7'), '::ffff:192.0.2.7');
  assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
});

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
